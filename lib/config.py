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
        db_path: The DuckDB file (``EMS_DB``).
        mteb_results: Local copy of ``mteb/results`` (a directory in the dataset layout or
            a parquet file), or None to download from the hub (``EMS_MTEB_RESULTS``).
        local_results: Optional folder of mteb result files in ``ResultCache`` layout for
            a team's own models (``EMS_LOCAL_RESULTS``).
        cache_dir: Where embedding caches and downloads live (``EMS_CACHE_DIR``).
        hub_timeout_s: Seconds before a hub request is abandoned (``EMS_HUB_TIMEOUT``).
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
    mteb_results: Path | None
    local_results: Path | None
    cache_dir: Path
    hub_timeout_s: float
    max_documents: int = 2_000_000
    ray_address: str | None = None
    ray_actors: int | None = None
    ray_batch_size: int = 1024
    ray_gpus_per_actor: float | None = None
    topk_block: int = 65_536


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
        UserError: If a numeric setting or ``EMS_RAY_ADDRESS`` is malformed (the message names it).
    """
    return Settings(
        db_path=_opt_path("EMS_DB") or DATA_DIR / "ems.duckdb",
        mteb_results=_opt_path("EMS_MTEB_RESULTS"),
        local_results=_opt_path("EMS_LOCAL_RESULTS"),
        cache_dir=_opt_path("EMS_CACHE_DIR") or DATA_DIR / "cache",
        hub_timeout_s=float(os.environ.get("EMS_HUB_TIMEOUT", "20")),
        max_documents=_number("EMS_MAX_DOCUMENTS", 2_000_000),
        ray_address=_ray_address(),
        ray_actors=_number("EMS_RAY_ACTORS", None),
        ray_batch_size=_number("EMS_RAY_BATCH_SIZE", 1024),
        ray_gpus_per_actor=_number("EMS_RAY_GPUS_PER_ACTOR", None, integer=False, zero=True),
        topk_block=_number("EMS_TOPK_BLOCK", 65_536),
    )
