"""The leaderboard explorer in Debian Chromium against `streamlit run`.

Load, change filters, pin two models, open Compare, reload the copied URL in a fresh tab
and see the same state; screenshots go to artifacts/screenshots/leaderboard-*.png.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lib import store
from tests.e2e.conftest import goto_page, wait_for_script

pytestmark = pytest.mark.e2e

PINS = ("intfloat/multilingual-e5-small", "openai/text-embedding-3-small")


def _pick(page: Any, key: str, option: str) -> None:
    """Choose an option in the multiselect with widget key ``key``."""
    box = page.locator(f".st-key-{key} input")
    box.click()
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).first.click()
    page.keyboard.press("Escape")
    wait_for_script(page)


def _chips(page: Any, key: str) -> list[str]:
    tags = page.locator(f".st-key-{key} [data-tag]")
    return [tags.nth(i).get_attribute("aria-label") for i in range(tags.count())]


def _caption(page: Any) -> str:
    """The "N of M models · K tasks" line: it reflects every filter and the task subset."""
    return str(page.locator('[data-testid="stCaptionContainer"]').filter(has_text="of 317 models").first.inner_text())


@pytest.fixture
def lb_url(lb_db: Path, streamlit_server: Callable[..., Any]) -> str:
    store.close(lb_db)  # DuckDB allows one process per file: hand it to the server
    return str(streamlit_server({"EMS_DB": str(lb_db)}).url)


def test_explorer_filters_pins_compare_and_shared_url(lb_url: str, page: Any, screenshot: Any) -> None:
    goto_page(page, lb_url)
    page.get_by_role("heading", name="Leaderboard", exact=True).wait_for()
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    assert page.get_by_text("317 of 317 models").is_visible()
    screenshot(page, "leaderboard-table")

    # Filters: licence group (sidebar) → fewer rows.
    _pick(page, "lb_lgroups", "permissive")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
              .some(c => /\\d+ of 317 models/.test(c.innerText) && !c.innerText.startsWith('317 of'))"""
    )
    # Pin two models.
    for m in PINS:
        _pick(page, "lb_pins", m)
    assert _chips(page, "lb_pins") == list(PINS)
    page.get_by_role("button", name="Add pinned to shortlist").click()
    wait_for_script(page)
    assert "Shortlist" in page.locator('[data-testid="stSidebar"]').inner_text()

    page.get_by_role("tab", name="Charts").click()
    wait_for_script(page)
    page.locator(".js-plotly-plot").first.wait_for()
    assert page.locator(".js-plotly-plot").count() == 5
    assert page.locator("canvas.gl-canvas, .gl-container canvas").count() == 0  # no WebGL plots
    screenshot(page, "leaderboard-charts")

    page.get_by_role("tab", name="Model detail").click()
    wait_for_script(page)
    page.get_by_text("Every mteb ModelMeta field").wait_for()
    screenshot(page, "leaderboard-detail")

    page.get_by_role("tab", name="Compare").click()
    wait_for_script(page)
    page.get_by_text("Tasks sorted by the largest discrepancy").wait_for()
    screenshot(page, "leaderboard-compare")

    state = _caption(page)
    url = page.url
    assert "lb_lgroups=permissive" in url and "lb_view=Compare" in url
    fresh = page.context.new_page()
    try:
        fresh.goto(url, wait_until="domcontentloaded")
        wait_for_script(fresh)
        fresh.get_by_text("Tasks sorted by the largest discrepancy").wait_for()
        fresh.locator(".st-key-lb_pins [data-tag]").first.wait_for()
        assert _chips(fresh, "lb_pins") == list(PINS), url
        assert _chips(fresh, "lb_lgroups") == ["permissive"]
        assert _caption(fresh) == state
        assert fresh.get_by_role("tab", name="Compare", selected=True).is_visible()
        screenshot(fresh, "leaderboard-restored")
    finally:
        fresh.close()
