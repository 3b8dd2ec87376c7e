"""Team mode: who is looking, what they may see, share and delete, and the per-person limits.

Plain Python (no Streamlit): the app's gate (``ui/auth.py``) and the CLI build a :class:`Viewer`
and hand it to the functions here; pages list and open only what these return.

**When sign-in is needed** (:func:`serving_mode`). Bound to a loopback address the app is one
person's tool; bound to any other address (or with ``EMS_TEAM_MODE=1``) everyone who can reach it
must sign in, unless the operator sets the documented opt-out ``EMS_ALLOW_ANONYMOUS=1`` (then
nobody signs in and every visitor acts as the one local user).

**Who owns what.** Every run (``eval_runs.user_id``), label set (``label_sets.user_id``) and
uploaded dataset (``team_datasets``) records the person it belongs to: the OIDC subject
(``sub``) of the signed-in person, or the local user's name (``EMS_USER`` / ``--user`` / the OS
login) for the CLI and the app on loopback. Rows stored before owners were recorded (``NULL``)
belong to the local user. A viewer sees their own rows plus the rows their owners shared with the
team; only the owner shares, unshares or deletes. A row another person did not share is "not
found" with the very message a missing one gets, so an id in a URL tells nothing.

**Files.** Uploads are kept per person under ``<EMS_CACHE_DIR>/uploads/u-<hash of the user id>/``
(:func:`upload_root`), and only registered datasets are read back (:func:`load_dataset`), so no
path typed or guessed reaches another person's files.

**Limits** (signed-in people only; the local user has none): concurrent evaluations
(``EMS_MAX_JOBS_PER_USER``, counted in :func:`lib.evaluation.runs.start_run` under a lock) and the
bytes of kept uploads (``EMS_MAX_UPLOAD_MB_PER_USER``, :func:`upload_guard`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import ipaddress
import os
import shutil
import threading
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lib import store
from lib.config import PROJECT_ROOT, Settings, get_settings
from lib.errors import UserError
from lib.evaluation import datasets, uploads

_MIB = 1024 * 1024
_MAX_USER_CHARS = 200
#: The keys Streamlit's ``st.login()`` needs in the ``[auth]`` section of ``.streamlit/secrets.toml``.
AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
_MIN_COOKIE_SECRET = 32
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")

DbPath = str | Path | None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --------------------------------------------------------------------------- who is looking


@dataclass(frozen=True)
class Viewer:
    """The person a page or a command acts for.

    Attributes:
        user_id: What their rows record: the OIDC ``sub``, or the local user's name.
        display: How to name them on screen (e-mail, name, or the id).
        local: The machine's local user (CLI, the app on loopback, the anonymous opt-out): owns
            the rows stored before owners were recorded, and has no per-person limits.
        max_jobs: Evaluations they may run at once (0 = no limit).
        max_upload_bytes: Bytes of uploads they may keep (0 = no limit).
    """

    user_id: str
    display: str
    local: bool = True
    max_jobs: int = 0
    max_upload_bytes: int = 0


def check_user_id(user_id: object) -> str:
    """A user id, stripped and checked.

    Args:
        user_id: The id as given (``--user``, ``EMS_USER``, an identity provider's ``sub``).

    Returns:
        The cleaned id.

    Raises:
        UserError: If it is empty, too long or holds control characters.
    """
    name = user_id.strip() if isinstance(user_id, str) else ""
    if not name:
        raise UserError("no user name: pass --user NAME or set EMS_USER")
    if len(name) > _MAX_USER_CHARS:
        raise UserError(f"user name is longer than {_MAX_USER_CHARS} characters")
    if not name.isprintable():
        raise UserError("user name holds control characters; use plain text")
    return name


def _os_login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "local"


def local_viewer(user: str | None = None, settings: Settings | None = None) -> Viewer:
    """The local user: ``user`` (``--user``), else ``EMS_USER``, else the OS login name.

    Args:
        user: An explicit name, or None.
        settings: The settings (default: read the environment).

    Returns:
        A local viewer, without limits.

    Raises:
        UserError: For an empty or malformed name.
    """
    s = settings or get_settings()
    name = check_user_id(user if user is not None else (s.user or _os_login()))
    return Viewer(user_id=name, display=name, local=True)


def signed_in_viewer(claims: Mapping[str, Any], settings: Settings | None = None) -> Viewer:
    """The person an identity provider vouched for (``st.user``'s claims), with the per-person limits.

    The id is the OIDC subject ``sub``: the one claim a provider promises never to reassign.
    An e-mail can change hands or be set by the user at some providers, so it only names the
    person on screen.

    Args:
        claims: The ID token's claims (``sub``, and ``email`` / ``name`` when given).
        settings: The settings (limits).

    Returns:
        A viewer that is not local.

    Raises:
        UserError: Without a usable ``sub``.
    """
    s = settings or get_settings()
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise UserError("the identity provider sent no subject (sub) for this sign-in; sign in again")
    user_id = check_user_id(sub)
    shown = next((str(claims[k]) for k in ("email", "name", "preferred_username")
                  if isinstance(claims.get(k), str) and str(claims[k]).strip()), user_id)
    return Viewer(user_id=user_id, display=shown.strip()[:_MAX_USER_CHARS], local=False,
                  max_jobs=s.max_jobs_per_user, max_upload_bytes=s.max_upload_mb_per_user * _MIB)


# --------------------------------------------------------------------------- when sign-in is needed


def is_loopback(address: str | None) -> bool:
    """Whether a bind address reaches this machine only.

    Args:
        address: ``server.address`` (None or blank: Streamlit binds every interface).

    Returns:
        True for 127.0.0.0/8, ::1 and the usual names of loopback.
    """
    a = (address or "").strip().strip("[]").lower()
    if not a:
        return False
    if a in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(a).is_loopback
    except ValueError:
        return False  # any other host name may resolve to an outside interface


@dataclass(frozen=True)
class ServingMode:
    """How the app serves, decided from the bind address and the settings.

    Attributes:
        sign_in: Visitors must sign in; data is kept per person.
        exposed: Bound to an address other machines can reach.
        anonymous: Exposed (or team mode) but the operator opted out of sign-in.
        reason: One sentence saying why.
    """

    sign_in: bool
    exposed: bool
    anonymous: bool
    reason: str


def serving_mode(address: str | None, settings: Settings | None = None) -> ServingMode:
    """Decide whether visitors must sign in.

    Args:
        address: The address the server binds (``server.address``).
        settings: ``EMS_TEAM_MODE`` and ``EMS_ALLOW_ANONYMOUS``.

    Returns:
        The mode.
    """
    s = settings or get_settings()
    exposed = not is_loopback(address)
    where = (f"server.address is {address!r}" if (address or "").strip()
             else "no server.address is set (every interface)")
    if not exposed and not s.team_mode:
        return ServingMode(False, False, False, f"{where}: only this machine can connect")
    why = where + (", which other machines can reach" if exposed else "") + (
        "; EMS_TEAM_MODE=1" if s.team_mode else "")
    if s.allow_anonymous:
        return ServingMode(False, exposed, True, why + "; EMS_ALLOW_ANONYMOUS=1: nobody signs in, everyone "
                           "acts as the local user")
    return ServingMode(True, exposed, False, why + ": everyone must sign in")


def auth_problems(section: Mapping[str, Any] | None) -> list[str]:
    """What keeps ``st.login()`` from working with this ``[auth]`` section (empty: nothing).

    Args:
        section: The ``[auth]`` table of ``.streamlit/secrets.toml``, or None when absent.

    Returns:
        One sentence per problem.
    """
    if not section:
        return ["there is no [auth] section in .streamlit/secrets.toml"]
    out = [f"[auth] has no {key}" for key in AUTH_KEYS if not str(section.get(key) or "").strip()]
    redirect = str(section.get("redirect_uri") or "")
    if redirect and not redirect.rstrip("/").endswith("/oauth2callback"):
        out.append(f"[auth] redirect_uri must end with /oauth2callback (got {redirect!r})")
    for key in ("redirect_uri", "server_metadata_url"):
        value = str(section.get(key) or "")
        if value and not value.startswith(("https://", "http://")):
            out.append(f"[auth] {key} must be an absolute http(s) URL (got {value!r})")
    secret = str(section.get("cookie_secret") or "")
    if secret and len(secret) < _MIN_COOKIE_SECRET:
        out.append(f"[auth] cookie_secret is {len(secret)} characters; use at least {_MIN_COOKIE_SECRET} random ones "
                   "(python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return out


def secrets_files(environ: Mapping[str, str] | None = None, home: Path | None = None,
                  root: Path = PROJECT_ROOT) -> list[Path]:
    """The secrets files Streamlit reads, in its order (later files win).

    Args:
        environ: The environment (``STREAMLIT_SECRETS_FILES`` replaces the default list).
        home: The home folder (default ``~``).
        root: The project folder (``.streamlit/secrets.toml`` beside ``app.py``).

    Returns:
        The paths (they may not exist).
    """
    env = os.environ if environ is None else environ
    listed = env.get("STREAMLIT_SECRETS_FILES", "").split()
    if listed:
        return [Path(p).expanduser() for p in listed]
    return [(home or Path.home()) / ".streamlit" / "secrets.toml", root / ".streamlit" / "secrets.toml"]


def read_auth_section(files: Sequence[Path]) -> dict[str, Any] | None:
    """The ``[auth]`` section Streamlit would see in these files (the last file that has one wins).

    Args:
        files: Secrets files in Streamlit's order.

    Returns:
        The section, or None when no file has one.

    Raises:
        UserError: A file that is not valid TOML.
    """
    found: dict[str, Any] | None = None
    for path in files:
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: not valid TOML ({exc})") from exc
        if isinstance(data.get("auth"), dict):
            found = dict(data["auth"])
    return found


# --------------------------------------------------------------------------- what a viewer sees


def _owner(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _true(value: object) -> bool:
    return value is True or (not isinstance(value, str) and value is not None and not pd.isna(value) and bool(value))


def owns(viewer: Viewer, owner: object) -> bool:
    """Whether ``viewer`` owns a row whose ``user_id`` is ``owner``.

    Args:
        viewer: Who is looking.
        owner: The row's ``user_id`` (None/NaN: stored before owners were recorded → the local user's).

    Returns:
        True for their own rows.
    """
    o = _owner(owner)
    return viewer.local if o is None else o == viewer.user_id


def can_see(viewer: Viewer, owner: object, shared: object) -> bool:
    """Whether ``viewer`` may see a row: their own, or shared with the team.

    Args:
        viewer: Who is looking.
        owner: The row's ``user_id``.
        shared: The row's ``shared`` flag.

    Returns:
        True when visible.
    """
    return owns(viewer, owner) or _true(shared)


def visible(frame: pd.DataFrame, viewer: Viewer) -> pd.DataFrame:
    """The rows of a listing ``viewer`` may see, with a ``mine`` column (True where they own the row).

    Args:
        frame: Rows with ``user_id`` and ``shared`` columns (runs, label sets, datasets).
        viewer: Who is looking.

    Returns:
        The visible rows, in their order, index reset.
    """
    if frame.empty:
        return frame.assign(mine=pd.Series(dtype=bool))
    keep = [can_see(viewer, o, s) for o, s in zip(frame["user_id"], frame["shared"], strict=True)]
    out = frame[keep].reset_index(drop=True)
    return out.assign(mine=[owns(viewer, o) for o in out["user_id"]], shared=[_true(s) for s in out["shared"]])


@dataclass(frozen=True)
class _Kind:
    table: str
    key: str
    noun: str


_KINDS = {
    "run": _Kind("eval_runs", "run_id", "evaluation run"),
    "label_set": _Kind("label_sets", "set_id", "label set"),
}


def _not_found(kind: str, item_id: str) -> UserError:
    # The same words lib.evaluation.runs.load_run and lib.labelling.store.get_set use for a missing row.
    return UserError(f"no {_KINDS[kind].noun} with id {item_id!r}" if kind == "run" else f"no label set {item_id!r}")


def _row(db: DbPath, kind: str, item_id: str) -> tuple[str | None, bool] | None:
    k = _KINDS[kind]
    with store.connect(db) as cur:
        rows = cur.execute(
            f"SELECT user_id, coalesce(shared, false) FROM {k.table} WHERE {k.key} = ?", [item_id]
        ).fetchall()
    return (rows[0][0], bool(rows[0][1])) if rows else None


def require(db: DbPath, kind: str, item_id: str, viewer: Viewer) -> bool:
    """Check that ``viewer`` may see a run or a label set; say "not found" otherwise.

    Args:
        db: DuckDB file.
        kind: ``run`` or ``label_set``.
        item_id: Its id.
        viewer: Who is looking.

    Returns:
        Whether ``viewer`` owns it.

    Raises:
        UserError: Missing, or another person's and not shared — one message for both.
    """
    row = _row(db, kind, item_id)
    if row is None or not can_see(viewer, row[0], row[1]):
        raise _not_found(kind, item_id)
    return owns(viewer, row[0])


def require_owner(db: DbPath, kind: str, item_id: str, viewer: Viewer) -> None:
    """Check that ``viewer`` owns a run or a label set (to share or delete it).

    Args:
        db: DuckDB file.
        kind: ``run`` or ``label_set``.
        item_id: Its id.
        viewer: Who is acting.

    Raises:
        UserError: Not visible ("not found"), or visible but someone else's.
    """
    if not require(db, kind, item_id, viewer):
        raise UserError(f"only the person who made {_KINDS[kind].noun} {item_id} can share or delete it")


def set_shared(db: DbPath, kind: str, item_id: str, viewer: Viewer, shared: bool) -> None:
    """Share a run or a label set with the team, or make it private again (owner only).

    Args:
        db: DuckDB file.
        kind: ``run`` or ``label_set``.
        item_id: Its id.
        viewer: Who is acting.
        shared: The new state.

    Raises:
        UserError: When ``viewer`` is not its owner.
    """
    require_owner(db, kind, item_id, viewer)
    k = _KINDS[kind]
    with store.transaction(db) as cur:
        cur.execute(f"UPDATE {k.table} SET shared = ? WHERE {k.key} = ?", [bool(shared), item_id])


def delete_run(db: DbPath, run_id: str, viewer: Viewer) -> bool:
    """Delete a run and its results: its owner only.

    Args:
        db: DuckDB file.
        run_id: The run.
        viewer: Who is acting.

    Returns:
        True when deleted.

    Raises:
        UserError: Not found for ``viewer``, or not theirs.
    """
    from lib.evaluation import runs

    require_owner(db, "run", run_id, viewer)
    return runs.delete_run(run_id, db)


def delete_label_set(db: DbPath, set_id: str, viewer: Viewer) -> None:
    """Delete a label set with its pool and judgements: its owner only.

    Args:
        db: DuckDB file.
        set_id: The set.
        viewer: Who is acting.

    Raises:
        UserError: Not found for ``viewer``, or not theirs.
    """
    from lib.labelling import store as lstore

    require_owner(db, "label_set", set_id, viewer)
    lstore.delete_set(db, set_id)


def run_visible_ids(db: DbPath, viewer: Viewer) -> list[str]:
    """Ids of the runs ``viewer`` may see, newest first.

    Args:
        db: DuckDB file.
        viewer: Who is looking.

    Returns:
        The ids.
    """
    from lib.evaluation import runs

    return [str(r) for r in visible(runs.list_runs(db), viewer)["run_id"]]


def visible_label_sets(db: DbPath, viewer: Viewer) -> pd.DataFrame:
    """The label sets ``viewer`` may see (:func:`lib.labelling.store.list_sets` columns plus ``mine``).

    Args:
        db: DuckDB file.
        viewer: Who is looking.

    Returns:
        The sets, newest first.
    """
    from lib.labelling import store as lstore

    return visible(lstore.list_sets(db), viewer)


def require_label_set(db: DbPath, set_id: str, viewer: Viewer) -> bool:
    """:func:`require` for a label set, with :func:`lib.labelling.store.get_set`'s hint of known sets.

    Args:
        db: DuckDB file.
        set_id: The set.
        viewer: Who is looking.

    Returns:
        Whether ``viewer`` owns it.

    Raises:
        UserError: Missing or not visible: ``no label set 'x' (known: …)`` listing only visible sets.
    """
    try:
        return require(db, "label_set", set_id, viewer)
    except UserError:
        known = visible_label_sets(db, viewer)["set_id"].head(5).tolist()
        hint = f" (known: {', '.join(known)})" if known else " (none yet: create one with `label pool`)"
        raise UserError(f"no label set {set_id!r}{hint}") from None


# --------------------------------------------------------------------------- people's names


def remember_user(db: DbPath, viewer: Viewer) -> None:
    """Keep the name a signed-in person is shown by (for "shared by …" captions).

    Args:
        db: DuckDB file.
        viewer: The person.
    """
    with store.transaction(db) as cur:
        cur.execute(
            "INSERT INTO team_users (user_id, display, last_seen) VALUES (?, ?, ?) ON CONFLICT (user_id)"
            " DO UPDATE SET display = excluded.display, last_seen = excluded.last_seen",
            [viewer.user_id, viewer.display, _now()],
        )


def display_names(db: DbPath) -> dict[str, str]:
    """user_id → how to name that person (people seen signed in).

    Args:
        db: DuckDB file.

    Returns:
        The names.
    """
    with store.connect(db) as cur:
        return {str(u): str(d) for u, d in cur.execute("SELECT user_id, display FROM team_users").fetchall()}


def owner_label(viewer: Viewer, owner: object, names: Mapping[str, str]) -> str:
    """"you", or the owner's name, for a listing.

    Args:
        viewer: Who is looking.
        owner: The row's ``user_id``.
        names: From :func:`display_names`.

    Returns:
        The label.
    """
    if owns(viewer, owner):
        return "you"
    o = _owner(owner)
    return names.get(o, o) if o is not None else "the local user"


# --------------------------------------------------------------------------- uploads and limits


def upload_root(viewer: Viewer, base: Path | None = None) -> Path:
    """The person's own upload folder: ``<uploads>/u-<16 hex of sha256(user id)>``.

    The folder name is a hash, so no user id (an e-mail, a provider's subject) shows in a path,
    and no id can climb out of the uploads folder.

    Args:
        viewer: Whose folder.
        base: The uploads folder (default :func:`lib.evaluation.uploads.uploads_dir`).

    Returns:
        The folder (not created).
    """
    root = uploads.uploads_dir() if base is None else base
    return root / ("u-" + hashlib.sha256(viewer.user_id.encode("utf-8")).hexdigest()[:16])


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under a folder (0 when it does not exist).

    Args:
        folder: The folder.

    Returns:
        The total.
    """
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):  # removed meanwhile (a staging folder being swept)
                total += (Path(dirpath) / name).stat().st_size
    return total


_upload_locks: dict[str, threading.Lock] = {}
_upload_locks_guard = threading.Lock()


@contextmanager
def upload_guard(viewer: Viewer, incoming: int, root: Path | None = None) -> Iterator[Path]:
    """Hold the person's upload lock, check their quota, and yield their upload folder.

    One person's uploads are staged one at a time (two tabs cannot both slip under the
    quota); other people's are not held up.

    Args:
        viewer: Who uploads.
        incoming: Bytes of the files about to be staged.
        root: Their folder (default :func:`upload_root`).

    Yields:
        The folder to stage into.

    Raises:
        UserError: When the kept uploads plus ``incoming`` exceed ``viewer.max_upload_bytes``.
    """
    folder = upload_root(viewer) if root is None else root
    with _upload_locks_guard:
        lock = _upload_locks.setdefault(viewer.user_id, threading.Lock())
    with lock:
        if viewer.max_upload_bytes > 0:
            kept = folder_bytes(folder)
            if kept + incoming > viewer.max_upload_bytes:
                limit_mb = viewer.max_upload_bytes // _MIB
                raise UserError(
                    f"this upload ({incoming / _MIB:,.1f} MB) would take your kept uploads to "
                    f"{(kept + incoming) / _MIB:,.1f} MB, over the {limit_mb:,} MB each person may keep on this server "
                    f"(EMS_MAX_UPLOAD_MB_PER_USER={limit_mb}); delete datasets you no longer need under "
                    "'Your datasets' on the Evaluate page, then upload again"
                )
        yield folder


def record_dataset(db: DbPath, viewer: Viewer, data: datasets.Dataset | datasets.Collection,
                   root: Path) -> str:
    """Register a kept upload as ``viewer``'s dataset (private until shared).

    Args:
        db: DuckDB file.
        viewer: The owner.
        data: What :mod:`lib.evaluation.uploads` returned (its ``source`` is under ``root``).
        root: The owner's upload folder.

    Returns:
        The dataset id (the kept folder's name).

    Raises:
        UserError: When ``data`` was not kept under ``root``.
    """
    try:
        dataset_id = Path(data.source).resolve().relative_to(root.resolve()).parts[0]
    except (ValueError, IndexError):
        raise UserError(f"{data.name}: the upload was not kept in your own folder") from None
    kind = "evaluation" if isinstance(data, datasets.Dataset) else "collection"
    split = data.split if isinstance(data, datasets.Dataset) else ""
    n_bytes = folder_bytes(root / dataset_id)
    with store.transaction(db) as cur:
        cur.execute(
            "INSERT INTO team_datasets (user_id, dataset_id, name, kind, source, split, n_bytes, n_docs, n_queries,"
            " created_at, shared) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false)"
            " ON CONFLICT (user_id, dataset_id) DO UPDATE SET name = excluded.name, source = excluded.source",
            [viewer.user_id, dataset_id, data.name, kind, data.source, split, n_bytes, len(data.doc_ids),
             len(data.query_ids), _now()],
        )
    return dataset_id


def visible_datasets(db: DbPath, viewer: Viewer, kind: str | None = None) -> pd.DataFrame:
    """The uploaded datasets ``viewer`` may see, newest first.

    Args:
        db: DuckDB file.
        viewer: Who is looking.
        kind: ``evaluation`` or ``collection`` only, or both (None).

    Returns:
        Columns user_id, dataset_id, name, kind, source, split, n_bytes, n_docs, n_queries,
        created_at, shared, mine.
    """
    with store.connect(db) as cur:
        df = cur.execute(
            "SELECT user_id, dataset_id, name, kind, source, split, n_bytes, n_docs, n_queries, created_at, shared"
            " FROM team_datasets WHERE (? IS NULL OR kind = ?) ORDER BY created_at DESC, dataset_id",
            [kind, kind],
        ).df()
    return visible(df, viewer)


def _dataset_row(db: DbPath, owner: str, dataset_id: str, viewer: Viewer) -> dict[str, Any]:
    with store.connect(db) as cur:
        df = cur.execute("SELECT * FROM team_datasets WHERE user_id = ? AND dataset_id = ?", [owner, dataset_id]).df()
    if df.empty or not can_see(viewer, df.at[0, "user_id"], df.at[0, "shared"]):
        raise UserError(f"no dataset {dataset_id!r}")
    return df.iloc[0].to_dict()


def load_dataset(db: DbPath, owner: str, dataset_id: str, viewer: Viewer) -> datasets.Dataset:
    """Read a registered evaluation dataset ``viewer`` may see.

    Args:
        db: DuckDB file.
        owner: Its owner's user id.
        dataset_id: Its id.
        viewer: Who is looking.

    Returns:
        The validated dataset.

    Raises:
        UserError: Not found for ``viewer``, not an evaluation dataset, or its files are gone.
    """
    row = _dataset_row(db, owner, dataset_id, viewer)
    if row["kind"] != "evaluation":
        raise UserError(f"{row['name']} has documents without judgements: label it on **Label your data** first")
    try:
        return datasets.load_dataset(row["source"], split=row["split"] or "test")
    except datasets.DatasetError as exc:
        raise UserError(f"{row['name']} can no longer be read ({exc}); delete it and upload it again") from None


def set_dataset_shared(db: DbPath, dataset_id: str, viewer: Viewer, shared: bool) -> None:
    """Share one of ``viewer``'s datasets with the team, or make it private again.

    Args:
        db: DuckDB file.
        dataset_id: Its id.
        viewer: The owner.
        shared: The new state.

    Raises:
        UserError: When ``viewer`` has no such dataset.
    """
    _dataset_row(db, viewer.user_id, dataset_id, viewer)
    with store.transaction(db) as cur:
        cur.execute("UPDATE team_datasets SET shared = ? WHERE user_id = ? AND dataset_id = ?",
                    [bool(shared), viewer.user_id, dataset_id])


def delete_dataset(db: DbPath, dataset_id: str, viewer: Viewer, root: Path | None = None) -> None:
    """Delete one of ``viewer``'s datasets: its row, then its kept files.

    Runs made on it stay; their per-query texts are no longer shown.

    Args:
        db: DuckDB file.
        dataset_id: Its id.
        viewer: The owner (nobody else can delete it).
        root: Their upload folder (default :func:`upload_root`).

    Raises:
        UserError: When ``viewer`` has no such dataset.
    """
    _dataset_row(db, viewer.user_id, dataset_id, viewer)
    with store.transaction(db) as cur:
        cur.execute("DELETE FROM team_datasets WHERE user_id = ? AND dataset_id = ?", [viewer.user_id, dataset_id])
    folder = (upload_root(viewer) if root is None else root) / dataset_id
    if folder.name == dataset_id and folder.parent.name.startswith("u-"):
        shutil.rmtree(folder, ignore_errors=True)
