"""Background jobs: long work owned by the server process, not by a page's script run.

An evaluation, an LLM judging pass or a synthetic-query generation is *submitted* as a job:
a row in the ``jobs`` table (migration 0009) and a task on a bounded worker pool in this
process (default one job at a time, ``EMS_JOB_WORKERS``). Submitting returns at once; the
worker writes the job's stage, fraction, ETA and log to the row as it goes (throttled), so
any page, any browser tab and the CLI can show it; leaving or reloading a page changes
nothing. **Cancel** sets a flag that the job's progress callback checks between batches: it
raises :class:`lib.errors.Cancelled`, the engine stores the run as cancelled, and the job is
stored ``cancelled``. A job left ``queued``/``running`` by a process that died is marked
``interrupted`` when the next process opens the database (an open hook, like
:func:`lib.evaluation.runs.recover_interrupted`); its parameters are kept, so **Run again**
resubmits it (cheap: the embedding cache keeps every vector already computed).

The CLI runs the very same handler in the foreground (:func:`run_foreground`), with the
progress printed instead of polled.

Public API: :class:`Job`, :class:`JobContext`, :class:`JobRunner`, :func:`runner`,
:func:`register`, :func:`get_job`, :func:`list_jobs`, :func:`check_limit`, :func:`run_foreground`,
:func:`recover_interrupted`, :data:`ACTIVE`, :data:`FINISHED`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from lib import store
from lib.errors import Cancelled, UserError

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
FINISHED = ("done", "failed", "cancelled", "interrupted")
#: Seconds between progress writes to the database (stage changes are written at once).
WRITE_EVERY_S = 0.5
#: Log lines kept per job.
MAX_LOG_LINES = 200
#: The running count at the end of a progress message ("… 256/5183"), not part of its stage.
_DETAIL = re.compile(r"\s*\d+\s*/\s*\d+\s*$")


@dataclass(frozen=True)
class Job:
    """One job as stored.

    Attributes:
        job_id: Its id.
        kind: ``evaluate``, ``judge`` or ``synth``.
        title: One line for people.
        status: ``queued``, ``running``, ``done``, ``failed``, ``cancelled`` or ``interrupted``.
        created_at: When it was submitted (UTC).
        started_at: When a worker took it.
        finished_at: When it ended.
        params: What it runs (JSON-able; never a key): enough to run it again.
        stage: The current step, for people.
        fraction: Progress in [0, 1].
        eta_s: Estimated seconds left (None until it can be estimated).
        log: Stage lines, oldest first.
        result_ref: What it wrote (a run id, a label set id).
        error: Why it failed, was cancelled or interrupted.
        cancel_requested: Cancel was pressed and the job has not stopped yet.
        queue_position: 1 for the next queued job, … (None unless queued).
        user_id: Who submitted it (team mode).
    """

    job_id: str
    kind: str
    title: str
    status: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    params: dict[str, Any]
    stage: str | None
    fraction: float
    eta_s: float | None
    log: tuple[str, ...]
    result_ref: str | None
    error: str | None
    cancel_requested: bool = False
    queue_position: int | None = None
    user_id: str | None = None

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.status in ACTIVE

    @property
    def can_run_again(self) -> bool:
        """Finished without a result that is wanted (failed, cancelled or interrupted)."""
        return self.status in ("failed", "cancelled", "interrupted")


#: ``handler(params, inputs, context) -> result_ref``. ``inputs`` are in-memory objects for
#: this submission only (a loaded dataset, the API key), never stored; a handler must be
#: able to run from ``params`` alone (Run again after a restart).
Handler = Callable[[Mapping[str, Any], Mapping[str, Any], "JobContext"], str | None]
_handlers: dict[str, Handler] = {}


def register(kind: str, handler: Handler) -> None:
    """Declare the code that runs jobs of one kind.

    Args:
        kind: The job kind (``evaluate``, ``judge``, ``synth``).
        handler: ``handler(params, inputs, context)`` returning the id of what it wrote.
    """
    _handlers[kind] = handler


def _handler(kind: str) -> Handler:
    # The built-in kinds register themselves when lib.job_kinds is imported (the app and the
    # CLI import it; it pulls in the evaluation engine, which this module does not need).
    if kind not in _handlers:
        raise UserError(f"unknown job kind {kind!r}")
    return _handlers[kind]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class JobContext:
    """What a running job's handler reports through, and how it learns it was cancelled.

    The handler passes :meth:`progress` to the engine as its progress callback; each call
    checks the cancel flag first and raises :class:`lib.errors.Cancelled` when it is set,
    so a job stops between two batches.
    """

    def __init__(
        self, job_id: str, db_path: str | Path | None, cancel: threading.Event,
        echo: Callable[[str, float], None] | None = None,
    ) -> None:
        self.job_id, self.db_path, self.cancel, self.echo = job_id, db_path, cancel, echo
        self.result_ref: str | None = None
        #: What the handler returns to a foreground caller beyond the stored reference (the
        #: CLI prints the evaluation result object); unused for background jobs.
        self.output: Any = None
        self._t0 = time.monotonic()
        self._last_write = 0.0
        self._log: list[str] = []
        self._stage = ""
        self._fraction = 0.0

    def check(self) -> None:
        """Raise :class:`lib.errors.Cancelled` if Cancel was pressed."""
        if self.cancel.is_set():
            raise Cancelled("the job was cancelled")

    def set_result(self, ref: str) -> None:
        """Record what the job writes (a run id) as soon as it is known.

        Args:
            ref: The id; stored at once, so a cancelled or interrupted job still names its run.
        """
        self.result_ref = ref
        with store.connect(self.db_path) as cur:
            cur.execute("UPDATE jobs SET result_ref = ? WHERE job_id = ?", [ref, self.job_id])

    def eta(self, fraction: float) -> float | None:
        """Seconds left by the average rate so far (None before 2 % or 2 s of progress)."""
        elapsed = time.monotonic() - self._t0
        if fraction < 0.02 or elapsed < 2.0 or fraction >= 1.0:
            return None
        return elapsed * (1.0 - fraction) / fraction

    def progress(self, message: str, fraction: float) -> None:
        """Record progress; raises :class:`lib.errors.Cancelled` when the job was cancelled.

        Args:
            message: ``stage`` or ``[model] stage: detail``.
            fraction: Overall progress in [0, 1].
        """
        self.check()
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self.echo:
            self.echo(message, fraction)
        head = _DETAIL.sub("", message)  # "[minilm] encoding documents 256/5183" → its stage
        stage_changed = not self._log or self._log[-1] != head
        if stage_changed:
            self._log.append(head)
            del self._log[:-MAX_LOG_LINES]
        self._stage, self._fraction = message, fraction
        now = time.monotonic()
        if stage_changed or now - self._last_write >= WRITE_EVERY_S:
            self._last_write = now
            self._write()

    def note(self, line: str) -> None:
        """Add one line to the job's log now (a result to show, e.g. what an LLM judging run did).

        Args:
            line: Plain text.
        """
        self._log.append(line)
        del self._log[:-MAX_LOG_LINES]
        self._write()

    def _write(self) -> None:
        with store.connect(self.db_path) as cur:
            cur.execute(
                "UPDATE jobs SET stage = ?, fraction = ?, eta_s = ?, log = ? WHERE job_id = ?",
                [self._stage, self._fraction, self.eta(self._fraction), "\n".join(self._log), self.job_id],
            )


def _finish(db_path: str | Path | None, job_id: str, status: str, *, result_ref: str | None = None,
            error: str | None = None, fraction: float | None = None) -> None:
    with store.connect(db_path) as cur:
        cur.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, result_ref = coalesce(?, result_ref), error = ?,"
            " fraction = coalesce(?, fraction), eta_s = NULL WHERE job_id = ?",
            [status, _now(), result_ref, error, fraction, job_id],
        )


def _insert(db_path: str | Path | None, kind: str, title: str, params: Mapping[str, Any],
            user_id: str | None, status: str = "queued") -> str:
    from lib.evaluation.runs import owner_token

    job_id = time.strftime("job-%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    with store.connect(db_path) as cur:
        cur.execute(
            "INSERT INTO jobs (job_id, kind, title, status, created_at, params, fraction, log, owner, user_id)"
            " VALUES (?, ?, ?, ?, ?, ?, 0.0, '', ?, ?)",
            [job_id, kind, title, status, _now(), json.dumps(dict(params), default=str), owner_token(), user_id],
        )
    return job_id


def _execute(job_id: str, kind: str, params: Mapping[str, Any], inputs: Mapping[str, Any],
             ctx: JobContext) -> None:
    """Run a handler and store how it ended; never raises (a worker thread has no caller)."""
    db_path = ctx.db_path
    try:
        ctx.check()
        with store.connect(db_path) as cur:
            cur.execute("UPDATE jobs SET status = 'running', started_at = ? WHERE job_id = ? AND status = 'queued'",
                        [_now(), job_id])
        ref = _handler(kind)(params, inputs, ctx)
        _finish(db_path, job_id, "done", result_ref=ref, fraction=1.0)
    except Cancelled:
        _finish(db_path, job_id, "cancelled", error="cancelled by the user; it stopped between two batches")
    except UserError as exc:
        _finish(db_path, job_id, "failed", error=str(exc))
    except BaseException as exc:  # a worker must record every ending; the server log gets the traceback
        log.error("job %s (%s) failed:\n%s", job_id, kind, traceback.format_exc())
        _finish(db_path, job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        if not isinstance(exc, Exception):
            raise


@dataclass
class JobRunner:
    """This process's bounded pool of job workers for one database file.

    Attributes:
        db_path: The DuckDB file jobs are recorded in.
        workers: Jobs running at the same time (others wait, queued, in submission order).
    """

    db_path: str | Path | None
    workers: int = 1
    _pool: ThreadPoolExecutor = field(init=False, repr=False)
    _cancel: dict[str, threading.Event] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="ems-job")

    def submit(self, kind: str, params: Mapping[str, Any], *, title: str,
               inputs: Mapping[str, Any] | None = None, user_id: str | None = None) -> str:
        """Queue a job and return its id at once.

        Args:
            kind: Job kind (a registered handler).
            params: What to run (stored; must be JSON-able and hold no secret).
            title: One line for people.
            inputs: In-memory objects for this submission (dataset, API key); never stored.
            user_id: Who submits it.

        Returns:
            The job id.
        """
        _handler(kind)  # an unknown kind fails now, not in the worker
        job_id = _insert(self.db_path, kind, title, params, user_id)
        event = threading.Event()
        self._cancel[job_id] = event
        ctx = JobContext(job_id, self.db_path, event)
        self._pool.submit(_execute, job_id, kind, dict(params), dict(inputs or {}), ctx)
        return job_id

    def cancel(self, job_id: str) -> bool:
        """Ask a job to stop (a queued one is cancelled at once).

        Args:
            job_id: The job.

        Returns:
            True if the job was active in this process.
        """
        event = self._cancel.get(job_id)
        with store.connect(self.db_path) as cur:
            cur.execute("UPDATE jobs SET cancel_requested = TRUE WHERE job_id = ? AND status IN ('queued', 'running')",
                        [job_id])
            cur.execute(
                "UPDATE jobs SET status = 'cancelled', finished_at = ?, error = ?"
                " WHERE job_id = ? AND status = 'queued'",
                [_now(), "cancelled by the user before it started", job_id],
            )
        if event is None:
            return False
        event.set()
        return True

    def run_again(self, job_id: str, *, inputs: Mapping[str, Any] | None = None,
                  user_id: str | None = None) -> str:
        """Submit a finished job's parameters again.

        Args:
            job_id: A failed, cancelled or interrupted job.
            inputs: Secrets for this submission (an API key).
            user_id: Who asks.

        Returns:
            The new job's id.

        Raises:
            UserError: If the job does not exist or is still active.
        """
        job = get_job(job_id, self.db_path)
        if job is None:
            raise UserError(f"no job {job_id!r}")
        if job.active:
            raise UserError(f"job {job_id} is still {job.status}")
        return self.submit(job.kind, job.params, title=job.title, inputs=inputs, user_id=user_id or job.user_id)

    def shutdown(self, wait: bool = True) -> None:
        """Cancel every job of this runner and stop its workers.

        Args:
            wait: Wait for running jobs to stop.
        """
        for event in self._cancel.values():
            event.set()
        self._pool.shutdown(wait=wait, cancel_futures=False)


_runners: dict[Path, JobRunner] = {}
_runners_lock = threading.Lock()


def runner(db_path: str | Path | None = None, workers: int | None = None) -> JobRunner:
    """This process's job runner for a database file (created on first use).

    Args:
        db_path: The DuckDB file (None → ``EMS_DB``).
        workers: Pool size on creation (None → ``EMS_JOB_WORKERS``, default 1).

    Returns:
        The runner.
    """
    from lib.config import get_settings

    path = store.resolve_path(db_path)
    with _runners_lock:
        r = _runners.get(path)
        if r is None:
            r = JobRunner(path, workers or get_settings().job_workers)
            _runners[path] = r
        return r


def _row_to_job(row: tuple[Any, ...], position: int | None) -> Job:
    (job_id, kind, title, status, created, started, finished, params, stage, fraction, eta, log_text,
     ref, error, cancel_req, user_id) = row
    return Job(
        job_id=job_id, kind=kind, title=title, status=status, created_at=created, started_at=started,
        finished_at=finished, params=json.loads(params), stage=stage, fraction=float(fraction or 0.0), eta_s=eta,
        log=tuple(line for line in (log_text or "").split("\n") if line), result_ref=ref, error=error,
        cancel_requested=bool(cancel_req), queue_position=position, user_id=user_id,
    )


_COLUMNS = ("job_id, kind, title, status, created_at, started_at, finished_at, params, stage, fraction, eta_s, log,"
            " result_ref, error, cancel_requested, user_id")


def list_jobs(db_path: str | Path | None = None, *, limit: int = 50, kinds: tuple[str, ...] | None = None,
              active_only: bool = False, user_id: str | None = None) -> list[Job]:
    """Jobs newest first, each queued one with its position in the (server-wide) queue.

    Args:
        db_path: The DuckDB file.
        limit: At most this many.
        kinds: Only these kinds.
        active_only: Only queued and running jobs.
        user_id: Only this person's jobs (team mode); None for every job.

    Returns:
        The jobs.
    """
    where: list[str] = []
    args: list[Any] = []
    if user_id is not None:
        where.append("user_id = ?")
        args.append(user_id)
    if kinds:
        where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
        args.extend(kinds)
    if active_only:
        where.append("status IN ('queued', 'running')")
    sql = f"SELECT {_COLUMNS} FROM jobs" + (f" WHERE {' AND '.join(where)}" if where else "")
    with store.connect(db_path) as cur:
        rows = cur.execute(sql + " ORDER BY created_at DESC, job_id DESC LIMIT ?", [*args, limit]).fetchall()
        queued = [r[0] for r in cur.execute(
            "SELECT job_id FROM jobs WHERE status = 'queued' ORDER BY created_at, job_id").fetchall()]
    pos = {jid: i + 1 for i, jid in enumerate(queued)}
    return [_row_to_job(r, pos.get(r[0])) for r in rows]


def check_limit(db_path: str | Path | None, user_id: str, max_jobs: int) -> None:
    """Refuse a new job when the person already has ``max_jobs`` queued or running.

    Args:
        db_path: The DuckDB file.
        user_id: Who submits.
        max_jobs: Their limit (0 = none).

    Raises:
        UserError: Naming the limit and its setting.
    """
    if max_jobs <= 0:
        return
    with store.connect(db_path) as cur:
        row = cur.execute("SELECT count(*) FROM jobs WHERE user_id = ? AND status IN ('queued', 'running')",
                          [user_id]).fetchone()
    if row and int(row[0]) >= max_jobs:
        raise UserError(f"you already have {int(row[0])} job(s) queued or running, the most one person may have at "
                        f"once on this server (EMS_MAX_JOBS_PER_USER={max_jobs}); wait for one to finish or cancel it")


def get_job(job_id: str, db_path: str | Path | None = None) -> Job | None:
    """One job, or None.

    Args:
        job_id: Its id.
        db_path: The DuckDB file.

    Returns:
        The job (with its queue position when queued).
    """
    with store.connect(db_path) as cur:
        row = cur.execute(f"SELECT {_COLUMNS} FROM jobs WHERE job_id = ?", [job_id]).fetchone()
        if row is None:
            return None
        position = None
        if row[3] == "queued":
            ahead = cur.execute(
                "SELECT count(*) FROM jobs WHERE status = 'queued' AND (created_at, job_id) < (?, ?)",
                [row[4], job_id],
            ).fetchone()
            position = int(ahead[0]) + 1 if ahead else 1
    return _row_to_job(row, position)


def run_foreground(kind: str, params: Mapping[str, Any], *, title: str, inputs: Mapping[str, Any] | None = None,
                   db_path: str | Path | None = None, echo: Callable[[str, float], None] | None = None,
                   user_id: str | None = None) -> tuple[Job, Any]:
    """Run a job in this thread (the CLI): the same handler and records as a background job.

    Args:
        kind: Job kind.
        params: What to run.
        title: One line for people.
        inputs: In-memory inputs (dataset, key).
        db_path: The DuckDB file.
        echo: ``echo(message, fraction)`` for each progress call (stderr in the CLI).
        user_id: Who runs it (the CLI's named local user).

    Returns:
        The finished job, and what the handler left in ``context.output`` (the CLI prints it).

    Raises:
        UserError: When the handler failed with a message for the user (the job is stored failed).
        KeyboardInterrupt: Ctrl-C (the job is stored cancelled).
    """
    handler = _handler(kind)
    job_id = _insert(db_path, kind, title, params, user_id, status="running")
    with store.connect(db_path) as cur:
        cur.execute("UPDATE jobs SET started_at = ? WHERE job_id = ?", [_now(), job_id])
    ctx = JobContext(job_id, db_path, threading.Event(), echo=echo)
    try:
        ref = handler(params, dict(inputs or {}), ctx)
    except KeyboardInterrupt:
        _finish(db_path, job_id, "cancelled", error="stopped with Ctrl-C")
        raise
    except UserError as exc:
        _finish(db_path, job_id, "failed", error=str(exc))
        raise
    except BaseException as exc:
        _finish(db_path, job_id, "failed", error=f"{type(exc).__name__}: {exc}")
        raise
    _finish(db_path, job_id, "done", result_ref=ref, fraction=1.0)
    job = get_job(job_id, db_path)
    assert job is not None
    return job, ctx.output


def recover_interrupted(cur: duckdb.DuckDBPyConnection, path: Path | None = None) -> list[str]:
    """Mark ``interrupted`` every job left queued or running by another process.

    Runs as a :func:`lib.store.on_open` hook: the process opening the file is then its only
    writer, so another owner's active job can never finish.

    Args:
        cur: A cursor on the open database.
        path: The file (unused).

    Returns:
        The ids of the jobs marked.
    """
    del path
    from lib.evaluation.runs import owner_token

    me = owner_token()
    stale = cur.execute(
        "SELECT job_id FROM jobs WHERE status IN ('queued', 'running') AND (owner IS NULL OR owner <> ?)", [me]
    ).fetchall()
    if stale:
        cur.execute(
            "UPDATE jobs SET status = 'interrupted', finished_at = ?, eta_s = NULL,"
            " error = 'the app stopped before this job finished (server restart or crash); nothing half-done was kept'"
            " WHERE status IN ('queued', 'running') AND (owner IS NULL OR owner <> ?)",
            [_now(), me],
        )
    return [str(r[0]) for r in stale]


store.on_open(recover_interrupted)
