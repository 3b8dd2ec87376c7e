"""lib.leaderboard.store: the leaderboard's own file, built whole, swapped in, read read-only.

Readers are never blocked (issue 17): ``python -m lib leaderboard`` works while another
process holds the app's database and while a refresh runs, and never shows half a table.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from lib import store
from lib.leaderboard import queries, ranking
from lib.leaderboard import store as lbstore
from lib.leaderboard.refresh import refresh
from tests.lbfiles import copy_app_db

ROOT = Path(__file__).resolve().parent.parent
BENCH = "MTEB(eng, v2)"


def _build(db: Path, n: int, *, fail_after_rows: bool = False) -> None:
    """A small leaderboard file: ``n`` result rows and one refresh row."""
    with lbstore.build(db) as con:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO mteb_results (row_id, model_name, task_name, source)"
            " SELECT range, 'm', 't', 'x' FROM range(?)",
            [n],
        )
        if fail_after_rows:
            raise RuntimeError("boom mid-write")
        con.execute(
            "INSERT INTO refreshes (id, refreshed_at, source, mteb_version, n_rows, n_local_rows, n_models, n_tasks,"
            " n_benchmarks, seconds) VALUES (?, now(), 's', 'v', ?, 0, 0, 0, 0, 0)",
            [n, n],
        )
        con.execute("COMMIT")


def _count(cur: duckdb.DuckDBPyConnection) -> int:
    row = cur.execute("SELECT count(*) FROM mteb_results").fetchone()
    assert row is not None
    return int(row[0])


def _listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_missing_file_is_a_clear_error_and_reads_as_no_leaderboard(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    with pytest.raises(lbstore.NoLeaderboardError, match=r"No leaderboard loaded yet .*python -m lib refresh"), \
            lbstore.connect(db):
        pass
    assert lbstore.version(db) is None and queries.provenance(db) is None
    assert _listing(tmp_path) == []  # reading created nothing, not even the app's database
    proc = subprocess.run([sys.executable, "-m", "lib", "leaderboard", BENCH, "--db", str(db)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: No leaderboard loaded yet")
    assert str(tmp_path / "leaderboard.duckdb") in proc.stderr and "python -m lib refresh" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert _listing(tmp_path) == []


def test_path_beside_the_app_database_or_from_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert lbstore.resolve_path(tmp_path / "a" / "x.duckdb") == (tmp_path / "a" / "leaderboard.duckdb").resolve()
    monkeypatch.setenv("EMS_LEADERBOARD_DB", str(tmp_path / "shared.duckdb"))
    assert lbstore.resolve_path(tmp_path / "a" / "x.duckdb") == (tmp_path / "shared.duckdb").resolve()
    with pytest.raises(store.StoreError, match="same file"):
        lbstore.resolve_path(tmp_path / "shared.duckdb")


def test_build_swaps_in_a_new_file_and_an_open_reader_keeps_the_old_one(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    _build(db, 10)
    first = lbstore.version(db)
    inode = lbstore.resolve_path(db).stat().st_ino
    with lbstore.connect(db) as before:
        assert _count(before) == 10
        _build(db, 20)  # swapped in while `before` is open (this process: the app's Try again)
        assert lbstore.resolve_path(db).stat().st_ino != inode  # a new file, not the old one rewritten
        # The open reader still sees the old file, complete, query after query.
        assert _count(before) == 10
        assert before.execute("SELECT n_rows FROM refreshes").fetchall() == [(10,)]
        with lbstore.connect(db) as after:
            assert _count(after) == 20
    with lbstore.connect(db) as cur:
        assert _count(cur) == 20
        # The new file carries no history here (``_build`` writes its own); refresh() copies it.
        assert cur.execute("SELECT id FROM refreshes").fetchall() == [(20,)]
    assert lbstore.version(db) not in (None, first)
    assert _listing(tmp_path) == ["leaderboard.duckdb"]  # no temporary file, no WAL, no app database


def test_a_swap_by_another_process_is_seen_on_the_next_read(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    _build(db, 3)
    with lbstore.connect(db) as cur:
        assert _count(cur) == 3
    code = f"from tests.test_leaderboard_store import _build; from pathlib import Path; _build(Path({str(db)!r}), 7)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=ROOT)
    with lbstore.connect(db) as cur:  # no forget(): the file's identity changed
        assert _count(cur) == 7


def test_failed_build_leaves_the_old_file_and_no_temporary_file(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    _build(db, 10)
    before = lbstore.resolve_path(db).stat()
    with pytest.raises(RuntimeError, match="boom mid-write"):
        _build(db, 99, fail_after_rows=True)
    after = lbstore.resolve_path(db).stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    with lbstore.connect(db) as cur:
        assert _count(cur) == 10
    assert _listing(tmp_path) == ["leaderboard.duckdb"]


def test_temporary_files_of_dead_refreshes_are_swept(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".leaderboard.duckdb.{dead.pid}.0123456789ab.tmp"
    live = tmp_path / f".leaderboard.duckdb.{os.getpid()}.ba9876543210.tmp"  # a refresh of this process, running
    other = tmp_path / f".other.duckdb.{dead.pid}.0123456789ab.tmp"  # not this leaderboard's
    for p in (stale, stale.with_name(stale.name + ".wal"), live, other):
        p.write_bytes(b"x")
    _build(db, 1)
    assert _listing(tmp_path) == sorted([live.name, other.name, "leaderboard.duckdb"])


def test_file_of_another_schema_version_reads_as_no_leaderboard(tmp_path: Path) -> None:
    db = tmp_path / "app.duckdb"
    path = lbstore.resolve_path(db)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE leaderboard_schema (version INTEGER); INSERT INTO leaderboard_schema VALUES (0)")
    con.close()
    with pytest.raises(lbstore.NoLeaderboardError, match=r"schema version 0, this app reads 1: run `python -m lib"), \
            lbstore.connect(db):
        pass
    assert queries.provenance(db) is None  # so the app's first start reloads it
    path.unlink()
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (x INTEGER)")  # some other DuckDB file
    con.close()
    with pytest.raises(lbstore.NoLeaderboardError, match="not a leaderboard file"), lbstore.connect(db):
        pass
    lbstore.forget(db)
    path.write_bytes(b"not a database at all")  # damaged
    with pytest.raises(lbstore.NoLeaderboardError, match="Could not read the leaderboard file"), lbstore.connect(db):
        pass
    assert queries.provenance(db) is None
    _build(db, 2)  # a refresh replaces each of them
    assert lbstore.version(db) is not None


def test_old_app_database_drops_its_leaderboard_tables_and_keeps_everything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Migration 0008: an app database from before the split loses only the leaderboard copies."""
    db = tmp_path / "old.duckdb"
    every = store.list_migrations()
    monkeypatch.setattr(store, "list_migrations", lambda: [m for m in every if m.version <= 5])
    # An app of that day had none of today's open hooks (the jobs hook needs migration 0009's table).
    monkeypatch.setattr(store, "_open_hooks", [])
    with store.connect(db) as cur:
        cur.execute("INSERT INTO mteb_results (row_id, model_name, task_name, source) VALUES (1, 'm', 't', 'x')")
        cur.execute("CREATE TABLE keep_me AS SELECT 42 AS x")
        tables = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert set(lbstore.TABLES) <= tables
    store.close(db)
    monkeypatch.undo()  # today's migrations and hooks
    with store.connect(db) as cur:
        after = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert cur.execute("SELECT x FROM keep_me").fetchall() == [(42,)]
    assert not set(lbstore.TABLES) & after
    assert {"eval_runs", "schema_migrations"} <= after
    assert store.schema_version(db) == max(m.version for m in every)
    store.close(db)


# --- the real data ----------------------------------------------------------------------------


def test_failed_refresh_mid_write_leaves_the_old_file_and_no_temporary_file(
    lb_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lib.leaderboard import metadata

    db = copy_app_db(lb_db, tmp_path / "app.duckdb")
    path = lbstore.resolve_path(db)
    before = path.stat()
    prov = queries.provenance(db)
    seen_mid_write: list[str] = []

    def broken() -> str:  # called after the 1.29M result rows went into the new file
        seen_mid_write.extend(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        raise RuntimeError("disk full (simulated)")

    monkeypatch.setattr(metadata, "mteb_version", broken)
    with pytest.raises(RuntimeError, match="simulated"):
        refresh(db, local_results=None)
    assert seen_mid_write and seen_mid_write[0].startswith(".leaderboard.duckdb.")  # it failed mid-write
    assert path.stat().st_ino == before.st_ino and path.stat().st_mtime_ns == before.st_mtime_ns
    assert queries.provenance(db) == prov
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_refresh_in_the_app_process_while_its_threads_read(lb_db: Path, tmp_path: Path) -> None:
    """The app's first start / Try again: refresh in-process while sessions keep ranking."""
    db = copy_app_db(lb_db, tmp_path / "app.duckdb")
    expected = len(ranking.summary_table(BENCH, db).df)
    old_version = lbstore.version(db)
    stop = threading.Event()
    sizes: list[int] = []
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            try:
                with ranking._cache_lock:
                    ranking._cache.clear()  # every read hits DuckDB, not the per-version cache
                sizes.append(len(ranking.summary_table(BENCH, db).df))
                assert queries.provenance(db) is not None
            except Exception as exc:  # collected for the main thread
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        summary = refresh(db, local_results=None)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=300)
    assert not errors, errors[:3]
    assert sizes and set(sizes) == {expected}, sizes
    assert lbstore.version(db) != old_version
    prov = queries.provenance(db)
    assert prov is not None and prov.n_rows == summary.n_rows == 1_293_183 and prov.n_local_rows == 0
    assert len(ranking.summary_table(BENCH, db).df) == expected
    with lbstore.connect(db) as cur:  # the history of the replaced file came along
        assert [r[0] for r in cur.execute("SELECT id FROM refreshes ORDER BY id").fetchall()] == [1, 2]


def _cli_table(db: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "leaderboard", BENCH, "--format", "csv", "--db", str(db)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_cli_reads_the_leaderboard_while_another_process_holds_the_app_database(lb_db: Path, tmp_path: Path) -> None:
    db = copy_app_db(lb_db, tmp_path / "app.duckdb")
    expected = len(ranking.summary_table(BENCH, db).df)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from lib import store
            with store.transaction({str(db)!r}) as cur:  # the app: runs live here, written read-write
                cur.execute("SELECT count(*) FROM eval_runs")
            print("holding", flush=True)
            sys.stdin.read()
        """)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(store.StoreLockedError):  # the premise: the app's database is taken
            store.schema_version(db)
        out = _cli_table(db)
        rows = out.strip().splitlines()
        assert rows[0].startswith("Rank (Borda),Model,")
        assert len(rows) - 1 == expected == 317
    finally:
        holder.communicate(input="", timeout=60)
    assert holder.returncode == 0


def test_cli_prints_the_full_table_each_time_while_a_refresh_runs(
    lb_db: Path, tmp_path: Path, shared_dir: Path
) -> None:
    db = copy_app_db(lb_db, tmp_path / "app.duckdb")
    old = _cli_table(db)
    writing = threading.Event()
    progress: list[str] = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib", "refresh", "--db", str(db), "--results", str(shared_dir / "mteb-results")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "EMS_LOCAL_RESULTS"},
    )

    def follow() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            progress.append(line)
            if line.startswith("writing a new leaderboard file"):
                writing.set()

    follower = threading.Thread(target=follow)
    follower.start()
    t0 = time.monotonic()
    polls: list[tuple[bool, str]] = []  # (refresh still running when the poll started, output)
    try:
        assert writing.wait(timeout=600), "".join(progress)
        while proc.poll() is None or not polls:
            running = proc.poll() is None
            polls.append((running, _cli_table(db)))
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        follower.join(timeout=60)
    seconds = time.monotonic() - t0
    assert proc.returncode == 0, "".join(progress)
    new = _cli_table(db)
    prov = queries.provenance(db)  # the new file is in place: no local results in it
    assert prov is not None and prov.n_local_rows == 0 and prov.n_rows == 1_293_183
    assert polls[0][0], "the first poll should start while the refresh writes its file"
    for _, table in polls:  # every output is one of the two complete tables, never a mix
        assert table in (old, new)
        assert len(table.strip().splitlines()) - 1 == 317
    print(f"refresh {seconds:.1f}s, {len(polls)} polls, {sum(r for r, _ in polls)} during it; {out.strip()}")
