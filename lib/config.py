"""Settings read from the environment, in one place.

Every setting has an environment variable so tests, CI and deployments can point the
app elsewhere without code changes. The README lists them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"

#: The Hugging Face dataset mteb's own leaderboard reads (``mteb/api/frames.py``).
MTEB_RESULTS_REPO = "mteb/results"


@dataclass(frozen=True)
class Settings:
    """Resolved settings.

    Attributes:
        db_path: The app's DuckDB file: runs, labels, everything the app writes (``EMS_DB``).
        leaderboard_db: The leaderboard's own DuckDB file, written only by a refresh (which
            swaps in a complete new file) and opened read-only everywhere else
            (``EMS_LEADERBOARD_DB``); None means ``leaderboard.duckdb`` beside the app's
            database (see :func:`leaderboard_path`).
        mteb_results: Local copy of ``mteb/results`` (a directory in the dataset layout or
            a parquet file), or None to download from the hub (``EMS_MTEB_RESULTS``).
        local_results: Optional folder of mteb result files in ``ResultCache`` layout for
            a team's own models (``EMS_LOCAL_RESULTS``).
        cache_dir: Where embedding caches and downloads live (``EMS_CACHE_DIR``).
        hub_timeout_s: Seconds before a hub request is abandoned (``EMS_HUB_TIMEOUT``).
        job_workers: Background jobs run at the same time by the app (``EMS_JOB_WORKERS``, default 1);
            more wait in the queue.
    """

    db_path: Path
    leaderboard_db: Path | None
    mteb_results: Path | None
    local_results: Path | None
    cache_dir: Path
    hub_timeout_s: float
    job_workers: int = 1


def _opt_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it when needed).

    Returns:
        The current settings.
    """
    return Settings(
        db_path=_opt_path("EMS_DB") or DATA_DIR / "ems.duckdb",
        leaderboard_db=_opt_path("EMS_LEADERBOARD_DB"),
        mteb_results=_opt_path("EMS_MTEB_RESULTS"),
        local_results=_opt_path("EMS_LOCAL_RESULTS"),
        cache_dir=_opt_path("EMS_CACHE_DIR") or DATA_DIR / "cache",
        hub_timeout_s=float(os.environ.get("EMS_HUB_TIMEOUT", "20")),
        job_workers=max(1, int(os.environ.get("EMS_JOB_WORKERS", "1") or 1)),
    )


#: The leaderboard file's name beside the app's database when ``EMS_LEADERBOARD_DB`` is unset.
LEADERBOARD_FILE = "leaderboard.duckdb"


def leaderboard_path(app_db: str | Path | None = None) -> Path:
    """The leaderboard file that goes with an app database.

    ``EMS_LEADERBOARD_DB`` when set (one leaderboard for every app database); otherwise
    ``leaderboard.duckdb`` in the app database's folder (``EMS_DB``'s when ``app_db`` is None),
    so ``data/ems.duckdb`` reads ``data/leaderboard.duckdb``.

    Args:
        app_db: The app's database file, or None for ``EMS_DB``.

    Returns:
        The leaderboard file (it may not exist yet).
    """
    settings = get_settings()
    if settings.leaderboard_db is not None:
        return settings.leaderboard_db
    base = Path(app_db).expanduser() if app_db else settings.db_path
    return base.parent / LEADERBOARD_FILE
