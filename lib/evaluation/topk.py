"""Exact top-k with FAISS over corpus blocks, merged — the same ranking as :func:`retrieval.top_k`.

The corpus (an array, or a memory-mapped file from :mod:`lib.evaluation.streaming`) is cut
into blocks of ``EMS_TOPK_BLOCK`` documents. Each block is searched exactly with a FAISS flat
index (``IndexFlatIP`` on prepared vectors for cosine and dot, ``IndexFlatL2`` for euclidean;
on a GPU when FAISS sees one) for its top ``k + 1``, and the per-block lists are merged into the
running top-k (a k-way merge, one block at a time), so memory is one block plus ``n_queries × k``.

Ties are ordered exactly as :func:`lib.evaluation.retrieval.top_k` orders them — score
descending, then document id descending (trec_eval's order) — including at the cut: FAISS keeps
an arbitrary member of a tie that straddles its k-th place, so for a query whose k-th and
(k+1)-th results in a block score the same, that block is re-scored exactly with numpy and
re-selected by (score, id). Scores are float32 inner products (BLAS, as numpy computes them),
so results equal numpy's up to float rounding (1e-6 on scores; ranks can differ only between
documents whose scores differ by less than that).

Public API: :func:`block_top_k`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lib.config import get_settings
from lib.evaluation import retrieval

#: Similarities searched with FAISS; others (``hamming``, int8 sweeps) use numpy.
FAISS_SIMILARITIES = ("cosine", "dot", "euclidean")
#: Queries scored at a time with numpy when a tie covers most of a block (memory ≈ this × block × 12 B).
_TIED_ROWS = 32


def _gpus(faiss: Any) -> int:
    get = getattr(faiss, "get_num_gpus", None)
    return int(get()) if get is not None else 0


def _search(
    faiss: Any, q: np.ndarray, block: np.ndarray, kk: int, similarity: str, gpu: bool
) -> tuple[np.ndarray, np.ndarray]:
    """FAISS exact search of one block: (scores, block-local indices), best first."""
    dim = block.shape[1]
    index = faiss.IndexFlatL2(dim) if similarity == "euclidean" else faiss.IndexFlatIP(dim)
    if gpu:
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(block)
    dist, idx = index.search(q, kk)
    scores = -np.sqrt(np.maximum(dist, 0.0)) if similarity == "euclidean" else dist
    return scores.astype(np.float32, copy=False), idx.astype(np.int64, copy=False)


def _block_best(
    faiss: Any, q: np.ndarray, blk: np.ndarray, k: int, similarity: str, gpu: bool, ranks: np.ndarray, start: int
) -> tuple[np.ndarray, np.ndarray]:
    """One block's exact top-k per query (global indices), ties at the cut settled by (score, id).

    FAISS returns ``k + 1``; where the last one returned still ties the k-th, more documents may
    share that score, so those queries are searched again for 4× as many (up to the whole
    block, or scored with numpy once that is cheaper) until every tied document is in hand.
    """
    nb = len(blk)
    kk = min(k + 1, nb)
    s, i = _search(faiss, q, blk, kk, similarity, gpu)
    # Rows whose last returned score still equals the k-th: the tie may go on past what came back.
    pending = np.flatnonzero(s[:, kk - 1] == s[:, k - 1]) if kk < nb else np.zeros(0, dtype=np.int64)
    s, i = np.ascontiguousarray(s[:, :k]), np.ascontiguousarray(i[:, :k])
    i += start
    while pending.size:
        kk = min(nb, kk * 4)
        if kk * 4 >= nb:  # most of the block anyway: score it all with numpy, a few rows at a time
            for c in range(0, pending.size, _TIED_ROWS):
                rows = pending[c : c + _TIED_ROWS]
                exact = retrieval.score_matrix(q[rows], blk, similarity).astype(np.float32)
                cand = np.broadcast_to(np.arange(start, start + nb), exact.shape)
                s[rows], i[rows] = retrieval.keep_best(exact, cand, k, ranks)
            break
        ps, pi = _search(faiss, np.ascontiguousarray(q[pending]), blk, kk, similarity, gpu)
        s[pending], i[pending] = retrieval.keep_best(ps, pi + start, k, ranks)
        pending = pending[ps[:, kk - 1] == ps[:, k - 1]]
    return s, i


def block_top_k(
    queries: np.ndarray,
    docs: np.ndarray,
    k: int,
    *,
    similarity: str = "cosine",
    doc_ids: Sequence[str] | None = None,
    block_size: int | None = None,
    use_gpu: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k documents per query, block by block, with FAISS.

    Args:
        queries: (n_queries, dim), already :func:`~lib.evaluation.retrieval.prepare`-d.
        docs: (n_docs, dim), already prepared; a :class:`numpy.memmap` is read a block at a
            time and its pages released after each block.
        k: Documents per query (capped at n_docs).
        similarity: ``cosine``, ``dot`` or ``euclidean`` (others go to numpy's
            :func:`~lib.evaluation.retrieval.top_k`).
        doc_ids: Ids for trec_eval's tie order; None keeps index order.
        block_size: Documents per block (default ``EMS_TOPK_BLOCK``).
        use_gpu: Search on GPUs (default: when FAISS sees one).

    Returns:
        (indices, scores) of shape (n_queries, k), best first.
    """
    if similarity not in FAISS_SIMILARITIES:
        return retrieval.top_k(queries, docs, k, similarity=similarity, doc_ids=doc_ids)
    import faiss

    n_q, n_d = len(queries), len(docs)
    k = min(k, n_d)
    if k == 0 or n_q == 0:
        return np.zeros((n_q, k), dtype=np.int64), np.zeros((n_q, k), dtype=np.float32)
    block = max(1, block_size or get_settings().topk_block)
    gpu = _gpus(faiss) > 0 if use_gpu is None else use_gpu
    ranks = retrieval.tie_ranks(doc_ids, n_d)
    q = np.ascontiguousarray(queries, dtype=np.float32)
    best_s = np.zeros((n_q, 0), dtype=np.float32)
    best_i = np.zeros((n_q, 0), dtype=np.int64)
    for start in range(0, n_d, block):
        blk = np.ascontiguousarray(docs[start : start + block], dtype=np.float32)
        s, i = _block_best(faiss, q, blk, k, similarity, gpu, ranks, start)
        best_s, best_i = retrieval.keep_best(np.concatenate([best_s, s], axis=1),
                                             np.concatenate([best_i, i], axis=1), k, ranks)
        del blk
        retrieval.release(docs)
    out_s, out_i = retrieval.sort_best(best_s, best_i, ranks)
    return out_i, out_s
