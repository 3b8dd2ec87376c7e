"""Embedding cache: never encode the same text twice with the same model and prompt.

Layout under ``get_settings().cache_dir / "embeddings" / <model key>/``: append-only
shards, each ``<shard>.npy`` (float32 matrix) + ``<shard>.keys.npy`` (32-byte
sha256 keys as uint8 rows, one per vector) + ``<shard>.json`` (count, seconds spent encoding).

Why .npy shards rather than DuckDB: vectors are read back whole and memory-mapped with
zero copies, writes need no database lock (the app holds the DuckDB file), and a shard
is published by an atomic rename, so a crash mid-encode leaves either a complete shard
or none — never a half-written vector.

Two ways in: :meth:`EmbeddingCache.get_or_encode` returns one matrix in memory (queries, small
corpora); :meth:`EmbeddingCache.lookup` / :meth:`EmbeddingCache.add` /
:meth:`EmbeddingCache.read` let :mod:`lib.evaluation.streaming` encode only the misses (in
this process or on Ray), write each batch as a shard as it arrives and copy the hits out shard
by shard, so a large corpus never sits in memory.

The model key (:attr:`ModelInfo.cache_key`) hashes the model name, revision and every
option that changes vectors (dimensions, truncation, server URL); each row key hashes
the prompt and the text, so a second dataset sharing documents reuses their vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lib.config import get_settings
from lib.evaluation.retrieval import release

_lock = threading.Lock()


def text_key(prompt: str, text: str) -> bytes:
    """The 32-byte cache key of one input.

    Args:
        prompt: The prompt prepended by the model (may be empty).
        text: The raw text.

    Returns:
        sha256 digest of prompt and text.
    """
    return hashlib.sha256(prompt.encode() + b"\x00" + text.encode()).digest()


@dataclass(frozen=True)
class CacheStats:
    """What one :meth:`EmbeddingCache.get_or_encode` call did.

    Attributes:
        hits: Texts served from the cache.
        misses: Texts encoded now.
        encode_seconds: Time spent encoding the misses.
        cached_rate: Texts per second recorded when the cached vectors were encoded.
    """

    hits: int
    misses: int
    encode_seconds: float
    cached_rate: float | None


class EmbeddingCache:
    """Per-model store of vectors keyed by prompt and text hash."""

    def __init__(self, model_key: str, root: Path | None = None) -> None:
        """Open (or create) the cache folder of one model.

        Args:
            model_key: :attr:`ModelInfo.cache_key`.
            root: Cache root (defaults to ``cache_dir/embeddings``).
        """
        base = root if root is not None else get_settings().cache_dir / "embeddings"
        self.dir = Path(base) / model_key
        self._index: dict[bytes, tuple[str, int]] = {}
        self._shards: dict[str, np.ndarray] = {}
        self._meta: dict[str, dict[str, float]] = {}
        self._loaded: set[str] = set()

    def _refresh(self) -> None:
        if not self.dir.is_dir():
            return
        for keys_path in sorted(self.dir.glob("*.keys.npy")):
            shard = keys_path.name[: -len(".keys.npy")]
            if shard in self._loaded:
                continue
            try:
                keys = np.load(keys_path)
                vecs = np.load(self.dir / f"{shard}.npy", mmap_mode="r")
                meta = json.loads((self.dir / f"{shard}.json").read_text())
            except (OSError, ValueError):
                continue  # an unreadable shard is ignored; its texts are re-encoded
            if len(keys) != len(vecs):
                continue
            self._shards[shard] = vecs
            self._meta[shard] = meta
            if keys.ndim != 2 or keys.shape[1] != 32:
                continue
            for row, k in enumerate(keys):
                self._index[k.tobytes()] = (shard, row)
            self._loaded.add(shard)

    def _write(self, keys: list[bytes], vecs: np.ndarray, seconds: float) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        shard = uuid.uuid4().hex
        tmp = f".tmp-{shard}"
        np.save(self.dir / f"{tmp}.npy", vecs.astype(np.float32, copy=False))
        (self.dir / f"{tmp}.json").write_text(json.dumps({"n": len(keys), "seconds": seconds}))
        # Raw uint8 rows, not numpy "S32": that dtype drops trailing zero bytes of a key.
        key_rows = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
        np.save(self.dir / f"{tmp}.keys.npy", key_rows)
        # The keys file is renamed last: a shard is visible only once all parts exist.
        os.replace(self.dir / f"{tmp}.npy", self.dir / f"{shard}.npy")
        os.replace(self.dir / f"{tmp}.json", self.dir / f"{shard}.json")
        os.replace(self.dir / f"{tmp}.keys.npy", self.dir / f"{shard}.keys.npy")
        return shard

    def lookup(self, keys: Sequence[bytes]) -> np.ndarray:
        """Which keys are cached (shards written by other processes included).

        Args:
            keys: :func:`text_key` values.

        Returns:
            A boolean array, True where the key has a vector.
        """
        with _lock:
            self._refresh()
            return np.fromiter((k in self._index for k in keys), dtype=bool, count=len(keys))

    def add(self, keys: Sequence[bytes], vecs: np.ndarray, seconds: float) -> None:
        """Store one batch of vectors as a new shard (published atomically) and index it.

        Args:
            keys: One :func:`text_key` per row.
            vecs: The vectors (float32 rows).
            seconds: Time it took to encode them (recorded for the throughput of later hits).

        Raises:
            ValueError: If the number of keys and rows differ.
        """
        if len(keys) != len(vecs):
            raise ValueError(f"{len(keys)} keys for {len(vecs)} vectors")
        with _lock:
            shard = self._write(list(keys), vecs, seconds)
            # Indexed directly: re-reading the folder after every batch would cost O(shards²).
            self._shards[shard] = np.load(self.dir / f"{shard}.npy", mmap_mode="r")
            self._meta[shard] = {"n": len(keys), "seconds": seconds}
            for row, k in enumerate(keys):
                self._index[k] = (shard, row)
            self._loaded.add(shard)

    def read(self, keys: Sequence[bytes]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The vectors of cached keys, one shard at a time (memory stays at one shard's rows).

        Args:
            keys: Cached keys (see :meth:`lookup`).

        Yields:
            (positions in ``keys``, their vectors) per shard.
        """
        with _lock:
            self._refresh()
            by_shard: dict[str, tuple[list[int], list[int]]] = {}
            for pos, k in enumerate(keys):
                shard, row = self._index[k]
                entry = by_shard.setdefault(shard, ([], []))
                entry[0].append(pos)
                entry[1].append(row)
            shards = {s: self._shards[s] for s in by_shard}
        for shard, (positions, rows) in by_shard.items():
            vecs = np.asarray(shards[shard][rows], dtype=np.float32)
            release(shards[shard])
            yield np.asarray(positions, dtype=np.int64), vecs

    def recorded_rate(self, keys: Sequence[bytes]) -> float | None:
        """Texts per second recorded when the shards holding these keys were encoded.

        Args:
            keys: Cached keys.

        Returns:
            The rate, or None when nothing was timed.
        """
        with _lock:
            used = {self._index[k][0] for k in keys if k in self._index}
            n = sum(self._meta[s]["n"] for s in used)
            seconds = sum(self._meta[s]["seconds"] for s in used)
        return n / seconds if seconds > 0 else None

    def get_or_encode(
        self,
        texts: Sequence[str],
        prompt: str,
        encode: Callable[[list[str]], np.ndarray],
        *,
        chunk_size: int = 1024,
        progress: Callable[[int, int], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> tuple[np.ndarray, CacheStats]:
        """Vectors for ``texts``, encoding only those not cached yet.

        Misses are encoded longest first in chunks (the order sentence-transformers uses
        internally, so padding is as small as in one big call); each chunk is saved as a
        shard at once, so an interrupted run keeps its finished work.

        Args:
            texts: Raw texts (without prompt).
            prompt: The prompt the encoder applies (part of the key only).
            encode: Encodes a list of raw texts to a float32 matrix.
            chunk_size: Texts per encode call and shard.
            progress: Called with (done, total) after each chunk.
            clock: Time source (``time.perf_counter`` by default).

        Returns:
            The matrix (rows in the order of ``texts``) and what was done.
        """
        import time

        now = clock or time.perf_counter
        keys = [text_key(prompt, t) for t in texts]
        with _lock:
            self._refresh()
            hit_rows = {i for i, k in enumerate(keys) if k in self._index}
        missing: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if i not in hit_rows and k not in missing:
                missing[k] = i
        todo = sorted(missing.values(), key=lambda i: -len(texts[i]))
        seconds = 0.0
        total = len(todo)
        for start in range(0, total, chunk_size):
            idx = todo[start : start + chunk_size]
            t0 = now()
            vecs = np.asarray(encode([texts[i] for i in idx]), dtype=np.float32)
            dt = now() - t0
            seconds += dt
            if vecs.shape[0] != len(idx):
                raise RuntimeError(f"encoder returned {vecs.shape[0]} vectors for {len(idx)} texts")
            with _lock:
                self._write([keys[i] for i in idx], vecs, dt)
                self._refresh()
            if progress:
                progress(min(start + chunk_size, total), total)
        with _lock:
            self._refresh()
            shards_used = {self._index[k][0] for k in keys}
            rows = [self._index[k] for k in keys]
            dim = self._shards[rows[0][0]].shape[1] if rows else 0
            out = np.empty((len(keys), dim), dtype=np.float32)
            for shard in shards_used:
                sel = [i for i, (s, _) in enumerate(rows) if s == shard]
                out[sel] = self._shards[shard][[rows[i][1] for i in sel]]
            n_meta = sum(self._meta[s]["n"] for s in shards_used)
            s_meta = sum(self._meta[s]["seconds"] for s in shards_used)
        rate = n_meta / s_meta if s_meta > 0 else None
        hits = len(keys) - total
        return out, CacheStats(hits, total, seconds, rate)
