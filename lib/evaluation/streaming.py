"""Corpus vectors in bounded memory: encode only the cache misses, stream them to disk, map them back.

A million documents × 384 dimensions is 1.5 GB of float32; holding that (and a normalised
copy for cosine) in memory is what used to bound the corpus size. Here every vector goes
straight to a file as it is produced, and search reads the file block by block
(:mod:`lib.evaluation.topk`), so memory stays at a block whatever the corpus size.

Public API:

* :data:`Stream` — how misses are encoded: ``stream(texts, todo, batch_size)`` yields
  ``(indices, vectors, seconds)`` batches in any order. :func:`local_stream` encodes in this
  process (``--engine local``); :func:`lib.evaluation.distributed.stream` on Ray actors.
* :func:`encode_documents` — keys → cache hits and misses → the misses through a stream
  (each batch written as a cache shard as it arrives) → the hits copied out shard by shard →
  one document-order matrix, memory-mapped read-only.
* :class:`DiskMatrix` — a float32 matrix filled row by row on an unnamed temporary file
  under ``EMS_CACHE_DIR/work`` (gone when the last mapping of it is, even after a crash).
* :func:`prepared` — :func:`lib.evaluation.retrieval.prepare` for a memory-mapped matrix,
  block by block onto another :class:`DiskMatrix`.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lib.config import get_settings
from lib.evaluation import retrieval
from lib.evaluation.cache import EmbeddingCache, text_key

#: ``stream(texts, todo, batch_size)``: encode ``texts[i]`` for every ``i`` in ``todo``, yielding
#: ``(indices, float32 vectors, seconds)`` per batch; batches may come back in any order.
Batch = tuple[np.ndarray, np.ndarray, float]
Stream = Callable[[Sequence[str], Sequence[int], int], Iterator[Batch]]


def local_stream(encode: Callable[[list[str]], np.ndarray]) -> Stream:
    """Encode in this process, one batch after another (the ``local`` engine).

    Args:
        encode: Raw texts → float32 rows (e.g. ``lambda t: model.encode(t, "document")``).

    Returns:
        A :data:`Stream`; each batch's seconds are its encode call's.
    """

    def run(texts: Sequence[str], todo: Sequence[int], batch_size: int) -> Iterator[Batch]:
        for start in range(0, len(todo), batch_size):
            idx = np.asarray(todo[start : start + batch_size], dtype=np.int64)
            t0 = time.perf_counter()
            vecs = np.asarray(encode([texts[i] for i in idx]), dtype=np.float32)
            yield idx, vecs, time.perf_counter() - t0

    return run


def work_dir() -> Path:
    """Where temporary vector files live (``EMS_CACHE_DIR/work``: on disk, beside the cache).

    Returns:
        The folder (created).
    """
    path = get_settings().cache_dir / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


class DiskMatrix:
    """A float32 matrix written by rows (any order) to an unnamed file, then read back memory-mapped.

    The file is created with :func:`tempfile.TemporaryFile` (no name on Linux), so it
    disappears when the last mapping of it is dropped — also when the process is killed.
    Rows are written with ``pwrite`` (page cache, not this process's memory); the width is
    learnt from the first rows.
    """

    def __init__(self, n_rows: int, directory: Path | None = None) -> None:
        """Prepare an empty matrix.

        Args:
            n_rows: Number of rows.
            directory: Where the file lives (default :func:`work_dir`).
        """
        self.n_rows = n_rows
        self.dim: int | None = None
        self._dir = directory
        self._fh: Any = None
        self._filled = np.zeros(n_rows, dtype=bool)

    def _open(self, dim: int) -> None:
        self.dim = dim
        self._fh = tempfile.TemporaryFile(dir=self._dir or work_dir(), prefix="vectors-")  # noqa: SIM115 (kept open)
        os.ftruncate(self._fh.fileno(), self.n_rows * dim * 4)

    def put(self, positions: np.ndarray, vecs: np.ndarray) -> None:
        """Write rows.

        Args:
            positions: Row numbers (distinct).
            vecs: One row per position.

        Raises:
            RuntimeError: If the rows' width differs from earlier rows, or counts disagree.
        """
        positions = np.asarray(positions, dtype=np.int64)
        vecs = np.asarray(vecs, dtype=np.float32)
        if vecs.ndim != 2 or len(vecs) != len(positions):
            raise RuntimeError(f"got {vecs.shape} vectors for {len(positions)} rows")
        if not len(positions):
            return
        if self.dim is None:
            self._open(vecs.shape[1])
        if vecs.shape[1] != self.dim:
            raise RuntimeError(f"the encoder returned {vecs.shape[1]}-dimensional vectors "
                               f"after {self.dim}-dimensional ones")
        order = np.argsort(positions, kind="stable")
        pos, rows = positions[order], np.ascontiguousarray(vecs[order])
        # Contiguous runs of rows go out in one write each.
        cuts = np.flatnonzero(np.diff(pos) != 1) + 1
        row_bytes = vecs.shape[1] * 4
        fd = self._fh.fileno()
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(pos)], strict=True):
            data = rows[a:b].data.cast("B")
            offset = int(pos[a]) * row_bytes
            while data:
                written = os.pwrite(fd, data, offset)
                data, offset = data[written:], offset + written
        self._filled[pos] = True

    def finish(self) -> np.ndarray:
        """The matrix, memory-mapped read-only.

        Returns:
            (n_rows, dim) float32 (an empty (0, 0) array when nothing was written to an empty matrix).

        Raises:
            RuntimeError: If some rows were never written.
        """
        if self.n_rows == 0:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        missing = int((~self._filled).sum())
        if missing or self._fh is None:
            raise RuntimeError(f"{missing} of {self.n_rows} rows were never written")
        assert self.dim is not None
        out = np.memmap(self._fh, dtype=np.float32, mode="r", shape=(self.n_rows, self.dim))
        self._fh.close()  # the mapping keeps the file alive; it goes when the mapping does
        self._fh = None
        return out


@dataclass(frozen=True)
class StreamedVectors:
    """A corpus's vectors (document order, memory-mapped) and what making them took.

    Attributes:
        vectors: (n_docs, dim) float32, read-only.
        seconds: Seconds spent encoding now (0 when everything was cached).
        rate: Texts per second (measured now, or as recorded in the cache).
        hits: Texts served from the cache (repeats of a text within the corpus count as hits).
        misses: Texts encoded now.
    """

    vectors: np.ndarray = field(repr=False)
    seconds: float
    rate: float | None
    hits: int
    misses: int


def encode_documents(
    texts: Sequence[str],
    prompt: str,
    stream: Stream,
    *,
    cache: EmbeddingCache | None,
    batch_size: int = 1024,
    progress: Callable[[int, int], None] | None = None,
) -> StreamedVectors:
    """Vectors for a corpus in document order, encoding only what the cache lacks, in bounded memory.

    Each distinct missing text is encoded once (longest first in batches, so padding stays
    small); every batch is stored as a cache shard the moment it arrives, so an interrupted
    run keeps its finished work, and written to the document-order matrix on disk.

    Args:
        texts: Raw document texts.
        prompt: The model's document prompt (part of the cache key).
        stream: How misses are encoded (:func:`local_stream`, or Ray).
        cache: The model's embedding cache, or None to encode everything and store nothing.
        batch_size: Texts per batch (and per shard).
        progress: ``progress(done, total)`` over the misses.

    Returns:
        The vectors and the statistics.

    Raises:
        RuntimeError: If the encoder returns the wrong number of vectors.
    """
    n = len(texts)
    keys = [text_key(prompt, t) for t in texts]
    first: dict[bytes, int] = {}
    extras: dict[int, list[int]] = {}  # first position of a text → its repeats
    for i, k in enumerate(keys):
        j = first.setdefault(k, i)
        if j != i:
            extras.setdefault(j, []).append(i)
    reps = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    del first
    cached = cache.lookup([keys[i] for i in reps]) if cache is not None else np.zeros(len(reps), dtype=bool)
    todo = sorted(reps[~cached].tolist(), key=lambda i: -len(texts[i]))
    hit_reps = reps[cached]
    out = DiskMatrix(n)

    def put(idx: np.ndarray, vecs: np.ndarray) -> None:
        out.put(idx, vecs)
        if extras:
            more = [(j, row) for row, i in enumerate(idx.tolist()) for j in extras.get(i, ())]
            if more:
                out.put(np.array([j for j, _ in more]), vecs[[row for _, row in more]])

    seconds, done = 0.0, 0
    for idx, vecs, dt in stream(texts, todo, batch_size):
        idx = np.asarray(idx, dtype=np.int64)
        vecs = np.asarray(vecs, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[0] != len(idx):
            raise RuntimeError(f"encoder returned {vecs.shape[0]} vectors for {len(idx)} texts")
        seconds += dt
        if cache is not None:
            cache.add([keys[i] for i in idx], vecs, dt)
        put(idx, vecs)
        done += len(idx)
        if progress:
            progress(done, len(todo))
    if done != len(todo):
        raise RuntimeError(f"the encoder returned {done} vectors for {len(todo)} texts")
    rate = len(todo) / seconds if todo and seconds > 0 else None
    if cache is not None and len(hit_reps):
        for pos, vecs in cache.read([keys[i] for i in hit_reps]):
            put(hit_reps[pos], vecs)
        if not todo:
            rate = cache.recorded_rate([keys[i] for i in hit_reps])
    return StreamedVectors(out.finish(), seconds, rate, n - len(todo), len(todo))


def prepared(docs: np.ndarray, similarity: str, *, block: int = 65_536) -> np.ndarray:
    """:func:`lib.evaluation.retrieval.prepare` that keeps a memory-mapped corpus on disk.

    Cosine needs unit vectors; for a memory-mapped matrix they are written block by block to
    a new :class:`DiskMatrix` (row for row what ``prepare`` computes) instead of a copy in memory.

    Args:
        docs: Raw document vectors (an array or a :class:`numpy.memmap`).
        similarity: ``cosine``, ``dot`` or ``euclidean``.
        block: Rows normalised at a time.

    Returns:
        The prepared vectors (the same memory map when nothing changes).
    """
    if not isinstance(docs, np.memmap):
        return retrieval.prepare(docs, similarity)
    if similarity != "cosine" and docs.dtype == np.float32:
        return docs
    out = DiskMatrix(len(docs))
    for start in range(0, len(docs), block):
        rows = retrieval.prepare(np.asarray(docs[start : start + block]), similarity)
        out.put(np.arange(start, start + len(rows)), rows)
        retrieval.release(docs)
    return out.finish()
