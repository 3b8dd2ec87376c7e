"""Where the MTEB results come from.

The default is the Hugging Face dataset ``mteb/results`` (``data/train-*.parquet``), the
same files mteb's own leaderboard reads; only those parquet files are downloaded, with
huggingface_hub's progress bars. ``EMS_MTEB_RESULTS`` (or ``--results``) points at a local
copy instead: a directory in the dataset layout, any directory of parquet files, or one
parquet file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from lib.config import MTEB_RESULTS_REPO, get_settings
from lib.errors import UserError


class SourceError(UserError):
    """The results source cannot be read or downloaded."""


@dataclass(frozen=True)
class ResultsSource:
    """Parquet files holding the ``mteb/results`` rows, and where they came from.

    Attributes:
        files: The parquet files, sorted.
        label: Human-readable origin (``mteb/results@<sha>`` or a local path).
        revision: Dataset commit for the hub, or a fingerprint of the local files.
    """

    files: tuple[Path, ...]
    label: str
    revision: str


def _fingerprint(files: tuple[Path, ...]) -> str:
    # Size + mtime of each file: cheap, and changes whenever a copy is replaced.
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return "local-" + h.hexdigest()[:16]


def local_source(path: Path) -> ResultsSource:
    """Resolve a local copy of ``mteb/results``.

    Args:
        path: A parquet file, or a directory holding ``data/train-*.parquet`` (the
            dataset layout) or other ``*.parquet`` files.

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
    return ResultsSource(files=files, label=str(path.resolve()), revision=_fingerprint(files))


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
        folder = snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=sha,
            allow_patterns=["data/train-*.parquet"],
            cache_dir=str(settings.cache_dir / "hub"),
            etag_timeout=timeout,
        )
    except Exception as exc:  # network, auth, offline mode: all end the same way
        raise SourceError(
            f"Could not download {repo_id} from the Hugging Face hub ({type(exc).__name__}: {exc}). {hint}"
        ) from exc
    files = tuple(sorted(Path(folder).glob("data/train-*.parquet")))
    if not files:
        raise SourceError(f"The hub copy of {repo_id}@{sha} has no data/train-*.parquet files.")
    return ResultsSource(files=files, label=f"{repo_id}@{sha[:12]}", revision=sha)


def resolve_source(path: Path | None = None) -> ResultsSource:
    """The results source: ``path``, else ``EMS_MTEB_RESULTS``, else the hub.

    Args:
        path: An explicit local copy, or None.

    Returns:
        The resolved source.
    """
    chosen = path or get_settings().mteb_results
    return local_source(chosen) if chosen else hub_source()
