"""Where the MTEB results come from.

In this order: ``--results`` (or ``EMS_MTEB_RESULTS``) — a local copy: a directory in the
dataset layout, any directory of parquet files, or one parquet file; else the Hugging Face
dataset ``mteb/results`` (``data/train-*.parquet``, the same files mteb's own leaderboard
reads; only those parquet files are downloaded) when the hub answers within
``EMS_HUB_TIMEOUT``; else the dated snapshot bundled in ``data/mteb-results`` (its
``snapshot.json`` gives the results commit and date), so a fresh offline machine works.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from lib.config import DATA_DIR, MTEB_RESULTS_REPO, get_settings
from lib.errors import UserError

#: The dated copy of ``mteb/results`` shipped with the app (``SOURCE.md`` there says what it is).
SNAPSHOT_DIR = DATA_DIR / "mteb-results"
#: Where each kind of source comes from, as said to the user.
KIND_LABELS = {
    "path": "--results",
    "env": "EMS_MTEB_RESULTS",
    "hub": "the Hugging Face hub",
    "snapshot": "the bundled snapshot",
}


class SourceError(UserError):
    """The results source cannot be read or downloaded."""


class HubUnavailableError(SourceError):
    """The hub did not answer (offline, blocked, timed out) or the download failed.

    Attributes:
        reason: The underlying error in one short phrase (``ConnectError: …``).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ResultsSource:
    """Parquet files holding the ``mteb/results`` rows, and where they came from.

    Attributes:
        files: The parquet files, sorted.
        label: Human-readable origin (``mteb/results@<sha>`` or a local path).
        revision: Dataset commit for the hub, or a fingerprint of the local files.
        kind: How it was chosen: ``path`` (``--results``), ``env`` (``EMS_MTEB_RESULTS``),
            ``hub`` or ``snapshot`` (the bundled copy).
        data_date: Date of the results themselves (the hub commit's date, a snapshot's
            ``snapshot.json`` date); None when a local copy does not say.
        note: Why this source was used when it was a fallback (the hub's error), else "".
    """

    files: tuple[Path, ...]
    label: str
    revision: str
    kind: str = "path"
    data_date: date | None = None
    note: str = ""

    def describe(self) -> str:
        """One line saying which source was used, its date, and why when it was a fallback."""
        when = f"dated {self.data_date.isoformat()}" if self.data_date else "date unknown"
        line = f"results: {KIND_LABELS.get(self.kind, self.kind)}, {self.label} ({when})"
        return f"{line} — {self.note}" if self.note else line


def _fingerprint(files: tuple[Path, ...]) -> str:
    # Size + mtime of each file: cheap, and changes whenever a copy is replaced.
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return "local-" + h.hexdigest()[:16]


def _snapshot_meta(path: Path) -> dict[str, object] | None:
    """The ``snapshot.json`` beside a local copy (in the folder, or beside the file), if any."""
    folder = path if path.is_dir() else path.parent
    meta = folder / "snapshot.json"
    if not meta.is_file():
        return None
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"{meta} is not readable JSON ({exc}).") from exc
    return data if isinstance(data, dict) else None


def local_source(path: Path, kind: str = "path") -> ResultsSource:
    """Resolve a local copy of ``mteb/results``.

    A ``snapshot.json`` beside the files (as in the bundled snapshot) supplies the results
    commit and date; without it the date is unknown.

    Args:
        path: A parquet file, or a directory holding ``data/train-*.parquet`` (the
            dataset layout) or other ``*.parquet`` files.
        kind: How the path was chosen (``path``, ``env`` or ``snapshot``).

    Returns:
        The resolved source.

    Raises:
        SourceError: If the path does not exist or holds no parquet file.
    """
    path = path.expanduser()
    if not path.exists():
        raise SourceError(
            f"MTEB results path {path} does not exist. Set EMS_MTEB_RESULTS (or --results) "
            "to a copy of the mteb/results dataset: a folder with data/train-*.parquet, or a "
            "parquet file."
        )
    if path.is_file():
        if path.suffix != ".parquet":
            raise SourceError(f"{path} is not a parquet file (expected *.parquet).")
        files: tuple[Path, ...] = (path.resolve(),)
    else:
        found = sorted(path.glob("data/train-*.parquet")) or sorted(path.rglob("*.parquet"))
        if not found:
            raise SourceError(f"No parquet files in {path}. Expected the mteb/results layout (data/train-*.parquet).")
        files = tuple(f.resolve() for f in found)
    meta = _snapshot_meta(path)
    label, day = str(path.resolve()), None
    if meta:
        commit = str(meta.get("results_commit") or "")
        label = f"{meta.get('dataset', MTEB_RESULTS_REPO)}@{commit[:12]}"
        if kind != "snapshot":  # a copy elsewhere: say where it is
            label += f" ({path.resolve()})"
        try:
            day = date.fromisoformat(str(meta.get("date")))
        except ValueError as exc:
            raise SourceError(f"{path}: snapshot.json has no valid date (YYYY-MM-DD): {meta.get('date')!r}") from exc
    return ResultsSource(files=files, label=label, revision=_fingerprint(files), kind=kind, data_date=day)


def hub_source(repo_id: str = MTEB_RESULTS_REPO, timeout_s: float | None = None) -> ResultsSource:
    """Download (or reuse the cached) parquet files of ``mteb/results`` from the hub.

    Args:
        repo_id: The dataset repository.
        timeout_s: Seconds to wait for the hub before giving up.

    Returns:
        The downloaded source, labelled with the dataset commit.

    Raises:
        SourceError: If the hub cannot be reached (offline, blocked) or the download fails;
            the message says how to use a local copy instead.
    """
    from huggingface_hub import HfApi, snapshot_download

    settings = get_settings()
    timeout = settings.hub_timeout_s if timeout_s is None else timeout_s
    hint = (
        "Download it elsewhere (`huggingface-cli download mteb/results --repo-type dataset "
        "--include 'data/*.parquet' --local-dir mteb-results`) and point EMS_MTEB_RESULTS "
        "(or `python -m lib refresh --results PATH`) at the copy."
    )
    try:
        info = HfApi().dataset_info(repo_id, timeout=timeout)
        sha = str(info.sha)
        modified = info.last_modified if isinstance(info.last_modified, datetime) else None
        folder = snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=sha,
            allow_patterns=["data/train-*.parquet"],
            cache_dir=str(settings.cache_dir / "hub"),
            etag_timeout=timeout,
        )
    except Exception as exc:  # network, auth, offline mode: all end the same way
        reason = f"{type(exc).__name__}: {exc}"
        raise HubUnavailableError(
            f"Could not download {repo_id} from the Hugging Face hub ({reason}). {hint}", reason
        ) from exc
    files = tuple(sorted(Path(folder).glob("data/train-*.parquet")))
    if not files:
        raise SourceError(f"The hub copy of {repo_id}@{sha} has no data/train-*.parquet files.")
    return ResultsSource(
        files=files,
        label=f"{repo_id}@{sha[:12]}",
        revision=sha,
        kind="hub",
        data_date=modified.date() if modified else None,
    )


def snapshot_source(note: str = "") -> ResultsSource:
    """The dated snapshot bundled in ``data/mteb-results``.

    Args:
        note: Why it is used (the hub's error), shown with it.

    Returns:
        The snapshot as a source.

    Raises:
        SourceError: If the snapshot is missing from this checkout.
    """
    src = local_source(SNAPSHOT_DIR, kind="snapshot")
    return ResultsSource(src.files, src.label, src.revision, "snapshot", src.data_date, note)


def resolve_source(path: Path | None = None) -> ResultsSource:
    """The results source: ``path``, else ``EMS_MTEB_RESULTS``, else the hub, else the snapshot.

    Args:
        path: An explicit local copy, or None.

    Returns:
        The resolved source; :meth:`ResultsSource.describe` says which and why.

    Raises:
        SourceError: If an explicit copy is unreadable (never silently replaced), or the
            hub fails and the bundled snapshot is missing too.
    """
    if path is not None:
        return local_source(path, kind="path")
    env = get_settings().mteb_results
    if env is not None:
        return local_source(env, kind="env")
    try:
        return hub_source()
    except HubUnavailableError as exc:
        if not SNAPSHOT_DIR.exists():
            raise
        return snapshot_source(f"the hub did not answer ({exc.reason})")
