"""Readers are never blocked (issue 17): the CLI reads the leaderboard while the app runs.

A real ``streamlit run`` server holds its app database (the Runs page opened it read-write);
meanwhile ``python -m lib leaderboard "MTEB(eng, v2)"`` prints the full table, and keeps
printing a full table — the old one or the new one, never a mix — while a ``python -m lib
refresh`` writes and swaps in a new leaderboard file. The app then shows the new file's data
on its next run, without a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lib.leaderboard import ranking
from tests.e2e.conftest import ROOT, goto_page
from tests.lbfiles import copy_app_db

pytestmark = pytest.mark.e2e

BENCH = "MTEB(eng, v2)"


def _cli_table(db: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "leaderboard", BENCH, "--format", "csv", "--db", str(db)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _sidebar(page: Any) -> str:
    return str(page.locator('[data-testid="stSidebar"]').inner_text())


def test_cli_prints_the_full_leaderboard_while_the_app_runs_and_while_a_refresh_runs(
    streamlit_server: Callable[..., Any], lb_db: Path, shared_dir: Path, page: Any, tmp_path: Path, screenshot: Any
) -> None:
    db = copy_app_db(lb_db, tmp_path / "app.duckdb")
    server = streamlit_server({"EMS_DB": str(db)})
    goto_page(page, server.url, "runs")  # the Runs page opens the app's database: the server holds it now
    probe = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            from lib import store
            try:
                store.schema_version({str(db)!r})
            except store.StoreLockedError as exc:
                print(exc)
        """)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert f"in use by process {server.proc.pid}" in probe.stdout, probe.stdout + probe.stderr

    goto_page(page, server.url)
    page.get_by_text("317 of 317 models").wait_for()
    assert "local results" in _sidebar(page)  # lb_db merged the raw local result folders

    # While the app runs: the full table, the same rows this process ranks.
    expected = len(ranking.summary_table(BENCH, db).df)
    old = _cli_table(db)
    assert len(old.strip().splitlines()) - 1 == expected == 317

    # While a refresh runs (published results only): every poll prints a complete table.
    writing = threading.Event()
    progress: list[str] = []
    refresh = subprocess.Popen(
        [sys.executable, "-m", "lib", "refresh", "--db", str(db), "--results", str(shared_dir / "mteb-results")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "EMS_LOCAL_RESULTS"},
    )

    def follow() -> None:
        assert refresh.stderr is not None
        for line in refresh.stderr:
            progress.append(line)
            if line.startswith("writing a new leaderboard file"):
                writing.set()

    follower = threading.Thread(target=follow)
    follower.start()
    polls: list[tuple[bool, str]] = []
    try:
        assert writing.wait(timeout=600), "".join(progress)
        while refresh.poll() is None or not polls:
            polls.append((refresh.poll() is None, _cli_table(db)))
        summary, _ = refresh.communicate(timeout=600)
    finally:
        if refresh.poll() is None:
            refresh.kill()
        follower.join(timeout=60)
    assert refresh.returncode == 0, "".join(progress)
    new = _cli_table(db)
    assert polls[0][0], "the first poll should start while the refresh writes its file"
    for _, table in polls:
        assert table in (old, new)  # one complete table or the other, never half of one
        assert len(table.strip().splitlines()) - 1 == 317
    print(f"{len(polls)} polls during the refresh, {sum(r for r, _ in polls)} started while it ran; "
          f"rows each time: {sorted({len(t.strip().splitlines()) - 1 for _, t in polls})}; refresh: {summary.strip()}")

    # The running app reads the swapped-in file on its next run (no restart): no local results now.
    goto_page(page, server.url)
    page.get_by_text("317 of 317 models").wait_for()
    side = _sidebar(page)
    assert "local results" not in side and "1,293,183 results" in side, side
    screenshot(page, "leaderboard-after-swap")
    assert server.proc.poll() is None


def test_cli_reads_the_default_servers_leaderboard_while_it_runs(app_url: str, page: Any) -> None:
    """The shared ``app_url`` server (its own database, the session's leaderboard linked beside it)."""
    goto_page(page, app_url, "runs")  # the server opens its database read-write
    side = _sidebar(page)
    db = Path(side.split("Database:", 1)[1].split()[0].strip("`"))
    assert db.name == "app.duckdb" and (db.parent / "leaderboard.duckdb").exists(), side
    table = _cli_table(db)
    assert len(table.strip().splitlines()) - 1 == len(ranking.summary_table(BENCH, db).df) == 317
