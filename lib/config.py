"""Settings read from the environment, in one place.

Every setting has an environment variable so tests, CI and deployments can point the
app elsewhere without code changes. The README lists them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lib.errors import UserError

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
        team_mode: Serve a team: sign-in required and data kept per person, even on loopback
            (``EMS_TEAM_MODE``; a non-loopback ``server.address`` turns it on by itself, see
            :mod:`lib.team`).
        allow_anonymous: The documented opt-out: serve other machines without sign-in, everyone
            acting as the one local user (``EMS_ALLOW_ANONYMOUS``).
        user: The local user's name for the CLI and the app on loopback (``EMS_USER``; blank →
            the OS login name).
        max_jobs_per_user: Evaluations one signed-in person may run at once (``EMS_MAX_JOBS_PER_USER``;
            0 = no limit).
        max_upload_mb_per_user: Megabytes of uploads one signed-in person may keep
            (``EMS_MAX_UPLOAD_MB_PER_USER``; 0 = no limit).
        serve_address: The address ``make serve`` binds (``EMS_SERVE_ADDRESS``).
        serve_port: The port ``make serve`` listens on (``EMS_SERVE_PORT``).
    """

    db_path: Path
    leaderboard_db: Path | None
    mteb_results: Path | None
    local_results: Path | None
    cache_dir: Path
    hub_timeout_s: float
    job_workers: int = 1
    team_mode: bool = False
    allow_anonymous: bool = False
    user: str = ""
    max_jobs_per_user: int = 2
    max_upload_mb_per_user: int = 1000
    serve_address: str = "0.0.0.0"  # every interface: what serving a team means
    serve_port: int = 8501


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise UserError(f"{name}={os.environ[name]!r}: use 1 or 0 (true/false, yes/no, on/off)")


def _count(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise UserError(f"{name}={value!r}: give a whole number, 0 or more")
    return number


def _opt_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it when needed).

    Returns:
        The current settings.

    Raises:
        UserError: A flag or count that is not one (e.g. ``EMS_MAX_JOBS_PER_USER=two``).
    """
    return Settings(
        db_path=_opt_path("EMS_DB") or DATA_DIR / "ems.duckdb",
        leaderboard_db=_opt_path("EMS_LEADERBOARD_DB"),
        mteb_results=_opt_path("EMS_MTEB_RESULTS"),
        local_results=_opt_path("EMS_LOCAL_RESULTS"),
        cache_dir=_opt_path("EMS_CACHE_DIR") or DATA_DIR / "cache",
        hub_timeout_s=float(os.environ.get("EMS_HUB_TIMEOUT", "20")),
        job_workers=max(1, int(os.environ.get("EMS_JOB_WORKERS", "1") or 1)),
        team_mode=_flag("EMS_TEAM_MODE"),
        allow_anonymous=_flag("EMS_ALLOW_ANONYMOUS"),
        user=os.environ.get("EMS_USER", "").strip(),
        max_jobs_per_user=_count("EMS_MAX_JOBS_PER_USER", 2),
        max_upload_mb_per_user=_count("EMS_MAX_UPLOAD_MB_PER_USER", 1000),
        serve_address=os.environ.get("EMS_SERVE_ADDRESS", "").strip() or "0.0.0.0",
        serve_port=_count("EMS_SERVE_PORT", 8501),
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
