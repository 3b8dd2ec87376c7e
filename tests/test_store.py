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
    store.close(db)


def test_cli_reports_lock_as_one_line(tmp_path: Path) -> None:
    db = tmp_path / "locked-cli.duckdb"
    store.schema_version(db)
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "leaderboard", "MTEB(eng, v2)", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: The database file")
    assert str(db) in proc.stderr
    assert "Traceback" not in proc.stderr
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
