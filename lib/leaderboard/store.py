"""The leaderboard's own DuckDB file: written whole and swapped in, read read-only.

The app's database (:mod:`lib.store`) has one writer, the app, which holds DuckDB's write
lock; a leaderboard kept there could not even be read by ``python -m lib leaderboard`` while
the app runs. So the leaderboard lives in a file of its own (``EMS_LEADERBOARD_DB``, default
``leaderboard.duckdb`` beside the app's database, see :func:`lib.config.leaderboard_path`):

* :func:`build` (used by the refresh) writes a complete new file under a temporary name in
  the same folder, checkpoints and closes it, then ``os.replace``-s it over the old one. No
  one ever opens the final name for writing, so a refresh takes no lock anyone waits on and a
  reader sees the old file or the new one, never half a table. A failed build removes its
  temporary file and leaves the old file as it was.
* :func:`connect` gives read-only cursors. Each process keeps one read-only DuckDB instance
  per file *version*: every call checks the file's identity (inode, size, mtime), and when a
  refresh has swapped in a new file the next call opens that one. Cursors already taken keep
  reading the old file (Linux keeps the replaced inode alive while it is open), so a query in
  flight during a swap finishes on complete old data.

Read-only instances attach the file to a private in-memory database instead of
``duckdb.connect(path)``: DuckDB caches instances by path, so a plain connect after a swap
would hand back the instance still reading the old inode.

The file has no migrations: :data:`SCHEMA_VERSION` is stamped into it, and a file with another
version reads as "no leaderboard" (:func:`version` returns None, so the app's first start
reloads it) or fails with a clear "run ``python -m lib refresh``" (:func:`connect`).
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from lib import store
from lib.config import leaderboard_path
from lib.store import StoreError

#: Bumped whenever ``schema.sql`` changes; a file stamped otherwise is not read.
SCHEMA_VERSION = 1
SCHEMA_SQL = Path(__file__).resolve().parent / "schema.sql"
#: Every leaderboard table, in the order a refresh fills them.
TABLES = ("mteb_results", "models", "tasks", "benchmarks", "benchmark_tasks", "benchmark_scope", "refreshes")

_ALIAS = "lb"
_TMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[0-9a-f]{12}\.tmp(?:\.wal)?$")

_lock = threading.Lock()


@dataclass(frozen=True)
class _Handle:
    con: duckdb.DuckDBPyConnection
    ident: tuple[int, int, int, int]


# One read-only instance per file, for the file version it opened. A replaced handle is
# dropped, not closed: cursors still reading it keep its instance alive until they finish.
_handles: dict[Path, _Handle] = {}


class NoLeaderboardError(StoreError):
    """No usable leaderboard file: none yet, another schema version, or unreadable (a refresh fixes each)."""


def resolve_path(db: str | Path | None = None) -> Path:
    """The leaderboard file for an app database, as an absolute path.

    Args:
        db: The app's database (None: ``EMS_DB``); ``EMS_LEADERBOARD_DB`` wins when set.

    Returns:
        The leaderboard file.

    Raises:
        StoreError: If that is the app database itself.
    """
    path = leaderboard_path(db).expanduser().resolve()
    if path == store.resolve_path(db):
        raise StoreError(
            f"The leaderboard file and the app's database are the same file ({path}): point "
            "EMS_LEADERBOARD_DB (or EMS_DB) at another file."
        )
    return path


def _ident(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _missing(path: Path) -> NoLeaderboardError:
    return NoLeaderboardError(
        f"No leaderboard loaded yet ({path} does not exist): run `python -m lib refresh` "
        "(the app also loads it by itself on first start)."
    )


def _attach(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH ? AS {_ALIAS} (READ_ONLY)", [str(path)])
        row = con.execute(f"SELECT max(version) FROM {_ALIAS}.leaderboard_schema").fetchone()
    except duckdb.CatalogException as exc:
        con.close()
        raise NoLeaderboardError(
            f"{path} is not a leaderboard file of this app (no schema stamp): run `python -m lib refresh`."
        ) from exc
    except duckdb.Error as exc:
        con.close()
        if not path.exists():
            raise _missing(path) from exc
        # Derived data: a damaged file is replaced by the next refresh (the app's first start
        # does that by itself), so it reads as "no leaderboard", with DuckDB's reason.
        raise NoLeaderboardError(
            f"Could not read the leaderboard file {path} ({exc}): run `python -m lib refresh`."
        ) from exc
    found = row[0] if row else None
    if found != SCHEMA_VERSION:
        con.close()
        raise NoLeaderboardError(
            f"The leaderboard file {path} has schema version {found}, this app reads {SCHEMA_VERSION}: "
            "run `python -m lib refresh` (the app reloads it by itself on start)."
        )
    return con


def _handle(path: Path) -> _Handle:
    ident = _ident(path)
    if ident is None:
        _handles.pop(path, None)
        raise _missing(path)
    h = _handles.get(path)
    if h is None or h.ident != ident:
        h = _Handle(_attach(path), ident)
        # Opened after a swap between the stat and the attach: the next call reopens.
        _handles[path] = h
    return h


@contextmanager
def connect(db: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only cursor on the leaderboard file as it is now, for one unit of work.

    Every query in the block reads the same file version, even if a refresh swaps in a new
    one meanwhile; the next block sees the new one.

    Args:
        db: The app database whose leaderboard to read (None: ``EMS_DB``).

    Yields:
        A DuckDB cursor whose default catalog is the leaderboard file.

    Raises:
        NoLeaderboardError: If the file does not exist yet or has another schema version.
    """
    path = resolve_path(db)
    with _lock:
        cur = _handle(path).con.cursor()
    try:
        cur.execute(f"USE {_ALIAS}")
        yield cur
    finally:
        cur.close()


def version(db: str | Path | None = None) -> str | None:
    """A token that changes with every refresh swapped in; None when there is no usable file.

    Args:
        db: The app database whose leaderboard to read.

    Returns:
        ``"<refresh id>@<refreshed_at>"`` of the newest refresh in the file, or None.
    """
    try:
        with connect(db) as cur:
            row = cur.execute("SELECT id, refreshed_at FROM refreshes ORDER BY id DESC LIMIT 1").fetchone()
    except NoLeaderboardError:
        return None
    return None if row is None else f"{row[0]}@{row[1].isoformat()}"


def forget(db: str | Path | None = None) -> None:
    """Drop this process's read-only instance of a leaderboard file (the next read reopens).

    Cursors in use keep reading what they opened. Needed before deleting or moving a file
    by hand in tests; a refresh's swap is noticed without it.

    Args:
        db: The app database whose leaderboard file to forget; None forgets every file.
    """
    with _lock:
        if db is None:
            _handles.clear()
        else:
            _handles.pop(resolve_path(db), None)


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + ".wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_temps(final: Path) -> list[Path]:
    """Remove temporary files that refreshes of ``final`` left when their process was killed.

    Args:
        final: The leaderboard file.

    Returns:
        The files removed.
    """
    removed: list[Path] = []
    if not final.parent.is_dir():
        return removed
    for p in final.parent.iterdir():
        m = _TMP_RE.match(p.name)
        if m and m.group("name") == final.name and not _pid_alive(int(m.group("pid"))):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
                removed.append(p)
    return removed


def temp_path(final: Path) -> Path:
    """The hidden name a build writes to before the swap (same folder, so the rename is atomic).

    Args:
        final: The leaderboard file.

    Returns:
        ``.<name>.<pid>.<random>.tmp`` beside it.
    """
    return final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")


@contextmanager
def build(db: str | Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Write a new leaderboard file and swap it in when the block succeeds.

    The block gets a read-write connection on a fresh temporary file with the schema in
    place; it fills the tables (in its own transaction). On success the file is
    checkpointed, closed, fsynced and renamed over the leaderboard file in one
    ``os.replace``; on any exception it is deleted and the old file is untouched.

    Args:
        db: The app database whose leaderboard to replace (None: ``EMS_DB``).

    Yields:
        The connection to the new file.
    """
    final = resolve_path(db)
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(final)
    tmp = temp_path(final)
    con = duckdb.connect(str(tmp))
    try:
        con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        con.execute("INSERT INTO leaderboard_schema VALUES (?)", [SCHEMA_VERSION])
        yield con
        con.execute("CHECKPOINT")
        con.close()
        _fsync(tmp)
        os.replace(tmp, final)
    except BaseException:
        con.close()
        _remove(tmp)
        raise
    _remove(tmp)  # only the .wal could remain (there is none after a checkpoint and a close)
    _fsync(final.parent, directory=True)
    forget(db)


def history(db: str | Path | None = None) -> list[tuple[object, ...]]:
    """The ``refreshes`` rows of the current file (a new file carries them over).

    Args:
        db: The app database whose leaderboard to read.

    Returns:
        The rows in column order of the table, oldest first; empty when there is no usable file.
    """
    try:
        with connect(db) as cur:
            return [tuple(r) for r in cur.execute("SELECT * FROM refreshes ORDER BY id").fetchall()]
    except NoLeaderboardError:
        return []
