"""Exact top-k retrieval in bounded memory, and the dimension/precision sweep.

Public API:

* :func:`prepare` — apply the similarity's normalisation once (cosine → unit vectors).
* :func:`top_k` — exact top-k by ``cosine``, ``dot`` or ``euclidean`` similarity,
  scoring the corpus in blocks of ``query_chunk × doc_chunk`` so memory stays bounded
  whatever the corpus size. Ties are ordered as trec_eval orders them (score, then
  document id, both descending), so stored rankings match the metrics. With ``doc_starts``
  the rows are chunks and a document scores as its best chunk (MaxP), exactly: the maximum
  over all of its chunks is taken block by block before the top-k.
* :func:`sweep_variants` — truncated dimensions (Matryoshka) × ``float32``/``int8``/
  ``binary`` quantisation from the same full-precision vectors, without re-encoding.
* :func:`to_run` — turn indices and scores into the ``{qid: {docid: score}}`` run.
* :func:`tie_ranks`, :func:`keep_best` — the tie order and the exact top-k selection that
  :func:`top_k` and the FAISS block search (:mod:`lib.evaluation.topk`) share.
* :func:`release` — drop a memory-mapped matrix's pages from this process after a block is read.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

PRECISIONS = ("float32", "int8", "binary")


def prepare(emb: np.ndarray, similarity: str) -> np.ndarray:
    """Vectors ready for the similarity (cosine: L2-normalised; others unchanged).

    Args:
        emb: Float matrix.
        similarity: ``cosine``, ``dot`` or ``euclidean``.

    Returns:
        A float32 matrix.
    """
    x = np.asarray(emb, dtype=np.float32)
    if similarity == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.maximum(norms, 1e-12)
    return x


def release(arr: np.ndarray) -> None:
    """Drop the pages of a memory-mapped matrix from this process (a no-op for arrays in memory).

    Searching a corpus block by block touches every page of its vectors file; without this the
    pages stay mapped and the process's resident memory grows to the file's size. The data stays
    in the file (and the OS page cache), so later reads simply fault the pages in again.

    Args:
        arr: Any array; a :class:`numpy.memmap` (or a view of one) is released.
    """
    mapping = getattr(arr, "_mmap", None)
    if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        with contextlib.suppress(ValueError, OSError):  # closed, or the platform refuses
            mapping.madvise(mmap.MADV_DONTNEED)


def tie_ranks(doc_ids: Sequence[str] | None, n_docs: int) -> np.ndarray:
    """Each document's tie-break key: larger wins a score tie.

    Args:
        doc_ids: Document ids (trec_eval orders ties by id, descending), or None for index order.
        n_docs: Number of documents.

    Returns:
        int64 keys, one per document index.
    """
    if doc_ids is None:
        return -np.arange(n_docs, dtype=np.int64)  # lower index first
    order = np.argsort(np.asarray(doc_ids, dtype=object), kind="stable")
    ranks = np.empty(n_docs, dtype=np.int64)
    ranks[order] = np.arange(n_docs)
    return ranks


def keep_best(
    scores: np.ndarray, idx: np.ndarray, k: int, ranks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best candidates per row by (score, tie rank), both descending — exactly.

    ``argpartition`` on scores alone picks an arbitrary subset of the documents tied at the
    cut; rows where a tie straddles the cut are re-selected by the full order, so a tied
    document with the larger id is never dropped for one with a smaller id.

    Args:
        scores: (n, m) candidate scores.
        idx: (n, m) their document indices.
        k: How many to keep (rows keep all when ``m <= k``).
        ranks: :func:`tie_ranks` of the documents.

    Returns:
        (scores, indices), each (n, min(k, m)), in no particular order.
    """
    if scores.shape[1] <= k:
        return scores, idx
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    best_s = np.take_along_axis(scores, part, axis=1)
    best_i = np.take_along_axis(idx, part, axis=1)
    kth = best_s.min(axis=1)
    at_least = scores >= kth[:, None]
    for r in np.flatnonzero(at_least.sum(axis=1) > k):
        # Only the candidates scoring at least the k-th are sorted (coarse scores tie by thousands).
        cand = np.flatnonzero(at_least[r])
        order = cand[np.lexsort((-ranks[idx[r, cand]], -scores[r, cand]))[:k]]
        best_s[r], best_i[r] = scores[r, order], idx[r, order]
    return best_s, best_i


def sort_best(scores: np.ndarray, idx: np.ndarray, ranks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Order each row best first: score descending, ties by tie rank descending (trec_eval's order).

    Args:
        scores: (n, k) scores.
        idx: (n, k) document indices.
        ranks: :func:`tie_ranks` of the documents.

    Returns:
        The sorted (scores, indices).
    """
    order = np.lexsort((-ranks[idx], -scores), axis=1)
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(idx, order, axis=1)


def score_matrix(q: np.ndarray, d: np.ndarray, similarity: str) -> np.ndarray:
    """Scores of every (query, document) pair: larger is better.

    Args:
        q: Prepared queries.
        d: Prepared documents.
        similarity: ``cosine`` / ``dot``, ``euclidean`` (−distance) or ``hamming`` (−differing bits).

    Returns:
        (n_queries, n_docs) scores.
    """
    if similarity == "euclidean":
        # −‖q−d‖: larger is closer, so top-k by similarity is nearest neighbours.
        sq = (q * q).sum(1)[:, None] + (d * d).sum(1)[None, :] - 2.0 * (q @ d.T)
        return -np.sqrt(np.maximum(sq, 0.0))
    if similarity == "hamming":
        # Packed bits: similarity = −(differing bits).
        x = np.bitwise_xor(q[:, None, :], d[None, :, :])
        return -np.bitwise_count(x).sum(axis=2, dtype=np.int32).astype(np.float32)
    if q.dtype == np.int8:
        return (q.astype(np.int32) @ d.astype(np.int32).T).astype(np.float32)
    return q @ d.T


def top_k(
    queries: np.ndarray,
    docs: np.ndarray,
    k: int,
    *,
    similarity: str = "cosine",
    doc_ids: Sequence[str] | None = None,
    query_chunk: int = 256,
    doc_chunk: int = 16_384,
    doc_starts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k documents per query.

    Args:
        queries: (n_queries, dim), already :func:`prepare`-d.
        docs: (n_docs, dim), already prepared; with ``doc_starts``, (n_chunks, dim).
        k: How many documents per query (capped at n_docs).
        similarity: ``cosine`` / ``dot`` (inner product), ``euclidean`` or ``hamming``
            (packed binary vectors).
        doc_ids: Ids used to break score ties as trec_eval does; None keeps index order.
        query_chunk: Queries scored per block.
        doc_chunk: Rows scored per block (memory ≈ query_chunk × doc_chunk × 4 B).
        doc_starts: (n_docs + 1,) increasing row offsets: document ``i`` owns rows
            ``doc_starts[i]:doc_starts[i + 1]`` (at least one) and scores as its best row (MaxP).
            None: one row per document.

    Returns:
        (indices, scores) of shape (n_queries, k), best first (document indices).

    Raises:
        ValueError: If ``doc_starts`` does not cover the rows, or a document has no row.
    """
    n_q = len(queries)
    if doc_starts is not None:
        starts = np.asarray(doc_starts, dtype=np.int64)
        if starts.ndim != 1 or len(starts) < 1 or starts[0] != 0 or starts[-1] != len(docs) \
                or np.any(np.diff(starts) < 1):
            raise ValueError("doc_starts must run from 0 to the number of rows, at least one row per document")
        n_d = len(starts) - 1
    else:
        starts = None
        n_d = len(docs)
    k = min(k, n_d)
    out_i = np.zeros((n_q, k), dtype=np.int64)
    out_s = np.zeros((n_q, k), dtype=np.float32)
    if k == 0:
        return out_i, out_s
    ranks = tie_ranks(doc_ids, n_d)
    for qs in range(0, n_q, query_chunk):
        q = queries[qs : qs + query_chunk]
        best_s = np.full((len(q), 0), -np.inf, dtype=np.float32)
        best_i = np.zeros((len(q), 0), dtype=np.int64)
        for ds, de in _blocks(starts, n_d, doc_chunk):
            if starts is None:
                s = score_matrix(q, docs[ds:de], similarity).astype(np.float32)
            else:  # MaxP: each document's best chunk
                rows = score_matrix(q, docs[starts[ds] : starts[de]], similarity).astype(np.float32)
                s = np.maximum.reduceat(rows, starts[ds:de] - starts[ds], axis=1)
            idx = np.broadcast_to(np.arange(ds, ds + s.shape[1]), s.shape)
            best_s, best_i = keep_best(np.concatenate([best_s, s], axis=1),
                                       np.concatenate([best_i, idx], axis=1), k, ranks)
            release(docs)  # a memory-mapped corpus: its pages need not stay in this process
        # Final order: score descending, ties by document id descending.
        out_s[qs : qs + len(q)], out_i[qs : qs + len(q)] = sort_best(best_s, best_i, ranks)
    return out_i, out_s


def _blocks(starts: np.ndarray | None, n_d: int, rows: int) -> Iterator[tuple[int, int]]:
    """Document ranges ``[ds, de)`` of about ``rows`` rows each (at least one document each)."""
    ds = 0
    while ds < n_d:
        if starts is None:
            de = min(ds + rows, n_d)
        else:
            de = int(np.searchsorted(starts, starts[ds] + rows, side="right")) - 1
            de = min(max(de, ds + 1), n_d)
        yield ds, de
        ds = de


def to_run(
    query_ids: Sequence[str], doc_ids: Sequence[str], idx: np.ndarray, scores: np.ndarray
) -> dict[str, dict[str, float]]:
    """The pytrec_eval run for top-k results.

    Args:
        query_ids: Query ids, row order of ``idx``.
        doc_ids: Document ids, indexed by ``idx`` values.
        idx: (n_queries, k) document indices.
        scores: (n_queries, k) scores.

    Returns:
        ``{query_id: {doc_id: score}}``.
    """
    return {
        q: {doc_ids[int(j)]: float(s) for j, s in zip(idx[r], scores[r], strict=True)}
        for r, q in enumerate(query_ids)
    }


@dataclass(frozen=True)
class Variant:
    """One cell of the sweep, already scored.

    Attributes:
        dim: Dimensions kept (leading ones).
        precision: ``float32``, ``int8`` or ``binary``.
        index_bytes: Size of the document vectors at this setting.
        idx: Top-k indices.
        scores: Top-k scores.
    """

    dim: int
    precision: str
    index_bytes: int
    idx: np.ndarray
    scores: np.ndarray


def sweep_dims(full: int) -> list[int]:
    """Matryoshka dimensions to try: powers of two from 64 below ``full``, then ``full``.

    Args:
        full: The model's dimension.

    Returns:
        Increasing dimensions ending with ``full``.
    """
    dims = [d for d in (32, 64, 128, 256, 512, 768, 1024, 2048) if 64 <= d < full]
    return [*dims, full]


def sweep_variants(
    queries: np.ndarray,
    docs: np.ndarray,
    k: int,
    *,
    similarity: str,
    doc_ids: Sequence[str] | None = None,
    dims: Sequence[int] | None = None,
    precisions: Sequence[str] = PRECISIONS,
    doc_starts: np.ndarray | None = None,
) -> Iterator[Variant]:
    """Re-score truncated and quantised versions of the same vectors.

    Truncation keeps the leading dimensions and, for cosine, re-normalises (what
    Matryoshka models are trained for; other models simply lose quality). ``int8`` uses
    sentence-transformers' calibrated scalar quantisation (per-dimension ranges from the
    documents, applied to queries too) with an integer dot product; ``binary`` packs
    signs and ranks by Hamming distance.

    Args:
        queries: Raw (unprepared) query vectors.
        docs: Raw document vectors.
        k: Top-k to keep.
        similarity: The model's similarity.
        doc_ids: For trec_eval tie order.
        dims: Dimensions to try (default :func:`sweep_dims`).
        precisions: Subset of :data:`PRECISIONS`.
        doc_starts: Rows are chunks: document ``i`` owns rows ``doc_starts[i]:doc_starts[i + 1]``
            and scores as its best chunk (MaxP); the index size counts every chunk.

    Yields:
        One :class:`Variant` per (dim, precision).
    """
    from sentence_transformers.quantization import quantize_embeddings

    full = docs.shape[1]
    for dim in dims or sweep_dims(full):
        if dim > full or dim <= 0:
            continue
        sim = similarity if similarity in ("cosine", "dot", "euclidean") else "cosine"
        q = prepare(queries[:, :dim], sim)
        d = prepare(docs[:, :dim], sim)
        for prec in precisions:
            if prec == "float32":
                i, s = top_k(q, d, k, similarity=sim, doc_ids=doc_ids, doc_starts=doc_starts)
                size = d.shape[0] * dim * 4
            elif prec == "int8":
                ranges = np.vstack([d.min(axis=0), d.max(axis=0)])
                qi = quantize_embeddings(q, precision="int8", ranges=ranges)
                di = quantize_embeddings(d, precision="int8", ranges=ranges)
                i, s = top_k(qi, di, k, similarity="dot", doc_ids=doc_ids, doc_starts=doc_starts)
                size = d.shape[0] * dim
            elif prec == "binary":
                qb = quantize_embeddings(q, precision="ubinary")
                db = quantize_embeddings(d, precision="ubinary")
                i, s = top_k(qb, db, k, similarity="hamming", doc_ids=doc_ids,
                             doc_chunk=2048, query_chunk=64, doc_starts=doc_starts)
                size = int(db.nbytes)
            else:
                raise ValueError(f"unknown precision {prec!r}")
            yield Variant(dim, prec, int(size), i, s)
