"""Evaluation runs in DuckDB: lifecycle, and reading them back for pages.

Lifecycle: :func:`start_run` inserts the run as ``running`` (committed at once, so a
crash leaves a visible ``running`` row, never a ``done`` one); :func:`complete_run`
writes every result row *and* flips the status to ``done`` in one transaction;
:func:`fail_run` records ``failed`` with the error text.

Crash recovery: each run records its owner, this process's :func:`owner_token`. DuckDB
lets one process hold the file, so when a process opens it (a :func:`lib.store.on_open`
hook), any run still ``running`` under another owner belongs to a process that is gone —
killed, crashed, or stopped mid-run — and is marked ``failed`` with an error starting
``interrupted:``. Runs of the opening process itself are never touched: the app runs
several evaluations at once in threads, and one of them may be in flight.

People (team mode, ``lib/migrations/0007_team.sql``): ``owner`` is the *process*; the *person*
a run belongs to is ``user_id``, and ``shared`` says whether they shared it. :func:`start_run`
records the person and can refuse a person already at their limit of runs at once; who may see,
share or delete a run is :mod:`lib.team`'s business.

Reading (for pages and the CLI): :func:`list_runs`, :func:`load_run` (a
:class:`StoredRun` with the summary table, per-query metrics, top-k lists, paired
comparisons, sweep and model rows), :func:`delete_run`.

Tables come from ``lib/migrations/0002_evaluation.sql`` (truncation and chunk columns of
``eval_run_models`` from ``0006_truncation_chunks.sql``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from lib import store
from lib.errors import UserError

_RESULT_TABLES = (
    "eval_run_models",
    "eval_summary",
    "eval_query_metrics",
    "eval_topk",
    "eval_pairs",
    "eval_sweep",
    "eval_fusion_sweep",
)
_COLUMNS: dict[str, list[str]] = {
    "eval_run_models": [
        "run_id", "model", "position", "kind", "name", "revision", "identity", "dim",
        "similarity", "load_s", "encode_docs_s", "encode_queries_s", "search_s",
        "docs_per_s", "queries_per_s", "latency_p50_ms", "latency_p95_ms", "index_bytes",
        "api_tokens", "api_requests", "api_cost_usd", "cache_hits", "cache_misses",
        # 0006: truncation and chunking (NULL for runs stored before)
        "token_limit", "doc_tokens_p50", "doc_tokens_p95", "doc_tokens_max", "truncated_docs_share",
        "truncated_tokens_share", "n_chunks", "chunk_tokens", "chunk_overlap", "truncation_note",
        "truncation_source",
    ],
    "eval_summary": ["run_id", "model", "metric", "mean", "ci_low", "ci_high", "n_queries",
                     "tie_group"],
    "eval_query_metrics": ["run_id", "model", "query_id", "metric", "value"],
    "eval_topk": ["run_id", "model", "query_id", "doc_ids", "scores"],
    "eval_pairs": ["run_id", "metric", "model_a", "model_b", "mean_diff", "ci_low", "ci_high",
                   "p_value", "n_queries"],
    "eval_sweep": ["run_id", "model", "dim", "precision", "index_bytes", "metric", "mean",
                   "ci_low", "ci_high"],
    # 0010: a score-fusion hybrid's metrics over its fusion weight
    "eval_fusion_sweep": ["run_id", "model", "kind", "alpha", "metric", "mean", "ci_low", "ci_high",
                          "n_queries", "note"],
}


#: Errors of runs that stopped without finishing start with this (see :func:`is_interrupted`).
INTERRUPTED = "interrupted: "
#: Errors of runs whose job was cancelled by its user start with this (see :func:`is_cancelled`).
CANCELLED = "cancelled: "

_token: tuple[int, str] | None = None
# Serialises "count this person's running runs, then insert" (see start_run's max_running).
_start_lock = threading.Lock()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def owner_token() -> str:
    """This process's identity as recorded in the runs it starts: ``host/pid/boot id``.

    The random boot id tells a new process apart from an old one that had the same PID
    (PIDs are reused); it is renewed in a forked child, which is a different process.

    Returns:
        The token.
    """
    global _token
    pid = os.getpid()
    if _token is None or _token[0] != pid:
        _token = (pid, f"{socket.gethostname()}/{pid}/{uuid.uuid4().hex[:12]}")
    return _token[1]


def is_interrupted(status: object, error: object) -> bool:
    """Whether a run stopped without finishing (process killed, page left, Ctrl-C).

    Args:
        status: The run's status.
        error: Its error text (may be None or NaN).

    Returns:
        True for a failed run whose error says it was interrupted.
    """
    if status != "failed" or not isinstance(error, str):
        return False
    # Runs stored before the engine wrote "interrupted: …" carry the exception's name.
    return error.startswith(INTERRUPTED) or error.split(":", 1)[0] in (
        "StopException", "RerunException", "KeyboardInterrupt", "SystemExit",
    )


def is_cancelled(status: object, error: object) -> bool:
    """Whether a run stopped because its user cancelled the job.

    Args:
        status: The run's status.
        error: Its error text (may be None or NaN).

    Returns:
        True for a failed run whose error says it was cancelled.
    """
    return status == "failed" and isinstance(error, str) and error.startswith(CANCELLED)


def _describe_owner(owner: str | None) -> str:
    if not owner:
        return "the process that started it"
    host, _, rest = owner.partition("/")
    pid = rest.partition("/")[0]
    return f"process {pid} on {host}" if pid else owner


def recover_interrupted(cur: duckdb.DuckDBPyConnection, path: Path | None = None) -> list[str]:
    """Mark ``failed`` every run left ``running`` by another process.

    Safe only while this process holds the database file (it then is the only writer,
    so another owner's ``running`` row can never finish). :mod:`lib.store` calls it when
    this process opens a file.

    Args:
        cur: A cursor on the open database.
        path: The file (part of the store's hook signature; not needed here).

    Returns:
        The ids of the runs marked.
    """
    del path
    me = owner_token()
    stale = cur.execute(
        "SELECT run_id, owner FROM eval_runs WHERE status = 'running' AND (owner IS NULL OR owner <> ?)",
        [me],
    ).fetchall()
    if not stale:
        return []
    found = _now()
    cur.execute("BEGIN TRANSACTION")
    try:
        for run_id, owner in stale:
            reason = (
                f"{INTERRUPTED}the app stopped during this run ({_describe_owner(owner)} ended before the run "
                f"finished; found {found:%Y-%m-%d %H:%M} UTC)"
            )
            # Only 'running' rows change: a row this hook did not select stays as it is.
            cur.execute(
                "UPDATE eval_runs SET status = 'failed', finished_at = ?, error = ?"
                " WHERE run_id = ? AND status = 'running'",
                [found, reason, run_id],
            )
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return [str(r[0]) for r in stale]


def start_run(
    db_path: str | Path | None,
    *,
    run_id: str,
    dataset: dict[str, Any],
    k: int,
    models: list[str],
    config: dict[str, Any],
    environment: dict[str, Any],
    user_id: str | None = None,
    max_running: int = 0,
) -> None:
    """Insert a run with status ``running``, started by this process for ``user_id``.

    Args:
        db_path: DuckDB file (None → ``EMS_DB``).
        run_id: New unique id.
        dataset: ``name``, ``source``, ``split``, ``fingerprint``, ``n_docs``,
            ``n_queries``, ``n_qrels``.
        k: The user's cut-off.
        models: Model specs in order.
        config: JSON-able configuration.
        environment: JSON-able environment description.
        user_id: The person the run belongs to (``lib.team``; None: nobody recorded).
        max_running: With ``user_id``: refuse when that person already has this many runs
            ``running`` (0 = no limit). Counting and inserting happen under one lock, so two
            tabs starting at once cannot both slip under the limit.

    Raises:
        UserError: When the person is at ``max_running``; nothing is stored then.
    """
    with _start_lock, store.transaction(db_path) as cur:
        if user_id is not None and max_running > 0:
            row = cur.execute(
                "SELECT count(*) FROM eval_runs WHERE status = 'running' AND user_id = ?", [user_id]
            ).fetchall()[0]
            if int(row[0]) >= max_running:
                raise UserError(
                    f"you already have {int(row[0])} evaluation(s) running, the most one person may run at once "
                    f"on this server (EMS_MAX_JOBS_PER_USER={max_running}); wait until one finishes (see the "
                    "Runs page), then start this one again"
                )
        cur.execute(
            "INSERT INTO eval_runs (run_id, status, created_at, dataset_name, dataset_source,"
            " dataset_split, dataset_fingerprint, n_docs, n_queries, n_qrels, k, models,"
            " config, environment, owner, user_id, shared)"
            " VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)",
            [
                run_id, _now(), dataset["name"], dataset["source"], dataset["split"],
                dataset["fingerprint"], dataset["n_docs"], dataset["n_queries"],
                dataset["n_qrels"], k, json.dumps(models), json.dumps(config, default=str),
                json.dumps(environment, default=str), owner_token(), user_id,
            ],
        )


def complete_run(
    db_path: str | Path | None,
    run_id: str,
    tables: dict[str, pd.DataFrame],
    wall_time_s: float,
) -> None:
    """Write all result rows and mark the run ``done``, atomically.

    Args:
        db_path: DuckDB file.
        run_id: The run.
        tables: DataFrames keyed by result table name (columns as in the schema, without
            ``run_id``).
        wall_time_s: Wall time of the whole evaluation.

    Raises:
        UserError: If the run is no longer ``running`` (deleted, or marked interrupted
            while this process had let go of the file); nothing is written then.
    """
    with store.transaction(db_path) as cur:
        # fetchall, not fetchone: DuckDB refuses further work on a cursor with an unfinished result.
        found = cur.execute("SELECT status FROM eval_runs WHERE run_id = ?", [run_id]).fetchall()
        row = found[0] if found else None
        if row is None or row[0] != "running":
            # Result rows of a run that is not 'running' would turn a failed run into a
            # half-shown one; refuse, and the transaction rolls back.
            state = "deleted" if row is None else f"marked {row[0]}"
            raise UserError(f"run {run_id} was {state} before it finished; its results were not saved")
        for table in _RESULT_TABLES:
            frame = tables.get(table)
            if frame is None or frame.empty:
                continue
            frame = frame.assign(run_id=run_id)
            cols = _COLUMNS[table]
            for c in cols:
                if c not in frame.columns:
                    frame[c] = None
            view = f"_eval_{table}"
            # Bulk insert from a registered DataFrame: values never enter SQL text.
            # (The cursor, and the view with it, is closed when the transaction ends.)
            cur.register(view, frame[cols])
            cur.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM {view}"
            )
            cur.unregister(view)
        cur.execute(
            "UPDATE eval_runs SET status = 'done', finished_at = ?, wall_time_s = ?"
            " WHERE run_id = ? AND status = 'running'",
            [_now(), wall_time_s, run_id],
        )


def fail_run(db_path: str | Path | None, run_id: str, error: str) -> None:
    """Mark a run ``failed`` (its partial results were never written).

    Args:
        db_path: DuckDB file.
        run_id: The run.
        error: What went wrong (one line).
    """
    with store.transaction(db_path) as cur:
        cur.execute(
            "UPDATE eval_runs SET status = 'failed', finished_at = ?, error = ?"
            " WHERE run_id = ? AND status = 'running'",
            [_now(), error[:2000], run_id],
        )


def list_runs(db_path: str | Path | None = None) -> pd.DataFrame:
    """All runs, newest first.

    Args:
        db_path: DuckDB file.

    Returns:
        One row per run: id, status, times, dataset, counts, models, error, ``user_id``
        and ``shared`` (who it belongs to, and whether they shared it: :mod:`lib.team`), and
        ``interrupted`` (True for a failed run that stopped without finishing — its
        process was killed, the page was left; ``error`` then says which).
    """
    with store.connect(db_path) as cur:
        df = cur.execute(
            "SELECT run_id, status, created_at, finished_at, wall_time_s, dataset_name,"
            " dataset_split, n_docs, n_queries, n_qrels, k, models, error, user_id,"
            " coalesce(shared, false) AS shared"
            " FROM eval_runs ORDER BY created_at DESC, run_id DESC"
        ).df()
    df["interrupted"] = [is_interrupted(s, e) for s, e in zip(df["status"], df["error"], strict=True)]
    return df


@dataclass(frozen=True)
class StoredRun:
    """A run read back from the store.

    Attributes:
        run: The ``eval_runs`` row as a dict (``config``/``environment`` parsed).
        models: Model rows (identity and cost of use), in run order.
        summary: Mean and 95 % CI per model and metric (long form).
        per_query: Per-query metrics, one row per (model, query), one column per metric.
        topk: Top-k ids and scores per (model, query).
        pairs: Paired comparisons.
        sweep: Dimension × precision results.
        fusion_sweep: Score-fusion hybrids' metrics over the fusion weight α (and the
            cross-validated row per metric); empty for runs without one.
    """

    run: dict[str, Any]
    models: pd.DataFrame
    summary: pd.DataFrame
    per_query: pd.DataFrame
    topk: pd.DataFrame
    pairs: pd.DataFrame
    sweep: pd.DataFrame
    fusion_sweep: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary_table(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """Wide table: one row per model, ``metric``, ``metric_low``, ``metric_high``.

        Args:
            metrics: Metrics to include (default all, in stored order).

        Returns:
            The table, in model order.
        """
        return summary_wide(self.summary, list(self.models["model"]), metrics)


def summary_wide(
    summary: pd.DataFrame, model_order: list[str], metrics: list[str] | None = None
) -> pd.DataFrame:
    """Pivot the long summary to one row per model with mean and CI columns.

    Args:
        summary: Long form (model, metric, mean, ci_low, ci_high).
        model_order: Row order.
        metrics: Metrics to include (default all, first-seen order).

    Returns:
        Wide DataFrame indexed by model.
    """
    names = metrics or list(dict.fromkeys(summary["metric"]))
    rows = []
    for model in model_order:
        sub = summary[summary["model"] == model].set_index("metric")
        row: dict[str, Any] = {"model": model}
        for m in names:
            if m in sub.index:
                row[m] = sub.at[m, "mean"]
                row[f"{m} low"] = sub.at[m, "ci_low"]
                row[f"{m} high"] = sub.at[m, "ci_high"]
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def load_run(run_id: str, db_path: str | Path | None = None) -> StoredRun:
    """Read one run and all its results.

    Args:
        run_id: The run.
        db_path: DuckDB file.

    Returns:
        The stored run.

    Raises:
        UserError: If there is no such run.
    """
    with store.connect(db_path) as cur:
        run_df = cur.execute("SELECT * FROM eval_runs WHERE run_id = ?", [run_id]).df()
        if run_df.empty:
            raise UserError(f"no evaluation run with id {run_id!r}")
        run = run_df.iloc[0].to_dict()
        for key in ("config", "environment", "models"):
            run[key] = json.loads(run[key])

        def q(sql: str) -> pd.DataFrame:
            return cur.execute(sql, [run_id]).df()

        models = q("SELECT * EXCLUDE (run_id) FROM eval_run_models WHERE run_id = ?"
                   " ORDER BY position")
        summary = q("SELECT * EXCLUDE (run_id) FROM eval_summary WHERE run_id = ?")
        long = q("SELECT model, query_id, metric, value FROM eval_query_metrics WHERE run_id = ?")
        topk = q("SELECT model, query_id, doc_ids, scores FROM eval_topk WHERE run_id = ?"
                 " ORDER BY model, query_id")
        pairs = q("SELECT * EXCLUDE (run_id) FROM eval_pairs WHERE run_id = ?")
        sweep = q("SELECT * EXCLUDE (run_id) FROM eval_sweep WHERE run_id = ?"
                  " ORDER BY model, dim, precision")
        fusion_sweep = q("SELECT * EXCLUDE (run_id) FROM eval_fusion_sweep WHERE run_id = ?"
                         " ORDER BY model, metric, kind, alpha")
    if long.empty:
        per_query = pd.DataFrame(columns=["model", "query_id"])
    else:
        metric_order = list(dict.fromkeys(summary["metric"])) or list(dict.fromkeys(long["metric"]))
        per_query = long.pivot_table(
            index=["model", "query_id"], columns="metric", values="value", aggfunc="first"
        )
        per_query = per_query[[m for m in metric_order if m in per_query.columns]].reset_index()
        per_query.columns.name = None
    return StoredRun(run, models, summary, per_query, topk, pairs, sweep, fusion_sweep)


def delete_run(run_id: str, db_path: str | Path | None = None) -> bool:
    """Delete a run and all its rows.

    Args:
        run_id: The run.
        db_path: DuckDB file.

    Returns:
        True if the run existed.
    """
    with store.transaction(db_path) as cur:
        row = cur.execute("SELECT count(*) FROM eval_runs WHERE run_id = ?", [run_id]).fetchone()
        if not row or not row[0]:
            return False
        for table in _RESULT_TABLES:
            cur.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        cur.execute("DELETE FROM eval_runs WHERE run_id = ?", [run_id])
    return True


def row_counts(db_path: str | Path | None = None) -> dict[str, int]:
    """Rows per evaluation table (used to check that invalid input stores nothing).

    Args:
        db_path: DuckDB file.

    Returns:
        Table name → row count.
    """
    out: dict[str, int] = {}
    with store.connect(db_path) as cur:
        for table in ("eval_runs", *_RESULT_TABLES):
            row = cur.execute(f"SELECT count(*) FROM {table}").fetchone()
            out[table] = int(row[0]) if row else 0
    return out


store.on_open(recover_interrupted)
