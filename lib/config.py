"""Settings read from the environment, in one place.

Every setting has an environment variable so tests, CI and deployments can point the
app elsewhere without code changes. The README lists them all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        max_documents: Most documents a dataset may hold (``EMS_MAX_DOCUMENTS``).
        ray_address: Ray cluster the evaluations encode on: ``auto`` or ``ray://host:port``
            (``EMS_RAY_ADDRESS``); None → in-process, or a local Ray instance for ``--engine ray``.
        ray_actors: Encoding actors, one model each (``EMS_RAY_ACTORS``; None → one per GPU, else
            one per CPU minus one for the driver, at least one).
        ray_batch_size: Texts per actor call and per cache shard written back (``EMS_RAY_BATCH_SIZE``).
        ray_gpus_per_actor: GPUs each actor reserves (``EMS_RAY_GPUS_PER_ACTOR``; None → 1 when
            the cluster has GPUs, else 0).
        topk_block: Documents per block of the exact top-k search (``EMS_TOPK_BLOCK``).
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

    max_documents: int = 2_000_000
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_batch_size: int = 1024
    ray_gpus_per_actor: float | None = None
    topk_block: int = 65_536


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


def _number(name: str, default: float | None, *, integer: bool = True, zero: bool = False) -> Any:
    """A positive number from the environment (blank → default), or a UserError naming the variable."""
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        value = -1
    if value < 0 or (value == 0 and not zero):
        kind = "whole number" if integer else "number"
        raise UserError(f"{name} must be a {'non-negative' if zero else 'positive'} {kind}, not {raw!r}")
    return value


def _ray_address() -> str | None:
    value = os.environ.get("EMS_RAY_ADDRESS", "").strip()
    if not value:
        return None
    if value != "auto" and not re.fullmatch(r"(ray://)?[A-Za-z0-9.\-\[\]:]+:\d+", value):
        raise UserError(f"EMS_RAY_ADDRESS must be 'auto' or ray://host:port (or host:port), not {value!r}")
    return value


def get_settings() -> Settings:
    """Read the settings from the environment (cheap; call it when needed).

    Returns:
        The current settings.

    Raises:
        UserError: A flag, count or numeric setting that is malformed, or a malformed ``EMS_RAY_ADDRESS``
            (the message names it).
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
        max_documents=_number("EMS_MAX_DOCUMENTS", 2_000_000),
        ray_address=_ray_address(),
        ray_actors=_number("EMS_RAY_ACTORS", None),
        ray_batch_size=_number("EMS_RAY_BATCH_SIZE", 1024),
        ray_gpus_per_actor=_number("EMS_RAY_GPUS_PER_ACTOR", None, integer=False, zero=True),
        topk_block=_number("EMS_TOPK_BLOCK", 65_536),
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
