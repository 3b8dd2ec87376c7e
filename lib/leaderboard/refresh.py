"""Build the leaderboard file from mteb/results and mteb's metadata, and swap it in.

A refresh reads the ``mteb/results`` parquet files (hub download or local copy), the
optional local mteb result folders, and mteb's metadata; it writes every leaderboard table
into a brand-new file and swaps that file in whole (:func:`lib.leaderboard.store.build`), so
readers — the running app, ``python -m lib leaderboard`` — see either the old data or the
new data, never a mix, and never wait for the refresh. A failed refresh leaves the old file
in place and no temporary file behind. The app's own database is not touched at all, so a
refresh runs while the app runs; the app reads the new file on its next read.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from lib.config import get_settings
from lib.leaderboard import store as lbstore
from lib.leaderboard.sources import ResultsSource, resolve_source

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RefreshSummary:
    """What a refresh did.

    Attributes:
        source: Label of the results source.
        source_revision: Dataset commit or local fingerprint.
        n_rows: Result rows stored (hub + local).
        n_local_rows: Rows that came from local result folders.
        n_models: Models in the metadata table.
        n_tasks: Tasks in the metadata table.
        n_benchmarks: Benchmarks in the metadata table.
        seconds: Wall time of the refresh.
        source_kind: How the source was chosen (``path``, ``env``, ``hub``, ``snapshot``).
        source_date: Date of the results themselves, when known.
        source_line: One line saying which source was used, its date, and why.
    """

    source: str
    source_revision: str
    n_rows: int
    n_local_rows: int
    n_models: int
    n_tasks: int
    n_benchmarks: int
    seconds: float
    source_kind: str = "path"
    source_date: date | None = None
    source_line: str = ""


def _noop(_: str) -> None:
    return None


def refresh(
    db: str | Path | None = None,
    *,
    results: Path | None = None,
    local_results: Path | None = None,
    progress: Progress | None = None,
) -> RefreshSummary:
    """Refresh the leaderboard: write a new leaderboard file and swap it in.

    Args:
        db: The app database whose leaderboard file to replace (default ``EMS_DB``; the file
            is ``EMS_LEADERBOARD_DB`` or ``leaderboard.duckdb`` beside it).
        results: A local copy of ``mteb/results``; default ``EMS_MTEB_RESULTS``, else the hub.
        local_results: A folder of mteb result files for the team's own models; default
            ``EMS_LOCAL_RESULTS`` (optional).
        progress: Called with one line per step.

    Returns:
        A summary of what was stored.
    """
    say = progress or _noop
    t0 = time.perf_counter()
    source: ResultsSource = resolve_source(results)
    say(f"{source.describe()}; {len(source.files)} parquet file(s)")
    local = local_results or get_settings().local_results

    # mteb is imported only here, on refresh.
    from lib.leaderboard import metadata as md

    say("reading mteb metadata (models, tasks, benchmarks)…")
    models = md.models_frame()
    tasks = md.tasks_frame()
    benchmarks, bench_tasks, scope = md.benchmark_frames()
    local_rows = pd.DataFrame()
    if local is not None:
        say(f"reading local mteb results from {local}…")
        local_rows, extra_models = md.local_results_frames(Path(local))
        if not extra_models.empty:
            models = pd.concat([models, extra_models], ignore_index=True)
    files = [str(f) for f in source.files]
    past = lbstore.history(db)  # the new file keeps the refresh history of the one it replaces

    say(f"writing a new leaderboard file, swapped in when complete ({lbstore.resolve_path(db)})…")
    with lbstore.build(db) as con:
        distinct = con.execute(
            "SELECT DISTINCT experiments FROM read_parquet(?, union_by_name = true)", [files]
        ).fetchall()
        exp_map = md.experiment_ids([r[0] for r in distinct])
        exp_frame = pd.DataFrame(
            {"exp_key": [None if k is None else str(k) for k in exp_map], "experiment_id": list(exp_map.values())}
        )
        cur = con
        cur.execute("BEGIN TRANSACTION")  # rolled back with the whole file if anything fails
        cur.register("exp_frame", exp_frame)
        cur.execute(
            """
            INSERT INTO mteb_results BY NAME
            SELECT (list_position(?, r.filename) - 1) * 10000000000 + r.file_row_number AS row_id,
                   r.model_name, r.model_revision, r.task_name, r.split, r.subset,
                   r.language, r.score, coalesce(e.experiment_id, '') AS experiment_id,
                   r.is_public, r.trained_on, 'mteb/results' AS source
            FROM read_parquet(?, union_by_name = true, filename = true, file_row_number = true) r
            LEFT JOIN exp_frame e ON e.exp_key IS NOT DISTINCT FROM CAST(r.experiments AS VARCHAR)
            """,
            [files, files],
        )
        n_local = 0
        if not local_rows.empty:
            local_exp = local_rows["experiments"].astype(object).where(local_rows["experiments"].notna(), None)
            local_map = md.experiment_ids(list(dict.fromkeys(local_exp)))
            local_rows = local_rows.assign(
                experiment_id=[local_map.get(v, "") for v in local_exp], source="local"
            ).drop(columns=["experiments"])
            cur.register("local_rows", local_rows)
            # A local result replaces the published one for the same model revision and task.
            cur.execute(
                """
                DELETE FROM mteb_results r USING (
                    SELECT DISTINCT model_name, model_revision, task_name FROM local_rows
                ) l
                WHERE r.model_name = l.model_name
                  AND r.model_revision IS NOT DISTINCT FROM l.model_revision
                  AND r.task_name = l.task_name
                """
            )
            cur.execute(
                """
                INSERT INTO mteb_results BY NAME
                SELECT (SELECT coalesce(max(row_id), 0) FROM mteb_results) + row_number() OVER () AS row_id, *
                FROM local_rows
                """
            )
            n_local = len(local_rows)
        for table, frame in (
            ("models", models),
            ("tasks", tasks),
            ("benchmarks", benchmarks),
            ("benchmark_tasks", bench_tasks),
            ("benchmark_scope", scope),
        ):
            cur.register("frame", frame)
            cur.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
            cur.unregister("frame")
        row = cur.execute("SELECT count(*) FROM mteb_results").fetchone()
        n_rows = int(row[0]) if row else 0
        seconds = time.perf_counter() - t0
        for past_row in past:
            cur.execute(f"INSERT INTO refreshes VALUES ({', '.join('?' * len(past_row))})", list(past_row))
        cur.execute(
            """
            INSERT INTO refreshes (id, refreshed_at, source, source_revision, local_results,
                mteb_version, n_rows, n_local_rows, n_models, n_tasks, n_benchmarks, seconds,
                source_kind, source_date, source_note)
            SELECT coalesce(max(id), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM refreshes
            """,
            [
                datetime.now(UTC).replace(tzinfo=None),
                source.label,
                source.revision,
                str(local) if local else None,
                md.mteb_version(),
                n_rows,
                n_local,
                len(models),
                len(tasks),
                len(benchmarks),
                seconds,
                source.kind,
                source.data_date,
                source.note or None,
            ],
        )
        cur.execute("COMMIT")
    seconds = time.perf_counter() - t0  # with the checkpoint and the swap
    say(f"done: {n_rows:,} result rows, {len(models)} models, {len(benchmarks)} benchmarks in {seconds:.1f}s")
    return RefreshSummary(
        source=source.label,
        source_revision=source.revision,
        n_rows=n_rows,
        n_local_rows=n_local,
        n_models=len(models),
        n_tasks=len(tasks),
        n_benchmarks=len(benchmarks),
        seconds=seconds,
        source_kind=source.kind,
        source_date=source.data_date,
        source_line=source.describe(),
    )
