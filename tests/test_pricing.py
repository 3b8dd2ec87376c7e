from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from lib import pricing
from lib.errors import UserError
from lib.pricing import PriceOverride, load_prices, price_for

TODAY = date(2026, 11, 25)


@pytest.fixture(autouse=True)
def _no_local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write data/prices.local.csv."""
    path = tmp_path / "prices.local.csv"
    monkeypatch.setenv(pricing.LOCAL_PRICES_ENV, str(path))
    return path


def test_pricing_csv_loads_with_required_models() -> None:
    book = load_prices(today=TODAY)
    for name in [
        "openai/text-embedding-3-small",
        "openai/text-embedding-3-large",
        "voyageai/voyage-3",
        "Cohere/Cohere-embed-english-v3.0",
        "google/gemini-embedding-001",
        "BAAI/bge-m3",
        "Qwen/Qwen3-Embedding-8B",
    ]:
        assert name in book.effective, name
    small = book.effective["openai/text-embedding-3-small"]
    assert small.price_per_1m_tokens == pytest.approx(0.02)
    assert small.batch_price_per_1m_tokens == pytest.approx(0.01)
    assert small.dimensions == 1536 and 512 in small.dimension_options
    assert small.max_input_tokens == 8191
    # The more recent source wins over the undated seed (same kind, same price).
    assert small.date_checked == date(2026, 7, 1)
    assert not small.stale


def test_every_row_has_source_date_and_kind() -> None:
    book = load_prices(today=TODAY)
    for r in book.records:
        assert r.source_name
        assert r.source_kind in ("official", "third-party")
        assert r.date_checked <= TODAY
        assert r.source_url == "" or r.source_url.startswith("https://")


def test_stale_flag_uses_180_days() -> None:
    book = load_prices(today=TODAY)
    large = book.effective["openai/text-embedding-3-large"]
    assert large.date_checked == date(2026, 1, 1)
    assert large.stale and large.age_days == 328
    # 2026-06-01 is 177 days before today: fresh; three days later it is stale.
    cohere = [r for r in book.records if r.model == "Cohere/Cohere-embed-v4.0"]
    jun = next(r for r in cohere if r.date_checked == date(2026, 6, 1))
    assert not jun.stale and jun.age_days == 177
    later = load_prices(today=date(2026, 12, 1))
    jun_later = next(
        r
        for r in later.records
        if r.model == "Cohere/Cohere-embed-v4.0" and r.date_checked == date(2026, 6, 1)
    )
    assert jun_later.stale


def test_conflicting_sources_are_both_kept_and_flagged() -> None:
    book = load_prices(today=TODAY)
    gem2 = book.sources_for("google/gemini-embedding-2")
    assert sorted(r.price_per_1m_tokens or 0 for r in gem2) == [0.025, 0.20]
    assert all(r.conflict for r in gem2)
    cohere = book.sources_for("Cohere/Cohere-embed-v4.0")
    assert {r.price_per_1m_tokens for r in cohere} == {0.12, 0.40}
    assert all(r.conflict for r in cohere)
    # Agreeing sources are not a conflict.
    assert not book.effective["openai/text-embedding-3-small"].conflict
    # Equal kinds and dates: the higher price is used (a budget errs on the safe side).
    assert book.effective["google/gemini-embedding-2"].price_per_1m_tokens == 0.20
    # The more recent source wins otherwise.
    assert book.effective["Cohere/Cohere-embed-v4.0"].price_per_1m_tokens == 0.12


def test_price_for_resolves_aliases_and_variants() -> None:
    book = load_prices(today=TODAY)
    assert price_for("mongodb/voyage-3", book).model == "voyageai/voyage-3"  # type: ignore[union-attr]
    variant = price_for("openai/text-embedding-3-small (embed_dim=512)", book)
    assert variant is not None and variant.price_per_1m_tokens == 0.02
    assert price_for("google/gemini-embedding-2-preview", book) is not None
    assert price_for("no/such-model", book) is None
    # Self-host-only models are known but carry no per-token price.
    gte = price_for("thenlper/gte-large", book)
    assert gte is not None and gte.price_per_1m_tokens is None and gte.open_weights


def test_price_for_default_book_reads_the_csv() -> None:
    rec = price_for("openai/text-embedding-3-large")
    assert rec is not None and rec.price_per_1m_tokens == 0.13


def test_session_override_wins_and_is_labelled() -> None:
    book = load_prices(
        today=TODAY,
        session_overrides=[
            PriceOverride("openai/text-embedding-3-large", 0.10, note="negotiated"),
        ],
    )
    rec = book.effective["openai/text-embedding-3-large"]
    assert rec.price_per_1m_tokens == 0.10
    assert rec.is_override and rec.source_kind == "override"
    assert rec.date_checked == TODAY and not rec.stale
    assert "your override (session)" in rec.source_name and "negotiated" in rec.source_name
    assert "your override" in pricing.flag_text(rec)
    # The published rows stay visible beside it.
    assert len(book.sources_for("openai/text-embedding-3-large")) == 3


def test_local_file_override_round_trip(_no_local_file: Path) -> None:
    path = pricing.write_overrides(
        [PriceOverride("BAAI/bge-m3", 0.005, date_checked=date(2026, 11, 1), note="our host")]
    )
    assert path == _no_local_file
    book = load_prices(today=TODAY)
    rec = book.effective["BAAI/bge-m3"]
    assert rec.price_per_1m_tokens == 0.005
    assert rec.source_name.startswith("your override (local file)")
    assert rec.date_checked == date(2026, 11, 1)
    # A session override beats the file's.
    book2 = load_prices(today=TODAY, session_overrides=[PriceOverride("BAAI/bge-m3", 0.007)])
    assert book2.effective["BAAI/bge-m3"].price_per_1m_tokens == 0.007


def test_session_beats_file_by_origin_not_by_its_label() -> None:
    """The session/file order reads the record's flag: a file note mentioning "(session)" does not promote it."""
    published = pricing.read_pricing_csv()
    file_o = PriceOverride("BAAI/bge-m3", 0.005, date_checked=date(2026, 11, 20), note="as in (session)",
                           origin="local file")
    session_o = PriceOverride("BAAI/bge-m3", 0.007, date_checked=date(2026, 11, 1))
    for overrides in ([file_o, session_o], [session_o, file_o]):
        rec = pricing.build_price_book(published, overrides, today=TODAY).effective["BAAI/bge-m3"]
        assert rec.price_per_1m_tokens == 0.007 and rec.session_override
    alone = pricing.build_price_book(published, [file_o], today=TODAY).effective["BAAI/bge-m3"]
    assert alone.is_override and not alone.session_override


def test_override_of_unknown_model_and_alias() -> None:
    book = load_prices(
        today=TODAY,
        session_overrides=[
            PriceOverride("acme/embed-1", 0.03),
            PriceOverride("mongodb/voyage-3", 0.05),
        ],
    )
    assert book.effective["acme/embed-1"].price_per_1m_tokens == 0.03
    assert book.effective["voyageai/voyage-3"].price_per_1m_tokens == 0.05


def test_override_of_self_host_model_makes_it_priced() -> None:
    book = load_prices(today=TODAY, session_overrides=[PriceOverride("thenlper/gte-large", 0.01)])
    rec = book.effective["thenlper/gte-large"]
    assert rec.price_per_1m_tokens == 0.01 and rec.hosting == "hosted"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("model,price_per_1m_tokens\nopenai/x,abc\n", "line 2, field 'price_per_1m_tokens'"),
        ("model,price_per_1m_tokens\nopenai/x,0.1\n,0.2\n", "line 3, field 'model'"),
        ("model,price_per_1m_tokens\nopenai/x,-1\n", "must not be negative"),
        (
            "model,price_per_1m_tokens,date_checked\nopenai/x,0.1,yesterday\n",
            "line 2, field 'date_checked'",
        ),
        ("model,price\nopenai/x,0.1\n", "missing column(s) price_per_1m_tokens"),
        ("model,price_per_1m_tokens\nopenai/x,\n", "missing price"),
    ],
)
def test_malformed_override_file_names_line_and_field(
    _no_local_file: Path, content: str, message: str
) -> None:
    _no_local_file.write_text(content)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_prices(today=TODAY)


def test_malformed_pricing_csv_names_line_and_field(tmp_path: Path) -> None:
    src = pricing.PRICING_CSV.read_text().splitlines()
    bad = src[1].replace(",2026-07-01,", ",July,")
    path = tmp_path / "pricing.csv"
    path.write_text("\n".join([src[0], bad]) + "\n")
    with pytest.raises(UserError, match=r"pricing\.csv line 2, field 'date_checked'"):
        pricing.read_pricing_csv(path)


def test_prices_frame_marks_flags() -> None:
    book = load_prices(today=TODAY)
    df = pricing.prices_frame(book)
    assert len(df) == len(book.records)
    gem = df[df.model == "google/gemini-embedding-2"]
    assert gem["marks"].str.contains("sources disagree").all()
    assert df[df.stale]["marks"].str.contains("stale").all()
    assert df.groupby("model").used.sum().eq(1).all()
    eff = pricing.prices_frame(book, effective_only=True)
    assert eff.model.is_unique


def test_model_names_match_mteb() -> None:
    """Names in pricing.csv marked in_mteb are mteb's names (slow import, so last)."""
    mteb = pytest.importorskip("mteb")
    from mteb.models.model_implementations import MODEL_REGISTRY

    book = load_prices(today=TODAY)
    names = set(MODEL_REGISTRY)
    for rec in book.effective.values():
        if not rec.in_mteb:
            continue
        # voyageai/* is the results' name; mteb's ModelMeta calls it mongodb/* (an alias).
        assert rec.model in names or any(a in names for a in rec.aliases), rec.model
        assert mteb.get_model_meta(rec.model).name in {rec.model, *rec.aliases}


def test_editor_rows_and_overrides_read_back() -> None:
    published = pricing.read_pricing_csv()
    mine = PriceOverride("openai/text-embedding-3-small", 0.01, date_checked=date(2026, 1, 2), note="ours")
    rows = pricing.editor_rows(published, [mine])
    by_model = {r["model"]: r for r in rows}
    assert len(rows) == len(by_model) == len(pricing.build_price_book(published, []).effective)
    assert by_model[mine.model]["your_price"] == 0.01 and by_model[mine.model]["your_note"] == "ours"
    other = next(m for m in by_model if m != mine.model)
    assert by_model[other]["your_price"] is None
    # Unchanged file price: kept with its date, not a session override. Edited and new prices: session.
    edited = [dict(r) for r in rows]
    session, all_yours = pricing.overrides_from_editor(edited, [mine])
    assert session == [] and all_yours == [mine.__class__(mine.model, 0.01, None, date(2026, 1, 2), "ours")]
    for r in edited:
        if r["model"] == other:
            r["your_price"] = 0.5
    edited[[r["model"] for r in edited].index(mine.model)]["your_price"] = float("nan")  # cleared cell
    session, all_yours = pricing.overrides_from_editor(edited, [mine])
    assert [(o.model, o.price_per_1m_tokens, o.date_checked) for o in session] == [(other, 0.5, None)]
    assert all_yours == session
    assert pricing.dated(session, date(2026, 3, 4))[0].date_checked == date(2026, 3, 4)
    assert pricing.dated([mine], date(2026, 3, 4)) == [mine]


def test_check_lines_name_stale_and_conflicting_prices() -> None:
    book = load_prices(today=TODAY)
    flagged = [m for m, r in book.effective.items() if r.stale or r.conflict]
    assert "openai/text-embedding-3-large" in flagged and "google/gemini-embedding-2" in flagged
    clean = [m for m, r in book.effective.items() if not (r.stale or r.conflict)]
    assert pricing.check_lines(book, clean) == []
    lines = pricing.check_lines(book, flagged + clean)
    assert len(lines) == len(flagged)
    for m, line in zip(flagged, lines, strict=True):
        rec = book.effective[m]
        assert line.startswith(f"- **{rec.display_name}**: using ${rec.price_per_1m_tokens:g}/1M")
        assert ("⚠ stale" in line) == rec.stale and ("⚠ sources disagree" in line) == rec.conflict
    gem = lines[flagged.index("google/gemini-embedding-2")]
    assert "also $0.025 (" in gem  # the other source's price, beside the one used ($0.2)
