"""Staging uploaded datasets: size checks, a temporary folder, validation, an atomic keep.

An upload is a file name and its bytes (:class:`Upload`). The ``save_*`` functions write
the files into a staging folder ``<root>/.incoming-…``, validate them with
:func:`lib.evaluation.datasets.load_dataset`, and only when valid rename the folder to
``<root>/<content hash>`` — so a half-written or invalid upload is never visible, and the
same upload is stored once. The engine's messages are rewritten to name the user's files,
never the staged copies. Staging folders left behind by a killed process are swept.

The largest accepted upload is passed in (``max_bytes``): the app uses Streamlit's
``server.maxUploadSize``; this module knows nothing about Streamlit. The default ``root``
is ``<EMS_CACHE_DIR>/uploads`` (git-ignored, beside the embedding cache).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from lib.config import get_settings
from lib.errors import UserError
from lib.evaluation import datasets

STAGING_PREFIX = ".incoming-"
STAGING_MAX_AGE_S = 3600  # far longer than any validation; older ones are from a killed process
_MIB = 1024 * 1024
_SEPARATE_EXTS = (".jsonl", ".csv", ".tsv")
_PAIRS_EXTS = (".csv", ".tsv", ".jsonl")
_QUERY_EXTS = (".jsonl", ".csv", ".tsv", ".txt")
_T = TypeVar("_T", datasets.Dataset, datasets.Collection)


@dataclass(frozen=True)
class Upload:
    """An uploaded file's name and bytes."""

    name: str
    data: bytes


def as_upload(f: Any, name: str | None = None) -> Upload:
    """Wrap bytes or a file-like object as an :class:`Upload`.

    Args:
        f: ``bytes``/``bytearray``, or an object with ``getvalue()`` (Streamlit's
            ``UploadedFile``, ``io.BytesIO``) or ``read()`` (an open binary file).
        name: The file name; default: ``f.name``.

    Returns:
        The upload.

    Raises:
        TypeError: Without a name, or when ``f`` is neither bytes nor file-like.
    """
    label = name if name is not None else getattr(f, "name", None)
    if label is None:
        raise TypeError("an upload needs a file name")
    if isinstance(f, bytes | bytearray | memoryview):
        data = bytes(f)
    elif hasattr(f, "getvalue"):
        data = bytes(f.getvalue())
    elif hasattr(f, "read"):
        data = bytes(f.read())
    else:
        raise TypeError(f"cannot read an upload from {type(f).__name__}")
    return Upload(str(label), data)


def uploads_dir() -> Path:
    """Where uploaded datasets are kept (beside the embedding cache, git-ignored)."""
    return get_settings().cache_dir / "uploads"


def safe_name(name: str) -> str:
    """A file name's stem reduced to ``[A-Za-z0-9._-]``, at most 60 characters."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).stem).strip("-.")
    return stem[:60] or "dataset"


def digest(parts: Sequence[bytes]) -> str:
    """Sixteen hex digits of a SHA-256 over the parts' own SHA-256s (order matters)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:16]


def _ext(name: str, allowed: Sequence[str]) -> str:
    ext = Path(name).suffix.lower()
    if ext not in allowed:
        hint = " — save the sheet as CSV UTF-8 and upload that" if ext in datasets.SPREADSHEETS else ""
        raise UserError(f"{name}: expected a {' / '.join(allowed)} file, got '{ext or 'no extension'}'{hint}")
    return ext


def _size(n: int) -> str:
    return f"{n // _MIB} MB" if n >= _MIB and n % _MIB == 0 else f"{n:,} bytes"


def check_sizes(uploads: Sequence[Upload], max_bytes: int) -> None:
    """Refuse oversized files before writing a byte.

    Args:
        uploads: The files.
        max_bytes: The largest upload accepted (the browser enforces the same cap).

    Raises:
        UserError: A file is over ``max_bytes``, or (not a zip) over the engine's file limit.
    """
    engine_cap = datasets.Limits().max_file_bytes
    for u in uploads:
        if len(u.data) > max_bytes:
            raise UserError(
                f"{u.name}: {len(u.data):,} bytes; uploads are limited to {_size(max_bytes)}. "
                "Use a smaller sample of your data."
            )
        if not u.name.lower().endswith(".zip") and len(u.data) > engine_cap:
            raise UserError(f"{u.name}: {len(u.data):,} bytes; the limit is {engine_cap:,}.")


def sweep_staging(root: Path, max_age_s: float = STAGING_MAX_AGE_S, now: float | None = None) -> list[Path]:
    """Remove staging folders a killed process left behind (``finally`` never ran there).

    Args:
        root: The uploads folder.
        max_age_s: Folders last modified longer ago than this are removed; younger ones
            may be another session's upload in progress and are kept.
        now: The current time (``time.time()`` by default).

    Returns:
        The folders removed.
    """
    cutoff = (time.time() if now is None else now) - max_age_s
    removed: list[Path] = []
    for old in root.glob(f"{STAGING_PREFIX}*"):
        try:
            if old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
                removed.append(old)
        except OSError:
            pass  # another session removed it first
    return removed


def rewrite_message(msg: str, originals: Mapping[str, str]) -> str:
    """Put the user's file names in an engine message about staged copies.

    Args:
        msg: The message.
        originals: Staged path → the name the user knows it by.

    Returns:
        The message with every staged path (longest first), and every staged file's bare
        name as a whole token, replaced by the user's name.
    """
    # One pass over the message, so a replacement is never rewritten again (a user's
    # "my corpus.jsonl" contains our staged name "corpus.jsonl"). Full paths first, longest
    # first; then bare names: messages about one file may name another by its bare name
    # ("… is not in queries.jsonl"), our staged copy's name too. Whole tokens only, so
    # "my_queries.jsonl" stays.
    full = dict(sorted(originals.items(), key=lambda kv: -len(kv[0])))
    bare: dict[str, str] = {}
    for saved, original in originals.items():
        bare.setdefault(Path(saved).name, original)
    if not full:
        return msg
    names = "|".join(re.escape(b) for b in sorted(bare, key=len, reverse=True))
    pattern = "|".join(re.escape(p) for p in full) + rf"|(?<![\w./-])(?:{names})(?![\w.-])"
    return re.sub(pattern, lambda m: full[m[0]] if m[0] in full else bare[m[0]], msg)


def _validated(path: Path, originals: Mapping[str, str],
               load: Callable[[Path], _T] = datasets.load_dataset) -> _T:  # type: ignore[assignment]
    """Load with the engine's validation; messages name the user's files, not our copies."""
    try:
        return load(path)
    except datasets.DatasetError as exc:
        raise UserError(rewrite_message(str(exc), originals)) from exc


def stage(files: Mapping[str, Upload], entry: str, label: str, *, max_bytes: int,
          root: Path | None = None,
          load: Callable[[Path], _T] = datasets.load_dataset) -> _T:  # type: ignore[assignment]
    """Write uploads to a staging folder, validate, and keep them only when valid.

    Args:
        files: Relative path inside the dataset folder → upload.
        entry: The relative path to validate (the zip or pairs file, or the BEIR folder).
        label: What to call the folder itself in messages.
        max_bytes: The largest upload accepted.
        root: The uploads folder (default :func:`uploads_dir`).
        load: The validating reader, called with the staged ``entry`` (default
            :func:`lib.evaluation.datasets.load_dataset`; :func:`save_collection` reads
            documents without judgements). Its result must have a ``source`` field.

    Returns:
        What ``load`` read, its ``source`` pointing at the kept copy ``<root>/<content hash>``.

    Raises:
        UserError: The engine's message with the user's file names; nothing is left behind.
    """
    check_sizes(list(files.values()), max_bytes)
    root = uploads_dir() if root is None else root
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    sweep_staging(root)
    try:
        return _stage_into(root, files, entry, label, load)
    except BaseException:
        if created:  # a refused first upload leaves not even the person's (empty) folder behind
            with contextlib.suppress(OSError):
                root.rmdir()
        raise


def _stage_into(root: Path, files: Mapping[str, Upload], entry: str, label: str,
                load: Callable[[Path], _T]) -> _T:
    # The final folder is named by content *and* layout, so the same upload is stored once.
    final = root / digest([p for rel, u in sorted(files.items()) for p in (rel.encode(), u.data)])
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    try:
        for rel, u in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(u.data)
        originals = {str(staging / rel): u.name for rel, u in files.items()}
        originals.setdefault(str(staging / entry), label)
        ds = _validated(staging / entry, originals, load)
        if not final.exists():
            try:
                staging.rename(final)  # atomic: a half-written upload is never visible
            except OSError:
                if not final.exists():  # another session stored the same upload meanwhile: fine
                    raise
        return dataclasses.replace(ds, source=ds.source.replace(str(staging), str(final), 1))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_zip(upload: Upload, *, max_bytes: int, root: Path | None = None) -> datasets.Dataset:
    """Store an uploaded BEIR ``.zip`` and validate it.

    Args:
        upload: The zip.
        max_bytes: The largest upload accepted.
        root: The uploads folder (default :func:`uploads_dir`).

    Returns:
        The validated dataset (source: the stored zip).

    Raises:
        UserError: With the engine's message (file, line, field) when invalid.
    """
    _ext(upload.name, (".zip",))
    rel = f"{safe_name(upload.name)}.zip"
    return stage({rel: upload}, rel, upload.name, max_bytes=max_bytes, root=root)


def save_files(corpus: Upload, queries: Upload, qrels: Upload, name: str = "", *, max_bytes: int,
               root: Path | None = None) -> datasets.Dataset:
    """Store separate corpus/queries/qrels files as a BEIR folder and validate them.

    Args:
        corpus: Corpus file (``.jsonl``, ``.csv`` or ``.tsv``).
        queries: Queries file.
        qrels: Judgements (``.tsv``, ``.csv`` or ``.jsonl``).
        name: Dataset name (default: the corpus file's name).
        max_bytes: The largest upload accepted.
        root: The uploads folder (default :func:`uploads_dir`).

    Returns:
        The validated dataset.

    Raises:
        UserError: With the engine's message when invalid.
    """
    ce, qe = _ext(corpus.name, _SEPARATE_EXTS), _ext(queries.name, _SEPARATE_EXTS)
    re_ = _ext(qrels.name, _SEPARATE_EXTS)
    folder = safe_name(name or corpus.name)
    files = {f"{folder}/corpus{ce}": corpus, f"{folder}/queries{qe}": queries, f"{folder}/qrels/test{re_}": qrels}
    return stage(files, folder, name or corpus.name, max_bytes=max_bytes, root=root)


def save_pairs(upload: Upload, *, max_bytes: int, root: Path | None = None) -> datasets.Dataset:
    """Store a (query, relevant document) pairs file and validate it.

    Args:
        upload: ``.csv``, ``.tsv`` or ``.jsonl`` with ``query`` and ``document`` columns.
        max_bytes: The largest upload accepted.
        root: The uploads folder (default :func:`uploads_dir`).

    Returns:
        The validated dataset.

    Raises:
        UserError: With the engine's message when invalid.
    """
    ext = _ext(upload.name, _PAIRS_EXTS)
    rel = f"{safe_name(upload.name)}{ext}"
    return stage({rel: upload}, rel, upload.name, max_bytes=max_bytes, root=root)


def role(name: str) -> str | None:
    """Which BEIR file a name says it is: ``corpus``, ``queries``, ``qrels``, or None."""
    low = Path(name).name.lower()
    if "corpus" in low or "docs" in low or "documents" in low:
        return "corpus"
    if "quer" in low:
        return "queries"
    if "qrel" in low or Path(low).stem in ("test", "dev", "train", "judgements", "judgments"):
        return "qrels"
    return None


def save_any(uploads: Sequence[Upload], name: str = "", *, max_bytes: int,
             root: Path | None = None) -> datasets.Dataset:
    """Store and validate whatever was dropped: one zip, one pairs file, or three BEIR files.

    Args:
        uploads: The files.
        name: Dataset name for separate files.
        max_bytes: The largest upload accepted.
        root: The uploads folder (default :func:`uploads_dir`).

    Returns:
        The validated dataset.

    Raises:
        UserError: When the combination is not understood or the data is invalid.
    """
    if len(uploads) == 1:
        u = uploads[0]
        if u.name.lower().endswith(".zip"):
            return save_zip(u, max_bytes=max_bytes, root=root)
        return save_pairs(u, max_bytes=max_bytes, root=root)
    if len(uploads) == 3:
        roles = {role(u.name): u for u in uploads}
        if set(roles) == {"corpus", "queries", "qrels"}:
            return save_files(roles["corpus"], roles["queries"], roles["qrels"], name, max_bytes=max_bytes,
                              root=root)
        raise UserError(
            "Three files need names that say what they are: one with 'corpus', one with 'queries', and the "
            "judgements named 'qrels…' or 'test.tsv' (got " + ", ".join(u.name for u in uploads) + ")."
        )
    raise UserError(
        f"Upload one .zip (BEIR layout), one pairs file (.csv/.tsv/.jsonl), or three files "
        f"(corpus, queries, qrels) — got {len(uploads)} files."
    )


def save_collection(
    documents: Upload,
    queries: Upload | None = None,
    query_lines: Sequence[str] | None = None,
    *,
    max_bytes: int,
    root: Path | None = None,
) -> datasets.Collection:
    """Store and validate documents without judgements (and perhaps queries), for labelling.

    The same staging, size checks and messages as the evaluation uploads; read with
    :func:`lib.evaluation.datasets.load_collection`.

    Args:
        documents: A BEIR ``.zip`` (its qrels are ignored) or a corpus ``.jsonl``/``.csv``/``.tsv``.
        queries: A queries file (``.jsonl``/``.csv``/``.tsv`` with ids, or ``.txt`` one per line).
        query_lines: Queries typed or pasted, one per line (instead of ``queries``).
        max_bytes: The largest upload accepted.
        root: The uploads folder (default :func:`uploads_dir`).

    Returns:
        The validated collection (source: the kept copy).

    Raises:
        UserError: For a wrong file type, both a queries file and pasted lines, or invalid
            content (the user's file names in the message); nothing is kept then.
    """
    ext = _ext(documents.name, (".zip", *_SEPARATE_EXTS))
    if queries is not None and query_lines is not None:
        raise UserError("give queries as a file or pasted lines, not both")
    doc_rel = f"{safe_name(documents.name)}{ext}"
    files = {doc_rel: documents}
    q_rel: str | None = None
    if queries is not None:
        q_rel = f"queries-file/{safe_name(queries.name)}{_ext(queries.name, _QUERY_EXTS)}"
        files[q_rel] = queries

    def load(path: Path) -> datasets.Collection:
        qfile = path.parent / q_rel if q_rel is not None else None
        return datasets.load_collection(path, queries_file=qfile, query_lines=query_lines)

    coll = stage(files, doc_rel, documents.name, max_bytes=max_bytes, root=root, load=load)
    if coll.name == safe_name(documents.name) and ext != ".zip":
        coll = dataclasses.replace(coll, name=Path(documents.name).stem)
    return coll
