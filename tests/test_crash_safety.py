"""kill -9 during an evaluation: the database opens afterwards and the run shows as interrupted, never done.

A real ``python -m lib evaluate`` child process is killed with SIGKILL mid-run. DuckDB's file
lock means this process cannot peek at the database while the child holds it, so the
child's progress lines on stderr say when the run row has been written (a model's
"loading model" line comes after ``start_run`` committed). Afterwards the WAL (never
checkpointed: the child was killed) is replayed on open, and the store's open hook marks
the dead process's run ``failed`` with an ``interrupted: …`` reason.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib import store
from lib.errors import UserError
from lib.evaluation import engine, runs
from tests.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
RUNS_PAGE = str(ROOT / "pages" / "runs.py")
RESULT_TABLES = ("eval_run_models", "eval_summary", "eval_query_metrics", "eval_topk", "eval_pairs", "eval_sweep")


class Child:
    """A ``python -m lib evaluate`` process whose stderr lines are read as they come."""

    def __init__(self, db: Path, cache: Path, models: list[str]) -> None:
        cmd = [sys.executable, "-m", "lib", "evaluate", "--data", str(DEMO), "--db", str(db), "--no-sweep",
               "--format", "json"]
        for m in models:
            cmd += ["--model", m]
        env = {**os.environ, "EMS_DB": str(db), "EMS_CACHE_DIR": str(cache), "HF_HUB_OFFLINE": "1",
               "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, pattern: str, timeout: float = 180) -> str:
        """Block until a stderr line matches ``pattern``; fail with the output if the child ends first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"child exited ({self.proc.wait()}) before {pattern!r}:\n" + "\n".join(self.lines))
            self.lines.append(line)
            if re.search(pattern, line):
                return line
        pytest.fail(f"no line matching {pattern!r} within {timeout} s:\n" + "\n".join(self.lines))

    def kill9(self) -> int:
        """SIGKILL by PID (no cleanup handler can run) and reap it."""
        os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(timeout=30)


@pytest.fixture
def hanging_api() -> Iterator[FakeOpenAI]:
    """An API server that never answers: the child is provably mid-run when killed."""
    with FakeOpenAI(mode="hang") as fake:
        yield fake


def _result_rows(db: Path, run_id: str) -> dict[str, int]:
    with store.connect(db) as cur:
        return {t: cur.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", [run_id]).fetchall()[0][0]
                for t in RESULT_TABLES}


@pytest.mark.parametrize("scenario", ["minilm-loading", "api-request-in-flight"])
def test_kill9_mid_evaluation_leaves_an_interrupted_run(
    scenario: str, tmp_path: Path, hanging_api: FakeOpenAI
) -> None:
    db = tmp_path / "crash.duckdb"
    # A finished run from before the crash, which must come through the WAL replay intact.
    before = engine.evaluate(DEMO, engine.EvaluationConfig(models=("bm25",), sweep=False), db_path=db)
    rows_before = _result_rows(db, before.run_id)
    store.close(db)  # hand the file to the child, as the app does when it stops

    if scenario == "minilm-loading":
        # "loading model" is printed after the run row is committed; loading MiniLM (torch import
        # and weights) then takes seconds, so the kill lands mid-run.
        child = Child(db, tmp_path / "cache", ["minilm"])
        child.wait_for(r"\[minilm\] loading model")
    else:
        spec = hanging_api.spec(timeout="600", max_retries="0")
        child = Child(db, tmp_path / "cache", ["bm25", spec])
        child.wait_for(r"\[openai:fake-model.*\] encoding documents")
        deadline = time.monotonic() + 60
        while hanging_api.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hanging_api.calls >= 1, "the child's embedding request never reached the server"
        # While the child holds the file, another process gets a clear message naming the file and holder.
        with pytest.raises(store.StoreLockedError) as locked:
            runs.list_runs(db)
        assert str(db) in str(locked.value) and f"process {child.proc.pid}" in str(locked.value)

    assert child.kill9() == -signal.SIGKILL
    wal = Path(f"{db}.wal")
    # The killed process never checkpointed: its run row exists only in the WAL, which the next open replays.
    assert wal.exists() and wal.stat().st_size > 0

    listing = runs.list_runs(db).set_index("run_id")
    assert len(listing) == 2
    killed_id = next(r for r in listing.index if r != before.run_id)
    killed = listing.loc[killed_id]
    assert killed["status"] == "failed", killed.to_dict()
    assert bool(killed["interrupted"])
    assert killed["error"].startswith("interrupted: the app stopped during this run")
    assert f"process {child.proc.pid}" in killed["error"]
    assert killed["finished_at"] is not None
    assert sum(_result_rows(db, killed_id).values()) == 0  # no half-written results
    assert listing.loc[before.run_id, "status"] == "done"
    assert _result_rows(db, before.run_id) == rows_before
    assert runs.load_run(killed_id, db).run["status"] == "failed"

    # The recovery is committed: after closing and reopening nothing changes, and the file still works.
    store.close(db)
    again = runs.list_runs(db).set_index("run_id")
    assert again.loc[killed_id, "status"] == "failed" and again.loc[killed_id, "error"] == killed["error"]
    after = engine.evaluate(DEMO, engine.EvaluationConfig(models=("bm25",), sweep=False), db_path=db)
    assert runs.load_run(after.run_id, db).run["status"] == "done"
    with pytest.raises(UserError, match="not done"):
        from lib import report

        report.build_report([killed_id], db_path=db, with_figures=False)
    store.close(db)


def test_runs_page_shows_killed_run_as_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hanging_api: FakeOpenAI
) -> None:
    db = tmp_path / "page.duckdb"
    done = engine.evaluate(DEMO, engine.EvaluationConfig(models=("bm25",), sweep=False), db_path=db).run_id
    store.close(db)
    child = Child(db, tmp_path / "cache", [hanging_api.spec(timeout="600", max_retries="0")])
    child.wait_for(r"encoding documents")
    child.kill9()

    monkeypatch.setenv("EMS_DB", str(db))
    at = AppTest.from_file(RUNS_PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # the runs table (the Recent jobs table comes first, collapsed)
    table = next(df.value for df in at.dataframe if "run_id" in df.value.columns).set_index("run_id")
    killed = next(r for r in table.index if r != done)
    assert table.at[killed, "status"] == "✗ interrupted"
    assert table.at[killed, "error"].startswith("interrupted: the app stopped during this run")
    assert table.at[done, "status"] == "✓ done"
    assert any("stopped before they finished" in c.value for c in at.caption)

    # Opening it explains why there is nothing to show; it cannot go into a report or a comparison.
    at.selectbox(key="runs_open").set_value(killed).run()
    assert not at.exception
    assert any("failed" in w.value and "the app stopped during this run" in w.value for w in at.warning)
    assert not any("nDCG@10 95 % CI" in df.value.columns for df in at.dataframe)
    assert at.button(key="runs_to_report").disabled
    store.close(db)


def test_recovery_spares_runs_of_this_process(tmp_path: Path) -> None:
    """Reopening the file must not fail a run this process (another thread) is still working on."""
    db = tmp_path / "mine.duckdb"
    dataset = {"name": "demo", "source": str(DEMO), "split": "test", "fingerprint": "f", "n_docs": 1,
               "n_queries": 1, "n_qrels": 1}
    runs.start_run(db, run_id="mine", dataset=dataset, k=10, models=["bm25"], config={}, environment={})
    runs.start_run(db, run_id="theirs", dataset=dataset, k=10, models=["bm25"], config={}, environment={})
    runs.start_run(db, run_id="legacy", dataset=dataset, k=10, models=["bm25"], config={}, environment={})
    with store.transaction(db) as cur:
        # 'theirs' as a process that is gone would have left it; 'legacy' from before owners were recorded.
        cur.execute("UPDATE eval_runs SET owner = ? WHERE run_id = ?", ["otherhost/4242/0123456789ab", "theirs"])
        cur.execute("UPDATE eval_runs SET owner = NULL WHERE run_id = ?", ["legacy"])
    store.close(db)

    status = runs.list_runs(db).set_index("run_id")
    assert status.at["mine", "status"] == "running"
    assert status.at["theirs", "status"] == "failed"
    assert "process 4242 on otherhost" in status.at["theirs", "error"]
    assert status.at["legacy", "status"] == "failed" and bool(status.at["legacy", "interrupted"])

    # This process's run finishes normally; a recovered run can no longer be completed.
    runs.complete_run(db, "mine", {}, 1.0)
    assert runs.load_run("mine", db).run["status"] == "done"
    with pytest.raises(UserError, match="marked failed before it finished"):
        runs.complete_run(db, "theirs", {"eval_summary": _one_summary_row()}, 1.0)
    assert sum(_result_rows(db, "theirs").values()) == 0
    store.close(db)


def _one_summary_row() -> pd.DataFrame:
    return pd.DataFrame([{"model": "bm25", "metric": "nDCG@10", "mean": 0.5, "ci_low": 0.4, "ci_high": 0.6,
                          "n_queries": 1, "tie_group": 1}])


def test_stopped_script_is_stored_as_interrupted(tmp_path: Path) -> None:
    """A non-error stop (Streamlit's StopException when the page is left, Ctrl-C) gets a readable reason."""
    db = tmp_path / "stop.duckdb"

    def stop(message: str, fraction: float) -> None:
        if "searching" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.evaluate(DEMO, engine.EvaluationConfig(models=("bm25",), sweep=False), db_path=db, progress=stop)
    row = runs.list_runs(db).iloc[0]
    assert row["status"] == "failed" and bool(row["interrupted"])
    assert row["error"].startswith("interrupted: the evaluation was stopped before it finished (KeyboardInterrupt")
    assert sum(_result_rows(db, row["run_id"]).values()) == 0
    store.close(db)
