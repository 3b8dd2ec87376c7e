"""Shared test set-up.

* Never touch the user's database: ``EMS_DB`` points at a per-session temporary file
  unless a test sets its own.
* ``../shared`` (read-only; MTEB results, SciFact) is found through ``EMS_SHARED`` or
  beside the checkout; tests that need it skip with a clear reason when it is absent
  locally, but CI always has it.
* No network: the hub is offline for every test unless a test opts out itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EMS_SHARED", ROOT.parent / "shared")).resolve()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# The leaderboard file goes with each test's database (leaderboard.duckdb beside it), never a
# developer's EMS_LEADERBOARD_DB.
os.environ.pop("EMS_LEADERBOARD_DB", None)
if (SHARED / "mteb-results").exists():
    os.environ.setdefault("EMS_MTEB_RESULTS", str(SHARED / "mteb-results"))


@pytest.fixture(scope="session", autouse=True)
def _session_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway default database for the whole session (never data/ems.duckdb)."""
    path = tmp_path_factory.mktemp("session-db") / "session.duckdb"
    os.environ["EMS_DB"] = str(path)
    os.environ.setdefault("EMS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    return path


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ``../shared`` folder."""
    if not SHARED.exists():
        pytest.skip(f"shared data folder not found at {SHARED} (set EMS_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def scifact_dir(shared_dir: Path) -> Path:
    """The real BEIR SciFact test set."""
    return shared_dir / "datasets" / "scifact"


@pytest.fixture(scope="session")
def lb_db(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An app database whose leaderboard (``leaderboard.duckdb`` beside it) was refreshed from
    ../shared/mteb-results plus the raw local results (built once).

    Leaderboard reads take this path as every app does (``summary_table(bench, lb_db)``);
    :func:`lib.leaderboard.store.resolve_path` gives the leaderboard file itself.
    """
    from lib.leaderboard.refresh import refresh

    path = tmp_path_factory.mktemp("lb") / "lb.duckdb"
    refresh(
        path,
        results=shared_dir / "mteb-results",
        local_results=shared_dir / "mteb-results-raw",
    )
    yield path
    # Shared by the whole session, so it must stay as built: a test that stores runs uses
    # ``lb_db_copy``. (A run left here once made later tests see a "stored run" they never made.)
    from lib import store

    store.close(path)
    with store.connect(path) as cur:
        leaked = cur.execute("SELECT count(*) FROM eval_runs").fetchone()
    store.close(path)
    assert leaked == (0,), f"a test wrote {leaked[0] if leaked else '?'} evaluation run(s) into the shared lb_db"


@pytest.fixture
def lb_db_copy(lb_db: Path, tmp_path: Path) -> Path:
    """A private copy of ``lb_db`` (with its leaderboard) for tests that write runs or hand it to a server."""
    from tests.lbfiles import copy_app_db

    return copy_app_db(lb_db, tmp_path / "lb-copy.duckdb")


@pytest.fixture(scope="session")
def results_parquet(shared_dir: Path) -> list[Path]:
    """The parquet files of the shared mteb/results copy."""
    return sorted((shared_dir / "mteb-results" / "data").glob("train-*.parquet"))


def wait_for_jobs(db: str | Path | None = None, timeout: float = 600.0) -> list:
    """Block until no background job (lib/jobs.py) of this process is queued or running.

    Pages submit evaluations as jobs and return at once; an AppTest then calls this before
    its next ``at.run()`` to see the finished run (the polling fragment does not run in AppTest).
    """
    import time

    from lib import jobs

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not jobs.list_jobs(db, active_only=True):
            return jobs.list_jobs(db)
        time.sleep(0.1)
    raise AssertionError(f"jobs still active after {timeout} s: {jobs.list_jobs(db, active_only=True)}")


@pytest.fixture
def finish_jobs() -> object:
    """``finish_jobs()`` waits for every background job (see :func:`wait_for_jobs`)."""
    return wait_for_jobs
