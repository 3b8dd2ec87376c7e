"""Eight concurrent sessions through the app's store API: no lost or duplicated run, no lock error.

The app is one process; each browser session runs its evaluations in its own script
thread. Here eight threads play those sessions against one DuckDB file, each saving
several real runs with ``lib.evaluation.engine.evaluate`` (BM25 on the demo dataset, one
run also through an OpenAI-compatible API served by the fake server, one run that fails
half-way) and deleting one of them, while reader threads keep listing and opening runs
(and, with the leaderboard data available, ranking the MTEB leaderboard from the same file).

What must hold: every run a session saved is there exactly once with all of its rows; a
failed run has no result rows; a deleted run is gone without touching the others; no
thread ever sees an exception (no lock error, no transaction conflict); and a reader never
sees a run as ``done`` without all of its results (the status flip and the rows commit
together).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from lib import report, store
from lib.errors import UserError
from lib.evaluation import engine, runs
from tests.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
SESSIONS = 8
N_QUERIES = 60  # the demo dataset
RESULT_TABLES = ("eval_run_models", "eval_summary", "eval_query_metrics", "eval_topk", "eval_pairs", "eval_sweep")


@dataclass
class Session:
    """What one session did."""

    index: int
    saved: list[str] = field(default_factory=list)
    failed_attempts: int = 0
    deleted: list[str] = field(default_factory=list)


@dataclass
class Readers:
    """Reader threads that run until told to stop, collecting what went wrong."""

    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    reads: Counter[str] = field(default_factory=Counter)
    done_seen: set[str] = field(default_factory=set)


@pytest.fixture
def fake_api() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def _cfg(*models: str) -> engine.EvaluationConfig:
    # Fewer resamples than the app's default: the test is about storage, not statistics.
    return engine.EvaluationConfig(models=models, sweep=False, bootstrap_resamples=200, paired_resamples=200)


def _session(index: int, db: Path, api_spec: str, start: threading.Barrier) -> Session:
    s = Session(index)
    start.wait()
    s.saved.append(engine.evaluate(DEMO, _cfg("bm25"), db_path=db).run_id)
    s.saved.append(engine.evaluate(DEMO, _cfg("bm25", api_spec), db_path=db).run_id)

    def give_up(message: str, fraction: float) -> None:
        if "searching" in message:
            raise RuntimeError(f"session {index} gave up")

    try:
        engine.evaluate(DEMO, _cfg("bm25"), db_path=db, progress=give_up)
    except RuntimeError:
        s.failed_attempts += 1
    s.saved.append(engine.evaluate(DEMO, _cfg("bm25?k1=1.2&b=0.75"), db_path=db).run_id)
    s.saved.append(engine.evaluate(DEMO, _cfg("bm25"), db_path=db).run_id)
    # Delete the first run while the other sessions are still writing.
    assert runs.delete_run(s.saved[0], db)
    s.deleted.append(s.saved.pop(0))
    return s


def _check_complete(stored: runs.StoredRun) -> None:
    n_models = len(stored.run["models"])
    assert len(stored.models) == n_models, stored.run["run_id"]
    assert len(stored.per_query) == N_QUERIES * n_models, stored.run["run_id"]
    assert len(stored.topk) == N_QUERIES * n_models, stored.run["run_id"]
    assert not stored.summary.empty


def _read_runs(db: Path, r: Readers) -> None:
    while not r.stop.is_set():
        try:
            listing = runs.list_runs(db)
            r.reads["list_runs"] += 1
            assert listing["run_id"].is_unique
            assert set(listing["status"]) <= {"running", "done", "failed"}
            overview = report.runs_overview(db)
            r.reads["runs_overview"] += 1
            assert overview["run_id"].is_unique
            for rid in listing.loc[listing["status"] == "done", "run_id"].head(3):
                try:
                    stored = runs.load_run(str(rid), db)
                except UserError:
                    continue  # deleted between the listing and the read; checked at the end
                r.reads["load_run"] += 1
                if stored.run["status"] == "done":
                    _check_complete(stored)  # never a 'done' run without all of its rows
                    r.done_seen.add(str(rid))
        except Exception as exc:  # collected, so the main thread reports every reader failure
            r.errors.append(f"{type(exc).__name__}: {exc}")


def _run_sessions(db: Path, api_spec: str, extra_readers: list[Callable[[Readers], None]]) -> tuple[
        list[Session], Readers]:
    readers = Readers()
    start = threading.Barrier(SESSIONS)
    reader_fns = [lambda r: _read_runs(db, r), lambda r: _read_runs(db, r), *extra_readers]
    reader_threads = [threading.Thread(target=fn, args=(readers,)) for fn in reader_fns]
    for t in reader_threads:
        t.start()
    try:
        with ThreadPoolExecutor(SESSIONS) as pool:
            sessions = list(pool.map(lambda i: _session(i, db, api_spec, start), range(SESSIONS)))
    finally:
        readers.stop.set()
        for t in reader_threads:
            t.join(timeout=120)
    return sessions, readers


def _assert_all_saved(db: Path, sessions: list[Session], readers: Readers) -> None:
    assert readers.errors == []
    assert readers.reads["list_runs"] > 0 and readers.reads["load_run"] > 0
    saved = [rid for s in sessions for rid in s.saved]
    deleted = [rid for s in sessions for rid in s.deleted]
    assert len(saved) == SESSIONS * 3 and len(set(saved)) == len(saved)
    assert sum(s.failed_attempts for s in sessions) == SESSIONS

    listing = runs.list_runs(db)
    assert listing["run_id"].is_unique
    by_status = listing.groupby("status")["run_id"].apply(set).to_dict()
    assert by_status["done"] == set(saved)  # none lost, none extra
    assert len(by_status["failed"]) == SESSIONS and "running" not in by_status
    assert not set(deleted) & set(listing["run_id"])
    for rid in saved:
        _check_complete(runs.load_run(rid, db))
    with store.connect(db) as cur:
        for table in RESULT_TABLES:
            orphans = cur.execute(
                f"SELECT count(*) FROM {table} t WHERE NOT EXISTS"
                " (SELECT 1 FROM eval_runs r WHERE r.run_id = t.run_id AND r.status = 'done')"
            ).fetchall()[0][0]
            assert orphans == 0, f"{table}: rows of failed or deleted runs"
        dup = cur.execute(
            "SELECT count(*) FROM (SELECT run_id, model, query_id, metric FROM eval_query_metrics"
            " GROUP BY ALL HAVING count(*) > 1)"
        ).fetchall()[0][0]
        assert dup == 0
    # BM25 is deterministic: every session's plain BM25 run has the same scores.
    scores = {
        round(float(runs.load_run(rid, db).summary.set_index(["model", "metric"]).at[("bm25", "nDCG@10"), "mean"]), 12)
        for rid in saved if json.loads(listing.set_index("run_id").at[rid, "models"]) == ["bm25"]
    }
    assert len(scores) == 1


def test_eight_sessions_save_runs_concurrently(tmp_path: Path, fake_api: FakeOpenAI) -> None:
    db = tmp_path / "sessions.duckdb"
    store.schema_version(db)  # the app has the file open before sessions arrive
    sessions, readers = _run_sessions(db, fake_api.spec(), [])
    _assert_all_saved(db, sessions, readers)
    assert fake_api.calls >= SESSIONS * 2  # every API run really went over HTTP
    # Everything is on disk: a fresh open (as after an app restart) sees the same runs.
    before = runs.list_runs(db)[["run_id", "status"]].sort_values("run_id", ignore_index=True)
    store.close(db)
    after = runs.list_runs(db)[["run_id", "status"]].sort_values("run_id", ignore_index=True)
    pd.testing.assert_frame_equal(before, after)
    store.close(db)


def test_sessions_and_leaderboard_readers_share_one_file(tmp_path: Path, lb_db: Path, fake_api: FakeOpenAI) -> None:
    """The app's database holds the leaderboard too: ranking it while sessions write gives identical tables."""
    from lib.leaderboard import queries, ranking
    from tests.lbfiles import copy_app_db

    db = copy_app_db(lb_db, tmp_path / "app.duckdb")
    bench = "MTEB(eng, v2)"
    reference = ranking.summary_table(bench, db).df

    def leaderboard(r: Readers) -> None:
        while not r.stop.is_set():
            try:
                with ranking._cache_lock:
                    ranking._cache.clear()  # make every read hit DuckDB, not the per-version cache
                pd.testing.assert_frame_equal(ranking.summary_table(bench, db).df, reference)
                assert not queries.benchmarks(db).empty and not queries.models(db).empty
                assert queries.provenance(db) is not None
                r.reads["leaderboard"] += 1
            except Exception as exc:  # collected for the main thread
                r.errors.append(f"leaderboard: {type(exc).__name__}: {exc}")

    sessions, readers = _run_sessions(db, fake_api.spec(), [leaderboard])
    _assert_all_saved(db, sessions, readers)
    assert readers.reads["leaderboard"] > 0
    store.close(db)
