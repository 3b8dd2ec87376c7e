"""AppTest of the Cost page: change inputs, assert the numbers shown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib import cost, pricing
from lib.fmt import tokens

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "cost.py")


@pytest.fixture(autouse=True)
def local_prices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the local override file at a temp path (never data/prices.local.csv)."""
    path = tmp_path / "prices.local.csv"
    monkeypatch.setenv(pricing.LOCAL_PRICES_ENV, str(path))
    return path


def _app(**state: object) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _cost_table(at: AppTest) -> pd.DataFrame:
    for df in at.dataframe:
        v = df.value
        if "usd_per_month" in v.columns and "option" in v.columns:
            return v.set_index("option")
    raise AssertionError("cost table not found")


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_default_page_shows_costs_for_default_models() -> None:
    at = _app()
    _no_errors(at)
    m = _metrics(at)
    a = cost.CostAssumptions()
    assert m["Corpus today"] == "3B tokens"  # 1M docs × 10 chunks × 300 tokens
    assert m["Tokens embedded per month"] == tokens(cost.steady_tokens_per_month(a))
    table = _cost_table(at)
    assert list(table.index) == [
        "text-embedding-3-small · API",
        "text-embedding-3-large · API",
        "bge-m3 · hosted API",
        "bge-m3 · self-host",
        "Qwen3-Embedding-8B · hosted API",
        "Qwen3-Embedding-8B · self-host",
    ]
    # Self-hosting on one always-on A10G: $1.5 × 730 h + $500 ops, plus storage.
    sh = table.loc["bge-m3 · self-host"]
    assert sh.embedding_usd_per_month == pytest.approx(1095.0)
    assert sh.ops_usd_per_month == pytest.approx(500.0)
    # The result is left for the leaderboard and the report.
    assert isinstance(at.session_state["ems_cost_assumptions"], cost.CostAssumptions)
    assert len(at.session_state["ems_cost_estimates"]) == 6


def test_changing_inputs_changes_the_numbers() -> None:
    at = _app()
    at.multiselect(key="cost_models").set_value(["openai/text-embedding-3-small"])
    at.number_input(key="cost_documents").set_value(1000)
    at.number_input(key="cost_chunks").set_value(10.0)
    at.number_input(key="cost_tokens_chunk").set_value(1000)  # corpus = 10M tokens
    at.number_input(key="cost_growth").set_value(0.0)
    at.selectbox(key="cost_reembed").set_value(0)
    at.number_input(key="cost_queries").set_value(1_000_000)
    at.number_input(key="cost_tokens_query").set_value(10)  # 10M query tokens / month
    at.number_input(key="cost_overhead").set_value(1.0)
    at.number_input(key="cost_storage_price").set_value(0.10)
    at.run()
    _no_errors(at)
    row = _cost_table(at).loc["text-embedding-3-small · API"]
    # 10M tokens × $0.02/1M = $0.20 once, and $0.20 a month for queries;
    # storage 10,000 vectors × 1536 × 4 B = 0.06144 GB × $0.10 = $0.006144 a month.
    assert row.initial_usd == pytest.approx(0.20)
    assert row.embedding_usd_per_month == pytest.approx(0.20)
    assert row.storage_gb == pytest.approx(0.06144)
    assert row.usd_per_month == pytest.approx(0.206144)
    assert row.usd_first_year == pytest.approx(0.20 + 12 * 0.206144)
    m = _metrics(at)
    assert m["Corpus today"] == "10M tokens"
    assert m["Cheapest per month"] == "$0.21"
    assert m["Cheapest, year 1 total"] == "$2.67"

    # Binary vectors: 1/32 of the float32 storage.
    at.selectbox(key="cost_precision").set_value("binary").run()
    assert _cost_table(at).loc["text-embedding-3-small · API"].storage_gb == pytest.approx(0.06144 / 32)
    # MRL to 512 dims (float32 again): a third.
    at.selectbox(key="cost_precision").set_value("float32")
    at.selectbox(key="cost_dims").set_value(512).run()
    row = _cost_table(at).loc["text-embedding-3-small · API"]
    assert row.dimensions == 512 and row.storage_gb == pytest.approx(0.02048)


def test_break_even_callout_moves_with_gpu_price_and_ops() -> None:
    at = _app()
    at.number_input(key="cost_gpu_price").set_value(1.0)
    at.number_input(key="cost_ops").set_value(0.0)
    at.run()
    _no_errors(at)
    callout = next(i.value for i in at.info if "KnowledgeSDK's guide:" in i.value)
    # 730 h × $1 / $0.02 per 1M = 36.5B tokens/month, 365× the guide's ~100M.
    assert "36.5B tokens/month" in callout and "365× the guide's figure" in callout
    at.number_input(key="cost_gpu_price").set_value(2.0).run()
    callout = next(i.value for i in at.info if "KnowledgeSDK's guide:" in i.value)
    assert "73B tokens/month" in callout and "730× the guide's figure" in callout
    be = next(df.value for df in at.dataframe if "break_even_tokens_per_month" in df.value)
    one = be[be.gpu_usd_per_hour == 1.0].break_even_tokens_per_month
    assert one.iloc[0] == pytest.approx(36.5e9)


def test_measured_throughput_replaces_published_figure() -> None:
    at = _app()
    at.multiselect(key="cost_models").set_value(["openai/text-embedding-3-small", "BAAI/bge-m3"])
    at.run()
    table = _cost_table(at)
    assert table.loc["bge-m3 · self-host"].tokens_per_second == pytest.approx(819_200)
    at.number_input(key="cost_tps_BAAI/bge-m3").set_value(20_000.0).run()
    _no_errors(at)
    row = _cost_table(at).loc["bge-m3 · self-host"]
    assert row.tokens_per_second == pytest.approx(20_000)
    assert "measured" in row.price_source
    # 20k tok/s is below the 41,667 tok/s floor against $0.02/1M at $1.5/h and 50 %.
    callout = next(i.value for i in at.info if "KnowledgeSDK's guide:" in i.value)
    assert "at **never tokens/month**" in callout


def test_stale_and_conflicting_prices_are_marked() -> None:
    at = _app()
    at.multiselect(key="cost_models").set_value(
        ["google/gemini-embedding-2", "Cohere/Cohere-embed-v4.0", "openai/text-embedding-3-large"]
    )
    at.run()
    _no_errors(at)
    warning = " ".join(w.value for w in at.warning)
    assert "Check these prices" in warning
    assert "sources disagree" in warning and "stale" in warning
    # Both conflicting Gemini Embedding 2 prices are named, with sources.
    assert "0.025" in warning and "tokencost.app" in warning
    table = _cost_table(at)
    assert "⚠ sources disagree" in table.loc["gemini-embedding-2 · API"].price_flags
    assert "⚠ stale" in table.loc["text-embedding-3-large · API"].price_flags
    # Every price shown carries its source and date.
    assert "checked 2026-01-01" in table.loc["text-embedding-3-large · API"].price_source
    editor = at.data_editor[0].value
    gem = editor[editor.model == "google/gemini-embedding-2"].iloc[0]
    assert "sources disagree" in gem.marks and "stale" in gem.marks


def _editor_row(at: AppTest, model: str) -> int:
    models = list(at.data_editor[0].value["model"])
    return models.index(model)


def test_session_override_from_the_editor_wins() -> None:
    at = _app()
    idx = _editor_row(at, "openai/text-embedding-3-large")
    at.session_state["cost_price_editor"] = {
        "edited_rows": {idx: {"your_price": 0.01, "your_note": "negotiated"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    _no_errors(at)
    row = _cost_table(at).loc["text-embedding-3-large · API"]
    assert row.price_per_1m == pytest.approx(0.01)
    assert "your override" in row.price_flags and "stale" not in row.price_flags
    assert "your override (session): negotiated" in row.price_source
    overrides = at.session_state["ems_price_overrides"]
    assert [(o.model, o.price_per_1m_tokens) for o in overrides] == [("openai/text-embedding-3-large", 0.01)]
    assert any("your override" in i.value for i in at.info)

    # Save writes it to the local file (EMS_PRICES_LOCAL), which the next session loads.
    at.button(key="cost_save_prices").click().run()
    saved = pricing.read_overrides()
    assert [(o.model, o.price_per_1m_tokens, o.note) for o in saved] == [
        ("openai/text-embedding-3-large", 0.01, "negotiated")
    ]
    fresh = _app()
    row = _cost_table(fresh).loc["text-embedding-3-large · API"]
    assert row.price_per_1m == pytest.approx(0.01)
    assert "your override (local file)" in row.price_source


def test_local_file_override_and_malformed_file(local_prices: Path) -> None:
    local_prices.write_text(
        "model,price_per_1m_tokens,date_checked,note\nopenai/text-embedding-3-small,0.015,2026-11-20,enterprise deal\n"
    )
    at = _app()
    _no_errors(at)
    row = _cost_table(at).loc["text-embedding-3-small · API"]
    assert row.price_per_1m == pytest.approx(0.015)
    assert "your override (local file): enterprise deal" in row.price_source
    assert "2026-11-20" in row.price_source

    local_prices.write_text("model,price_per_1m_tokens\nopenai/text-embedding-3-small,cheap\n")
    at = _app()
    assert any("line 2, field 'price_per_1m_tokens'" in e.value and "'cheap'" in e.value for e in at.error)
    # The page still works on the published prices.
    assert _cost_table(at).loc["text-embedding-3-small · API"].price_per_1m == pytest.approx(0.02)


def test_shortlist_from_other_pages_is_the_default() -> None:
    at = _app(
        ems_shortlist=[
            "mongodb/voyage-3",
            "openai/text-embedding-3-small (embed_dim=512)",
            "acme/not-priced",
        ]
    )
    _no_errors(at)
    assert at.multiselect(key="cost_models").value == [
        "voyageai/voyage-3",
        "openai/text-embedding-3-small",
    ]
    assert any("acme/not-priced" in i.value for i in at.info)
    assert set(_cost_table(at).index) == {"voyage-3 · API", "text-embedding-3-small · API"}


def test_page_does_not_import_mteb(tmp_path: Path) -> None:
    # In a fresh interpreter: in the full suite another test has usually imported mteb already,
    # and "not imported by this page" could not be told apart from "already there".
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({PAGE!r}, default_timeout=120).run()\n"
        "assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]\n"
        "assert any(m.label == 'Corpus today' for m in at.metric)  # the page really rendered\n"
        "print('mteb' in sys.modules, 'torch' in sys.modules)\n"
    )
    # Its own database: the page reads this app's runs (measured speeds), and this test process
    # may hold the session's file.
    env = {**os.environ, "EMS_DB": str(tmp_path / "cost.duckdb")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=root,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "False False"
