"""The app's DuckDB store: one file, versioned migrations, transactions, clear lock errors.

The leaderboard is not here: it has a file of its own, read-only for everyone but a
refresh (:mod:`lib.leaderboard.store`), so reading it never waits for this file's writer.

DuckDB allows one writing process per file. The app is that process; inside it, every
unit of work takes a short-lived cursor on a process-wide database instance (DuckDB's
recommended way to share one database between threads), so concurrent sessions never
fight over the file lock. A second *process* that opens the file while another holds it
gets :class:`StoreLockedError`, whose message names the file and the holder.

Migrations are the files ``lib/migrations/NNNN_name.sql``, applied in order, each in its
own transaction, and recorded in ``schema_migrations``.

Open hooks (:func:`on_open`) run once each time this process opens a file, right after
the migrations. Because the file lock makes this process the only writer from that moment
on, a hook can safely repair what a process that died while holding the file left behind
(``lib.evaluation.runs`` uses one to mark runs a killed process never finished).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lib.config import get_settings
from lib.errors import UserError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_lock = threading.Lock()
# One anchor connection per database file keeps the DuckDB instance (and its buffer
# cache) alive for the life of the process; work happens on cursors taken from it.
_anchors: dict[Path, duckdb.DuckDBPyConnection] = {}

#: ``hook(cursor, path)``, its result ignored; see :func:`on_open`.
OpenHook = Callable[[duckdb.DuckDBPyConnection, Path], object]
_open_hooks: list[OpenHook] = []


class StoreError(UserError):
    """A problem with the DuckDB store that the user can act on."""


class StoreLockedError(StoreError):
    """Another process holds the DuckDB file's lock."""


@dataclass(frozen=True)
class Migration:
    """One schema migration file."""

    version: int
    name: str
    sql: str


def list_migrations() -> list[Migration]:
    """Read the migration files in version order.

    Returns:
        The migrations, lowest version first.

    Raises:
        StoreError: If two files share a version number.
    """
    found: dict[int, Migration] = {}
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        m = _MIGRATION_RE.match(path.name)
        if not m:
            raise StoreError(f"Migration file name not of the form NNNN_name.sql: {path}")
        version = int(m.group(1))
        if version in found:
            raise StoreError(f"Two migrations share version {version}: {path.name}")
        found[version] = Migration(version, m.group(2), path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(str(path))
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = ""
            m = re.search(r"held in (.+?) \(PID (\d+)\)", text)
            if m:
                holder = f" by process {m.group(2)} ({m.group(1)})"
            raise StoreLockedError(
                f"The database file {path} is in use{holder}. DuckDB lets one process "
                "write to a file at a time: stop the other process (for example the "
                "running app), or point EMS_DB at another file."
            ) from exc
        raise StoreError(f"Could not open the database file {path}: {text}") from exc


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMP NOT NULL DEFAULT now())"
    )
    applied = {r[0] for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    for mig in list_migrations():
        if mig.version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(mig.sql)
            con.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                [mig.version, mig.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise


def resolve_path(path: str | Path | None = None) -> Path:
    """The database file to use: ``path`` if given, else ``EMS_DB`` or the default.

    Args:
        path: An explicit file, or None.

    Returns:
        An absolute path.
    """
    return Path(path).expanduser().resolve() if path else get_settings().db_path.resolve()


def _run_hook(hook: OpenHook, con: duckdb.DuckDBPyConnection, path: Path) -> None:
    cur = con.cursor()
    try:
        hook(cur, path)
    finally:
        cur.close()


def on_open(hook: OpenHook) -> None:
    """Run ``hook(cursor, path)`` whenever this process opens a database file.

    The hook runs after the migrations and before any other unit of work sees the file,
    with the store's lock held, so it must not call :func:`connect` or
    :func:`transaction` itself (use the cursor it is given). Files this process already
    holds get the hook at once, so registering late (a module imported after the store
    was first used) misses nothing. Registering the same hook twice runs it once.

    Args:
        hook: The function; an exception from it makes opening the file fail.
    """
    with _lock:
        if hook in _open_hooks:
            return
        _open_hooks.append(hook)
        for path, con in list(_anchors.items()):
            _run_hook(hook, con, path)


def _anchor(path: Path) -> duckdb.DuckDBPyConnection:
    with _lock:
        con = _anchors.get(path)
        if con is None:
            con = _open(path)
            try:
                _migrate(con)
                for hook in _open_hooks:
                    _run_hook(hook, con, path)
            except Exception:
                con.close()
                raise
            _anchors[path] = con
        return con


@contextmanager
def connect(path: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived cursor on the (migrated) database, for one unit of work.

    Args:
        path: The database file; defaults to ``EMS_DB`` or ``data/ems.duckdb``.

    Yields:
        A DuckDB cursor; it is closed when the block ends.

    Raises:
        StoreLockedError: If another process holds the file.
    """
    anchor = _anchor(resolve_path(path))
    with _lock:
        cur = anchor.cursor()
    try:
        yield cur
    finally:
        cur.close()


@contextmanager
def transaction(path: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor inside ``BEGIN`` … ``COMMIT``; any exception rolls everything back.

    Args:
        path: The database file; defaults to ``EMS_DB``.

    Yields:
        A DuckDB cursor with an open transaction.
    """
    with connect(path) as cur:
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        else:
            cur.execute("COMMIT")


def close(path: str | Path | None = None) -> None:
    """Close the process's handle on a database file (releases the file lock).

    Args:
        path: The file to close; None closes every open file.
    """
    with _lock:
        targets = list(_anchors) if path is None else [resolve_path(path)]
        for p in targets:
            con = _anchors.pop(p, None)
            if con is not None:
                con.close()


def schema_version(path: str | Path | None = None) -> int:
    """The highest migration applied to the database.

    Args:
        path: The database file.

    Returns:
        The version number (0 if none).
    """
    with connect(path) as cur:
        row = cur.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0
