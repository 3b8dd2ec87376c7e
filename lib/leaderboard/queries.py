"""Read helpers over the leaderboard tables, for pages and reports (no mteb import)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from lib import store


@dataclass(frozen=True)
class Provenance:
    """Where the leaderboard data in the database came from.

    Attributes:
        refreshed_at: When the last refresh finished (UTC).
        source: The results source label (``mteb/results@sha`` or a local path).
        source_revision: The dataset commit or local fingerprint.
        local_results: The local result folder merged in, if any.
        mteb_version: The mteb version whose metadata and rules were used.
        n_rows: Result rows.
        n_local_rows: Rows from local result folders.
        n_models: Models with metadata.
        n_benchmarks: Benchmarks.
    """

    refreshed_at: datetime
    source: str
    source_revision: str | None
    local_results: str | None
    mteb_version: str
    n_rows: int
    n_local_rows: int
    n_models: int
    n_benchmarks: int


def provenance(db: str | Path | None = None) -> Provenance | None:
    """The latest refresh, or None when the database has no leaderboard data yet.

    Args:
        db: The DuckDB file.

    Returns:
        The provenance of the data shown.
    """
    with store.connect(db) as cur:
        row = cur.execute(
            """
            SELECT refreshed_at, source, source_revision, local_results, mteb_version,
                   n_rows, n_local_rows, n_models, n_benchmarks
            FROM refreshes ORDER BY id DESC LIMIT 1
            """
        ).fetchone()
    if row is None:
        return None
    return Provenance(
        refreshed_at=row[0],
        source=row[1],
        source_revision=row[2],
        local_results=row[3],
        mteb_version=row[4],
        n_rows=int(row[5]),
        n_local_rows=int(row[6]),
        n_models=int(row[7]),
        n_benchmarks=int(row[8]),
    )


def benchmarks(db: str | Path | None = None) -> pd.DataFrame:
    """Every benchmark, mteb's leaderboard ones first, with task counts.

    Args:
        db: The DuckDB file.

    Returns:
        Columns: name, display_name, description, reference, kind, on_leaderboard,
        n_tasks, superseded_by.
    """
    with store.connect(db) as cur:
        return cur.execute(
            """
            SELECT b.name, b.display_name, b.description, b.reference, b.kind, b.on_leaderboard,
                   count(t.task_name) AS n_tasks, b.superseded_by
            FROM benchmarks b LEFT JOIN benchmark_tasks t ON t.benchmark = b.name
            GROUP BY b.name, b.display_name, b.description, b.reference, b.kind, b.on_leaderboard,
                     b.superseded_by, b.position
            ORDER BY b.on_leaderboard DESC, b.superseded_by IS NOT NULL, b.position
            """
        ).df()


def benchmark_tasks(benchmark: str, db: str | Path | None = None) -> pd.DataFrame:
    """The tasks of a benchmark with their metadata.

    Args:
        benchmark: mteb's benchmark name.
        db: The DuckDB file.

    Returns:
        Columns: task_name, type, languages (benchmark-scoped), domains, main_score,
        modalities, is_public, description.
    """
    with store.connect(db) as cur:
        return cur.execute(
            """
            SELECT bt.task_name, t.type, bt.languages, t.domains, t.main_score, t.modalities,
                   t.is_public, t.description
            FROM benchmark_tasks bt LEFT JOIN tasks t ON t.name = bt.task_name
            WHERE bt.benchmark = ?
            ORDER BY bt.position
            """,
            [benchmark],
        ).df()


def models(db: str | Path | None = None) -> pd.DataFrame:
    """Every model's metadata row (mteb ModelMeta fields).

    Args:
        db: The DuckDB file.

    Returns:
        The ``models`` table as a DataFrame.
    """
    with store.connect(db) as cur:
        return cur.execute("SELECT * FROM models ORDER BY name").df()


def model(name: str, db: str | Path | None = None) -> dict[str, object] | None:
    """One model's metadata.

    Args:
        name: mteb's model name.
        db: The DuckDB file.

    Returns:
        Column → value, or None when unknown.
    """
    with store.connect(db) as cur:
        frame = cur.execute("SELECT * FROM models WHERE name = ?", [name]).df()
    return None if frame.empty else frame.iloc[0].to_dict()
