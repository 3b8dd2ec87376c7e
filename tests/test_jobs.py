"""Background jobs (lib/jobs.py, lib/job_kinds.py): submit, progress, queue, cancel, recovery, run again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from lib import job_kinds, jobs, store
from lib.errors import UserError
from lib.evaluation import datasets, engine, runs

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"


def wait_until(pred: Any, timeout: float = 120.0) -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def finished(db: Path, job_id: str) -> jobs.Job:
    def done() -> jobs.Job | None:
        j = jobs.get_job(job_id, db)
        return j if j is not None and not j.active else None

    return wait_until(done)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "jobs.duckdb"
    yield path
    store.close(path)


@pytest.fixture
def runner(db: Path) -> Iterator[jobs.JobRunner]:
    r = jobs.JobRunner(db, workers=1)
    yield r
    r.shutdown(wait=True)


class Gate:
    """A test handler that reports progress until released (or cancelled)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()

    def __call__(self, params: Mapping[str, Any], inputs: Mapping[str, Any], ctx: jobs.JobContext) -> str:
        self.started.set()
        i = 0
        while not self.release.is_set():
            ctx.progress(f"[m:x] step {i // 10} {i}/1000", min(0.9, i / 100))
            i += 1
            time.sleep(0.02)
        ctx.progress("finishing", 1.0)
        return f"ref-{params['n']}"


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    jobs.register("test-gate", g)
    yield g
    g.release.set()


def test_submit_returns_at_once_and_the_job_records_progress_then_done(db: Path, runner: jobs.JobRunner,
                                                                      gate: Gate) -> None:
    t0 = time.perf_counter()
    job_id = runner.submit("test-gate", {"n": 1}, title="gate 1")
    assert time.perf_counter() - t0 < 2.0  # returns before the work (which waits for the gate) is done
    gate.started.wait(30)
    running = wait_until(lambda: (j := jobs.get_job(job_id, db)) and j.status == "running" and j.log and j)
    assert running.title == "gate 1" and running.started_at is not None and running.finished_at is None
    assert running.log[0] == "[m:x] step 0"  # the stage, without its running count
    gate.release.set()
    job = finished(db, job_id)
    assert job.status == "done" and job.result_ref == "ref-1" and job.fraction == 1.0 and job.error is None
    assert job.log[-1] == "finishing"
    assert job.params == {"n": 1}


def test_one_worker_queues_the_second_job_with_its_position(db: Path, runner: jobs.JobRunner, gate: Gate) -> None:
    first = runner.submit("test-gate", {"n": 1}, title="first")
    second = runner.submit("test-gate", {"n": 2}, title="second")
    third = runner.submit("test-gate", {"n": 3}, title="third")
    gate.started.wait(30)
    j2, j3 = jobs.get_job(second, db), jobs.get_job(third, db)
    assert j2 is not None and j2.status == "queued" and j2.queue_position == 1
    assert j3 is not None and j3.status == "queued" and j3.queue_position == 2
    listed = {j.job_id: j for j in jobs.list_jobs(db, active_only=True)}
    assert listed[third].queue_position == 2 and listed[first].queue_position is None
    # Cancelling a queued job ends it at once, without running it.
    assert runner.cancel(third)
    j3 = jobs.get_job(third, db)
    assert j3 is not None and j3.status == "cancelled" and j3.started_at is None
    gate.release.set()
    assert finished(db, first).status == "done"
    assert finished(db, second).result_ref == "ref-2"
    assert finished(db, third).status == "cancelled"


def test_cancel_stops_a_running_job_between_batches(db: Path, runner: jobs.JobRunner, gate: Gate) -> None:
    job_id = runner.submit("test-gate", {"n": 1}, title="to cancel")
    gate.started.wait(30)
    assert runner.cancel(job_id)
    job = finished(db, job_id)
    assert job.status == "cancelled" and "cancelled" in (job.error or "")
    assert job.cancel_requested and job.result_ref is None


def test_failures_are_stored_with_their_message(db: Path, runner: jobs.JobRunner) -> None:
    def user_error(params: Mapping[str, Any], inputs: Mapping[str, Any], ctx: jobs.JobContext) -> str:
        raise UserError("the file has no queries")

    def bug(params: Mapping[str, Any], inputs: Mapping[str, Any], ctx: jobs.JobContext) -> str:
        raise ValueError("boom")

    jobs.register("test-user-error", user_error)
    jobs.register("test-bug", bug)
    a = finished(db, runner.submit("test-user-error", {}, title="a"))
    b = finished(db, runner.submit("test-bug", {}, title="b"))
    assert (a.status, a.error) == ("failed", "the file has no queries")
    assert (b.status, b.error) == ("failed", "ValueError: boom")
    with pytest.raises(UserError, match="unknown job kind"):
        runner.submit("no-such-kind", {}, title="x")


def test_an_evaluation_job_stores_its_run_and_cancel_stores_it_cancelled(db: Path, runner: jobs.JobRunner) -> None:
    ds = datasets.load_dataset(DEMO)
    cfg = engine.EvaluationConfig(models=("bm25",), sweep=False, bootstrap_resamples=100, paired_resamples=100)
    job_id = runner.submit("evaluate", job_kinds.evaluate_params(ds, cfg),
                           title=job_kinds.evaluation_title(ds, ["bm25"]), inputs={"dataset": ds})
    job = finished(db, job_id)
    assert job.status == "done", job.error
    stored = runs.load_run(str(job.result_ref), db)
    assert stored.run["status"] == "done" and list(stored.models["model"]) == ["bm25"]
    assert job.title == "Evaluate BM25 on demo (149 documents)"

    # Cancel once the run exists: the engine stores the run as cancelled, with no results.
    def cancel_at_load(params: Mapping[str, Any], inputs: Mapping[str, Any], ctx: jobs.JobContext) -> str:
        def progress(message: str, fraction: float) -> None:
            if "loading model" in message:
                ctx.cancel.set()
            ctx.progress(message, fraction)

        run_id = engine.new_run_id()
        ctx.set_result(run_id)
        engine.evaluate(ds, cfg, db_path=ctx.db_path, progress=progress, run_id=run_id)
        return run_id

    jobs.register("test-cancel-eval", cancel_at_load)
    job = finished(db, runner.submit("test-cancel-eval", {}, title="cancel me"))
    assert job.status == "cancelled" and job.result_ref
    listing = runs.list_runs(db).set_index("run_id")
    assert listing.at[job.result_ref, "status"] == "failed"
    assert runs.is_cancelled("failed", listing.at[job.result_ref, "error"])
    assert runs.row_counts(db)["eval_summary"] == len(stored.summary)  # nothing of the cancelled run

    from lib.report import runs_overview

    overview = runs_overview(db).set_index("run_id")
    assert overview.at[job.result_ref, "status"] == "cancelled"


def test_a_job_left_by_a_dead_process_is_interrupted_and_runs_again_from_its_parameters(tmp_path: Path) -> None:
    db = tmp_path / "restart.duckdb"
    ds = datasets.load_dataset(DEMO)
    cfg = engine.EvaluationConfig(models=("bm25",), sweep=False, bootstrap_resamples=100, paired_resamples=100)
    params = job_kinds.evaluate_params(ds, cfg)
    # Another process submitted it and died: its row says running, owned by that process.
    with store.connect(db) as cur:
        cur.execute(
            "INSERT INTO jobs (job_id, kind, title, status, created_at, started_at, params, owner)"
            " VALUES ('job-old', 'evaluate', 'old', 'running', now(), now(), ?, 'otherhost/1/dead')",
            [json.dumps(params)],
        )
    store.close(db)
    job = jobs.get_job("job-old", db)  # this process opens the file: the hook marks it
    assert job is not None and job.status == "interrupted" and job.can_run_again
    assert "stopped before this job finished" in (job.error or "")
    r = jobs.JobRunner(db)
    try:
        new_id = r.run_again("job-old")  # no dataset in memory: loaded again from its source
        again = finished(db, new_id)
        assert again.status == "done", again.error
        assert runs.load_run(str(again.result_ref), db).run["dataset_fingerprint"] == ds.fingerprint
        with pytest.raises(UserError, match="still"):
            blocker = r.submit("evaluate", params, title="again")
            r.run_again(blocker)
        finished(db, blocker)
    finally:
        r.shutdown()
        store.close(db)


def test_run_again_refuses_data_that_changed(tmp_path: Path) -> None:
    folder = tmp_path / "beir"
    import shutil

    shutil.copytree(DEMO, folder)
    ds = datasets.load_dataset(folder)
    data = job_kinds.evaluate_params(ds, engine.EvaluationConfig(models=("bm25",)))["data"]
    assert job_kinds.load_job_dataset(data, tmp_path / "x.duckdb").fingerprint == ds.fingerprint
    corpus = folder / "corpus.jsonl"
    corpus.write_text(corpus.read_text().replace("Northwind", "Southwind", 1))
    with pytest.raises(UserError, match="changed since this job was submitted"):
        job_kinds.load_job_dataset(data, tmp_path / "x.duckdb")
    shutil.rmtree(folder)
    with pytest.raises(UserError, match="cannot be read again"):
        job_kinds.load_job_dataset(data, tmp_path / "x.duckdb")


def test_the_cli_runs_the_same_job_code_in_the_foreground(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    env = {**os.environ, "EMS_DB": str(db)}
    out = subprocess.run(
        [sys.executable, "-m", "lib", "evaluate", "--data", str(DEMO), "--model", "bm25", "--no-sweep",
         "--bootstrap", "100", "--format", "json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=True,
    )
    run_id = json.loads(out.stdout)["run_id"]
    listed = jobs.list_jobs(db)
    assert [(j.kind, j.status, j.result_ref) for j in listed] == [("evaluate", "done", run_id)]
    assert listed[0].log and listed[0].log[-1] == "done"
    store.close(db)


def test_synthetic_questions_and_llm_judging_run_as_jobs_and_run_again_reads_the_documents_again(
    tmp_path: Path, db: Path, runner: jobs.JobRunner
) -> None:
    from lib.labelling import store as lstore
    from lib.labelling import synth
    from tests.fake_chat import FakeChat

    corpus = tmp_path / "kb.jsonl"
    corpus.write_text((DEMO / "corpus.jsonl").read_text())
    coll = datasets.load_collection(corpus, folder_queries=False)
    with FakeChat() as fake:
        model = fake.spec()
        params = job_kinds.synth_params(coll, model, 3, synth.DEFAULT_PROMPT, "kb")
        first = finished(db, runner.submit("synth", params, title="synth", inputs={"collection": coll}))
        assert first.status == "done", first.error
        assert "3 questions written" in first.log[-1]
        sid = str(first.result_ref)
        assert lstore.get_set(db, sid).n_synthetic == 3
        # LLM judging of the set's pairs: its pairs are chosen when it runs; the note says what it did.
        judged = finished(db, runner.submit("llm_judge", job_kinds.judge_params(sid, model, None, 2), title="judge"))
        assert judged.status == "done" and judged.log[-1].startswith("2 judged")
        assert len(lstore.latest_judgements(db, sid, ["llm:fake-chat"])) == 2
        # Run again has no collection in memory: it reads the file again …
        again = finished(db, runner.run_again(first.job_id))
        assert again.status == "done" and again.result_ref != first.result_ref
        # … and refuses when the documents changed meanwhile, storing nothing.
        corpus.write_text(corpus.read_text().replace("Northwind", "Southwind", 1))
        n_sets = len(lstore.list_sets(db))
        changed = finished(db, runner.run_again(first.job_id))
        assert changed.status == "failed" and "changed since this job was submitted" in (changed.error or "")
        assert len(lstore.list_sets(db)) == n_sets
