import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lib import store


def test_migrations_applied_once(tmp_path: Path) -> None:
    db = tmp_path / "a.duckdb"
    latest = store.list_migrations()[-1].version
    assert store.schema_version(db) == latest
    store.close(db)
    # Reopening applies nothing twice.
    assert store.schema_version(db) == latest
    with store.connect(db) as cur:
        rows = cur.execute("SELECT version, count(*) FROM schema_migrations GROUP BY 1 HAVING count(*) > 1").fetchall()
    assert rows == []
    store.close(db)


def test_transaction_rolls_back_everything(tmp_path: Path) -> None:
    db = tmp_path / "b.duckdb"
    with store.connect(db) as cur:
        cur.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(RuntimeError), store.transaction(db) as cur:
        cur.execute("INSERT INTO t VALUES (1), (2)")
        raise RuntimeError("boom")
    with store.connect(db) as cur:
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (0,)
    with store.transaction(db) as cur:
        cur.execute("INSERT INTO t VALUES (1)")
    with store.connect(db) as cur:
        assert cur.execute("SELECT count(*) FROM t").fetchone() == (1,)
    store.close(db)


def test_second_process_gets_clear_lock_message(tmp_path: Path) -> None:
    db = tmp_path / "locked.duckdb"
    store.schema_version(db)  # this process now holds the file
    code = textwrap.dedent(
        f"""
        import sys
        from lib import store
        try:
            store.schema_version({str(db)!r})
        except store.StoreLockedError as exc:
            print(exc)
            sys.exit(3)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 3, proc.stderr
    assert str(db) in proc.stdout
    assert "in use" in proc.stdout
    assert f"by process {os.getpid()}" in proc.stdout  # the holder, so the user knows what to stop
    store.close(db)


# (``leaderboard`` is not here: it reads the leaderboard's own file read-only and works while
# another process holds the app's database, see tests/test_leaderboard_store.py.)
CLI_COMMANDS = {
    # evaluate validates data and models first, then finds the file locked before storing anything
    "evaluate": ["evaluate", "--data", str(Path(__file__).resolve().parent.parent / "data" / "demo"),
                 "--model", "bm25", "--no-sweep"],
    "report": ["report", "20000101-000000-deadbeef", "--out", "{tmp}/r.md"],
}


@pytest.mark.parametrize("command", list(CLI_COMMANDS))
def test_cli_reports_lock_as_one_line(tmp_path: Path, command: str) -> None:
    db = tmp_path / "locked-cli.duckdb"
    store.schema_version(db)
    args = [a.replace("{tmp}", str(tmp_path)) for a in CLI_COMMANDS[command]]
    proc = subprocess.run(
        [sys.executable, "-m", "lib", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith(f"error: The database file {db} is in use by process {os.getpid()}")
    assert proc.stderr.strip() == errors[0]  # the only thing printed: no notes before it
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r.md").exists()
    store.close(db)
    with store.connect(db) as cur:  # the locked-out command wrote nothing
        assert cur.execute("SELECT count(*) FROM eval_runs").fetchall() == [(0,)]
    store.close(db)


def test_open_hooks_run_once_per_open_and_late_registration_catches_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "_open_hooks", list(store._open_hooks))  # leave the real hooks as they were
    # Files other tests left open in this process would get the late-registered hook too.
    monkeypatch.setattr(store, "_anchors", {})
    db = tmp_path / "hooks.duckdb"
    seen: list[tuple[Path, int]] = []

    def hook(cur: object, path: Path) -> None:
        seen.append((path, cur.execute("SELECT count(*) FROM schema_migrations").fetchall()[0][0]))  # type: ignore[attr-defined]

    store.schema_version(db)  # already open when the hook arrives
    store.on_open(hook)
    store.on_open(hook)  # registering twice runs it once
    applied = len(store.list_migrations())  # a count, not the highest number: numbers may have gaps
    assert seen == [(db.resolve(), applied)]  # run at once for the open file, after the migrations
    for _ in range(3):
        store.schema_version(db)  # further units of work on the open file: no new run
    assert len(seen) == 1
    store.close(db)
    store.schema_version(db)  # reopened: this process may have been away, run again
    assert len(seen) == 2
    store.close(db)


def test_failing_open_hook_fails_the_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "_open_hooks", list(store._open_hooks))
    monkeypatch.setattr(store, "_anchors", {})  # only this test's file is open
    db = tmp_path / "bad-hook.duckdb"

    def hook(cur: object, path: Path) -> None:
        raise RuntimeError("repair failed")

    store.on_open(hook)
    with pytest.raises(RuntimeError, match="repair failed"):
        store.schema_version(db)
    assert db.resolve() not in store._anchors  # not left half-open
    store._open_hooks.remove(hook)
    assert store.schema_version(db) == store.list_migrations()[-1].version
    store.close(db)


def test_bad_migration_name_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "1_bad.sql").write_text("SELECT 1;")
    monkeypatch.setattr(store, "MIGRATIONS_DIR", tmp_path)
    with pytest.raises(store.StoreError, match=r"NNNN_name\.sql"):
        store.list_migrations()


def test_threads_share_one_database(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    db = tmp_path / "threads.duckdb"
    with store.connect(db) as cur:
        cur.execute("CREATE TABLE t (session INTEGER, i INTEGER)")

    def work(session: int) -> None:
        for i in range(20):
            with store.transaction(db) as cur:
                cur.execute("INSERT INTO t VALUES (?, ?)", [session, i])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    with store.connect(db) as cur:
        assert cur.execute("SELECT count(*), count(DISTINCT (session, i)) FROM t").fetchone() == (160, 160)
    store.close(db)
