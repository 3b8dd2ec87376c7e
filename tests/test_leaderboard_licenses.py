"""lib.leaderboard.licenses: every mteb licence string in a use group, and the fallback rules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lib.leaderboard import licenses, queries


def test_licence_groups_cover_every_mteb_licence(lb_db: Path) -> None:
    models = queries.models(lb_db)
    for lic, ow in models[["license", "open_weights"]].itertuples(index=False):
        info = licenses.classify(None if pd.isna(lic) else lic, None if pd.isna(ow) else bool(ow))
        assert info.group in licenses.GROUPS
        assert info.reason
    assert licenses.classify("apache-2.0").group == licenses.PERMISSIVE
    assert licenses.classify("cc-by-nc-4.0").group == licenses.NON_COMMERCIAL
    assert licenses.classify("mit", open_weights=False).group == licenses.PROPRIETARY_API
    assert licenses.classify(None).group == licenses.UNKNOWN
    assert licenses.classify("not specified").group == licenses.UNKNOWN
    assert licenses.classify("https://example.org/LICENSE").group == licenses.CUSTOM
    assert licenses.classify("some-nc-licence").group == licenses.NON_COMMERCIAL
    assert licenses.classify("gpl-3.0").group == licenses.COPYLEFT
    assert licenses.classify("apache-2.0").commercial_ok
    assert licenses.classify(None, open_weights=False).commercial_ok
    assert not licenses.classify("gemma").commercial_ok
    assert licenses.short_label("https://huggingface.co/nvidia/x/blob/main/LICENSE") == "custom (nvidia/x)"


@pytest.mark.parametrize(
    ("license", "group"),
    [
        ("Apache-2.0", licenses.PERMISSIVE),  # the table is read case-insensitively …
        ("  mit  ", licenses.PERMISSIVE),  # … and without surrounding blanks
        ("cc-by-nc-2.0", licenses.NON_COMMERCIAL),  # not in the table: the rules decide
        ("NC_research_only", licenses.NON_COMMERCIAL),
        ("llama non-commercial", licenses.NON_COMMERCIAL),
        ("noncommercial-1.0", licenses.NON_COMMERCIAL),
        ("cc-by-sa-3.0", licenses.COPYLEFT),
        ("eupl-gpl-compatible", licenses.COPYLEFT),
        ("http://example.org/terms", licenses.CUSTOM),
        ("bsd", licenses.PERMISSIVE),
        ("isc", licenses.PERMISSIVE),
        ("sync-licence", licenses.UNKNOWN),  # "nc" inside a word is not a marker
        ("salsa", licenses.UNKNOWN),  # nor is "sa" inside a word
        ("", licenses.UNKNOWN),
        ("   ", licenses.UNKNOWN),
        ("wtfpl-2", licenses.UNKNOWN),
    ],
)
def test_classify_rules_for_strings_not_in_the_table(license: str, group: str) -> None:
    info = licenses.classify(license)
    assert info.group == group, info
    assert info.reason


def test_closed_weights_win_over_any_licence_string() -> None:
    for lic in ("mit", "cc-by-nc-4.0", "https://example.org/x", None):
        assert licenses.classify(lic, open_weights=False).group == licenses.PROPRIETARY_API
    assert licenses.classify("mit", open_weights=None).group == licenses.PERMISSIVE  # unknown ≠ closed


def test_commercial_ok_is_permissive_or_paid_api() -> None:
    ok = {g for g in licenses.GROUPS if licenses.LicenseInfo("x", g, "r").commercial_ok}
    assert ok == {licenses.PERMISSIVE, licenses.PROPRIETARY_API}
    assert set(licenses.GROUP_HELP) == set(licenses.GROUPS)


@pytest.mark.parametrize(
    ("license", "label"),
    [
        (None, "—"),
        ("  ", "—"),
        (" apache-2.0 ", "apache-2.0"),
        ("https://huggingface.co/sbintuitions/sarashina-embedding-v1-1b/blob/main/LICENSE",
         "custom (sbintuitions/sarashina-embedding-v1-1b)"),
        ("https://www.nvidia.com/en-us/agreements/enterprise-software/nvidia-open-model-license/",
         "custom (nvidia.com)"),
        ("https://huggingface.co/spaces", "custom (huggingface.co)"),  # too short for owner/name
    ],
)
def test_short_label(license: str | None, label: str) -> None:
    assert licenses.short_label(license) == label
