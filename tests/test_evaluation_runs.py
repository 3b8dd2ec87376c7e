"""lib.evaluation.runs on its own: the run lifecycle and reading a run back, without the engine.

Rows are written by hand into a ``tmp_path`` DuckDB file, so what ``load_run`` returns is
checked against the frames that went in. (Recovery of runs left by a killed process is in
tests/test_crash_safety.py; the engine's use of this module in tests/test_evaluation_engine.py.)
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from lib.errors import UserError
from lib.evaluation import runs

DATASET = {"name": "tiny", "source": "/data/tiny", "split": "test", "fingerprint": "f" * 64,
           "n_docs": 3, "n_queries": 2, "n_qrels": 2}


def _start(db: Path, run_id: str, models: tuple[str, ...] = ("m1", "bm25")) -> None:
    runs.start_run(db, run_id=run_id, dataset=DATASET, k=10, models=list(models),
                   config={"k": 10, "seed": 7, "path": Path("/x")}, environment={"python": "3.11"})


def _tables() -> dict[str, pd.DataFrame]:
    return {
        "eval_run_models": pd.DataFrame({"model": ["m1", "bm25"], "position": [0, 1], "kind": ["dense", "bm25"],
                                         "name": ["org/m1", "BM25"], "revision": ["abc", ""],
                                         "identity": ["{}", "{}"], "dim": [384, None]}),
        "eval_summary": pd.DataFrame({
            "model": ["m1", "m1", "bm25", "bm25"], "metric": ["nDCG@10", "Recall@10"] * 2,
            "mean": [0.8, 0.9, 0.5, 0.6], "ci_low": [0.7, 0.8, 0.4, 0.5], "ci_high": [0.9, 1.0, 0.6, 0.7],
            "n_queries": [2] * 4, "tie_group": [1, 1, 2, 2],
        }),
        "eval_query_metrics": pd.DataFrame({
            "model": ["m1"] * 4 + ["bm25"] * 4, "query_id": ["q1", "q1", "q2", "q2"] * 2,
            "metric": ["Recall@10", "nDCG@10"] * 4, "value": [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3],
        }),
        "eval_topk": pd.DataFrame({"model": ["m1"], "query_id": ["q1"], "doc_ids": [["d2", "d1"]],
                                   "scores": [[0.9, 0.1]]}),
        "eval_pairs": pd.DataFrame(),  # empty frames are skipped
    }


def test_lifecycle_running_then_done_and_read_back(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    _start(db, "r1")
    listing = runs.list_runs(db)
    assert list(listing["run_id"]) == ["r1"] and list(listing["status"]) == ["running"]
    assert not listing.iloc[0]["interrupted"]
    runs.complete_run(db, "r1", _tables(), wall_time_s=1.5)

    s = runs.load_run("r1", db)
    assert s.run["status"] == "done" and s.run["wall_time_s"] == 1.5 and s.run["owner"] == runs.owner_token()
    assert s.run["models"] == ["m1", "bm25"] and s.run["dataset_name"] == "tiny" and s.run["k"] == 10
    assert s.run["config"] == {"k": 10, "seed": 7, "path": "/x"}  # JSON round trip (paths as text)
    assert list(s.models["model"]) == ["m1", "bm25"] and s.models["dim"].iloc[0] == 384
    assert math.isnan(s.models["api_cost_usd"].iloc[0])  # a column not given is stored empty
    assert len(s.summary) == 4 and s.pairs.empty and s.sweep.empty
    # Per-query metrics are pivoted wide, columns in the summary's metric order.
    assert list(s.per_query.columns) == ["model", "query_id", "nDCG@10", "Recall@10"]
    pq = s.per_query.set_index(["model", "query_id"])
    assert pq.at[("m1", "q2"), "nDCG@10"] == 0.7 and pq.at[("bm25", "q1"), "Recall@10"] == 0.6
    assert list(s.topk.iloc[0]["doc_ids"]) == ["d2", "d1"]
    assert runs.row_counts(db) == {"eval_runs": 1, "eval_run_models": 2, "eval_summary": 4,
                                   "eval_query_metrics": 8, "eval_topk": 1, "eval_pairs": 0, "eval_sweep": 0,
                                   "eval_fusion_sweep": 0}


def test_summary_table_is_wide_in_model_order(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    _start(db, "r1")
    runs.complete_run(db, "r1", _tables(), wall_time_s=1.0)
    wide = runs.load_run("r1", db).summary_table(["nDCG@10"])
    assert list(wide.index) == ["m1", "bm25"]
    assert list(wide.columns) == ["nDCG@10", "nDCG@10 low", "nDCG@10 high"]
    assert wide.loc["bm25"].tolist() == [0.5, 0.4, 0.6]
    # A model without a row for a metric gets no value, not someone else's.
    part = runs.summary_wide(_tables()["eval_summary"].iloc[:2], ["m1", "bm25"])
    assert part.loc["m1", "Recall@10"] == 0.9 and pd.isna(part.loc["bm25", "Recall@10"])


def test_a_failed_run_cannot_be_completed_and_keeps_no_rows(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    _start(db, "r1")
    runs.fail_run(db, "r1", "boom: " + "x" * 3000)
    before = runs.row_counts(db)
    with pytest.raises(UserError, match="run r1 was marked failed before it finished"):
        runs.complete_run(db, "r1", _tables(), wall_time_s=1.0)
    assert runs.row_counts(db) == before  # the transaction rolled back
    row = runs.list_runs(db).iloc[0]
    assert row["status"] == "failed" and len(row["error"]) == 2000 and not row["interrupted"]
    runs.fail_run(db, "r1", "again")  # only 'running' rows change
    assert runs.list_runs(db).iloc[0]["error"].startswith("boom: ")


def test_done_run_is_not_failed_afterwards_and_deleting_removes_every_row(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    _start(db, "r1")
    _start(db, "r2")
    runs.complete_run(db, "r1", _tables(), wall_time_s=1.0)
    runs.complete_run(db, "r2", _tables(), wall_time_s=1.0)
    runs.fail_run(db, "r1", "late error")
    assert runs.load_run("r1", db).run["status"] == "done"
    assert runs.delete_run("r1", db) and not runs.delete_run("r1", db)
    assert runs.row_counts(db) == {"eval_runs": 1, "eval_run_models": 2, "eval_summary": 4,
                                   "eval_query_metrics": 8, "eval_topk": 1, "eval_pairs": 0, "eval_sweep": 0,
                                   "eval_fusion_sweep": 0}
    with pytest.raises(UserError, match="no evaluation run with id 'r1'"):
        runs.load_run("r1", db)
    with pytest.raises(UserError, match="run gone was deleted before it finished"):
        runs.complete_run(db, "gone", _tables(), wall_time_s=1.0)


def test_list_runs_newest_first(tmp_path: Path) -> None:
    db = tmp_path / "runs.duckdb"
    for rid in ("a", "b", "c"):
        _start(db, rid)
    assert list(runs.list_runs(db)["run_id"]) == ["c", "b", "a"]


@pytest.mark.parametrize(
    ("status", "error", "interrupted"),
    [
        ("failed", runs.INTERRUPTED + "the app stopped", True),
        ("failed", "StopException: ", True),  # runs stored before the 'interrupted:' prefix
        ("failed", "KeyboardInterrupt", True),
        ("failed", "HTTP 500 from the API", False),
        ("failed", float("nan"), False),
        ("failed", None, False),
        ("done", runs.INTERRUPTED + "x", False),
        ("running", None, False),
    ],
)
def test_is_interrupted(status: str, error: object, interrupted: bool) -> None:
    assert runs.is_interrupted(status, error) is interrupted


def test_owner_token_is_stable_in_a_process() -> None:
    import os
    import socket

    token = runs.owner_token()
    host, pid, boot = token.split("/")
    assert host == socket.gethostname() and pid == str(os.getpid()) and len(boot) == 12
    assert runs.owner_token() == token
