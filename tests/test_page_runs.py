"""AppTest of the Runs page: history with headline metrics, open, compare, delete; failed runs shown as such."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.evaluation import engine, runs

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "runs.py")
DEMO = ROOT / "data" / "demo"


@pytest.fixture()
def two_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """A fresh database with a BM25 run, a MiniLM+BM25 run and an interrupted run."""
    monkeypatch.setenv("EMS_DB", str(tmp_path / "runs.duckdb"))
    a = engine.evaluate(DEMO, engine.EvaluationConfig(models=("bm25",), sweep=False)).run_id
    b = engine.evaluate(DEMO, engine.EvaluationConfig(models=("minilm", "bm25"), sweep=False)).run_id
    runs.start_run(None, run_id="20000101-000000-deadbeef", dataset={
        "name": "demo", "source": str(DEMO), "split": "test", "fingerprint": "x", "n_docs": 1, "n_queries": 1,
        "n_qrels": 1}, k=10, models=["minilm"], config={}, environment={})
    runs.fail_run(None, "20000101-000000-deadbeef", "StopException: ")
    return a, b


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_history_lists_runs_with_metrics_and_status(two_runs: tuple[str, str]) -> None:
    a, b = two_runs
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    _no_errors(at)
    table = at.dataframe[0].value.set_index("run_id")
    assert table.at[b, "status"] == "✓ done"
    assert table.at[b, "best_model"] == "minilm"
    assert 0.6 < table.at[b, "best_ndcg"] <= 1
    assert table.at[a, "best_model"] == "bm25"
    assert table.at["20000101-000000-deadbeef", "status"] == "✗ interrupted"
    # Stored before the engine wrote reasons (only the exception's name): shown with a readable one.
    assert table.at["20000101-000000-deadbeef", "error"] == (
        "interrupted: the evaluation was stopped before it finished (the page was left or rerun).")
    assert any("1 run(s) stopped before they finished" in c.value for c in at.caption)


def test_run_of_a_dead_process_is_shown_interrupted(two_runs: tuple[str, str]) -> None:
    """A run left 'running' by a process that died is marked when the file is next opened, never shown running."""
    from lib import store

    runs.start_run(None, run_id="20000101-000001-0000dead", dataset={
        "name": "demo", "source": str(DEMO), "split": "test", "fingerprint": "x", "n_docs": 1, "n_queries": 1,
        "n_qrels": 1}, k=10, models=["bm25"], config={}, environment={})
    with store.transaction() as cur:
        cur.execute("UPDATE eval_runs SET owner = ? WHERE run_id = ?", ["gone/999999/feedfacecafe",
                                                                      "20000101-000001-0000dead"])
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    # Still this process's file: another process's 'running' row is left alone until the file is reopened
    # (only then is it certain that process let go of it).
    assert at.dataframe[0].value.set_index("run_id").at["20000101-000001-0000dead", "status"] == "… running"
    store.close(store.resolve_path())  # as when the app restarts
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    _no_errors(at)
    row = at.dataframe[0].value.set_index("run_id").loc["20000101-000001-0000dead"]
    assert row["status"] == "✗ interrupted"
    assert row["error"].startswith("interrupted: the app stopped during this run (process 999999 on gone")
    assert any("2 run(s) stopped before they finished" in c.value for c in at.caption)


def test_open_and_compare(two_runs: tuple[str, str]) -> None:
    a, b = two_runs
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.selectbox(key="runs_open").set_value(b).run()
    _no_errors(at)
    assert any("nDCG@10 95 % CI" in df.value.columns for df in at.dataframe)
    at.selectbox(key="runs_cmp_a").set_value(a)
    at.selectbox(key="runs_cmp_b").set_value(b).run()
    _no_errors(at)
    changes = " ".join(m.value for m in at.markdown)
    assert "Models added: minilm" in changes
    assert "Same data" in changes
    cmp = next(df.value for df in at.dataframe if "status" in df.value.columns and "delta" in df.value.columns)
    row = cmp.set_index("model").loc["BM25"]
    assert row["status"] == "kept"
    assert abs(row["delta"]) < 1e-9  # BM25 is deterministic: same data, same score
    assert row["significant"] == "no"


def test_delete_needs_confirmation(two_runs: tuple[str, str]) -> None:
    a, _ = two_runs
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.selectbox(key="runs_delete").set_value(a).run()
    assert at.button(key="runs_delete_btn").disabled
    at.checkbox(key="runs_delete_sure").check().run()
    at.button(key="runs_delete_btn").click().run()
    _no_errors(at)
    assert a not in set(runs.list_runs()["run_id"])
    assert runs.row_counts()["eval_summary"] > 0  # the other run's rows are untouched
