"""Read helpers over the leaderboard tables, for pages and reports (no mteb import)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from lib.leaderboard import store as lbstore


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
        source_kind: How the source was chosen (``path``, ``env``, ``hub``, ``snapshot``);
            None for refreshes stored before this was recorded.
        source_date: Date of the results themselves, when known.
        source_note: Why a fallback source was used, if one was.
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
    source_kind: str | None = None
    source_date: date | None = None
    source_note: str | None = None


#: Results older than this many days are called out as stale wherever they are shown.
STALE_AFTER_DAYS = 90
#: The one action that brings newer results.
REFRESH_ACTION = (
    "run `python -m lib refresh` with access to huggingface.co (the app can keep running: it reads the new "
    "data as soon as the refresh swaps it in)"
)


@dataclass(frozen=True)
class Freshness:
    """How old the leaderboard's results are, said once for the sidebar and every report.

    Attributes:
        source: What the results are (``the bundled snapshot mteb/results@…``, a hub commit, a path).
        data_date: Date of the results, or None when the source does not say.
        age_days: Days between that date and today, or None.
        stale: True when older than :data:`STALE_AFTER_DAYS`.
        line: One sentence naming the source and its date.
        warning: When stale, the plain warning with the one action that refreshes; else "".
    """

    source: str
    data_date: date | None
    age_days: int | None
    stale: bool
    line: str
    warning: str


def freshness(prov: Provenance, today: date | None = None) -> Freshness:
    """Name the source of the results and its date, and say plainly when it is stale.

    Args:
        prov: The latest refresh.
        today: The reference day (default: today, UTC).

    Returns:
        The freshness facts and sentences.
    """
    from lib.leaderboard.sources import KIND_LABELS

    today = today or datetime.now(UTC).date()
    what = f"{KIND_LABELS[prov.source_kind]}: {prov.source}" if prov.source_kind in KIND_LABELS else prov.source
    if prov.source_date is None:
        return Freshness(what, None, None, False,
                         f"MTEB results from {what} (date of the results unknown; loaded "
                         f"{prov.refreshed_at:%Y-%m-%d}).", "")
    age = (today - prov.source_date).days
    stale = age > STALE_AFTER_DAYS
    line = f"MTEB results from {what}, dated {prov.source_date.isoformat()} ({age} days old)."
    warning = (f"These results are {age} days old, older than {STALE_AFTER_DAYS} days: newer models and "
               f"scores are missing. To refresh, {REFRESH_ACTION}.") if stale else ""
    return Freshness(what, prov.source_date, age, stale, line, warning)


def provenance(db: str | Path | None = None) -> Provenance | None:
    """The latest refresh, or None when no leaderboard has been loaded yet.

    Args:
        db: The app database whose leaderboard to read (the file is
            :func:`lib.leaderboard.store.resolve_path`'s).

    Returns:
        The provenance of the data shown; None when the leaderboard file does not exist yet
        or was written by another schema version (a refresh replaces it).
    """
    try:
        with lbstore.connect(db) as cur:
            row = cur.execute(
                """
                SELECT refreshed_at, source, source_revision, local_results, mteb_version,
                       n_rows, n_local_rows, n_models, n_benchmarks, source_kind, source_date, source_note
                FROM refreshes ORDER BY id DESC LIMIT 1
                """
            ).fetchone()
    except lbstore.NoLeaderboardError:
        return None
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
        source_kind=row[9],
        source_date=row[10],
        source_note=row[11],
    )


def benchmarks(db: str | Path | None = None) -> pd.DataFrame:
    """Every benchmark, mteb's leaderboard ones first, with task counts.

    Args:
        db: The app database whose leaderboard to read.

    Returns:
        Columns: name, display_name, description, reference, kind, on_leaderboard,
        n_tasks, superseded_by.
    """
    with lbstore.connect(db) as cur:
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
        db: The app database whose leaderboard to read.

    Returns:
        Columns: task_name, type, languages (benchmark-scoped), domains, main_score,
        modalities, is_public, description.
    """
    with lbstore.connect(db) as cur:
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
        db: The app database whose leaderboard to read.

    Returns:
        The ``models`` table as a DataFrame.
    """
    with lbstore.connect(db) as cur:
        return cur.execute("SELECT * FROM models ORDER BY name").df()


def model(name: str, db: str | Path | None = None) -> dict[str, object] | None:
    """One model's metadata.

    Args:
        name: mteb's model name.
        db: The app database whose leaderboard to read.

    Returns:
        Column → value, or None when unknown.
    """
    with lbstore.connect(db) as cur:
        frame = cur.execute("SELECT * FROM models WHERE name = ?", [name]).df()
    return None if frame.empty else frame.iloc[0].to_dict()
