"""FAISS block top-k equals a brute-force (score, id) sort and numpy's top_k, ties and odd block sizes included."""

import numpy as np
import pytest

from lib.evaluation import retrieval, topk
from lib.evaluation.streaming import DiskMatrix


def oracle(scores: np.ndarray, ids: list[str] | None, k: int) -> np.ndarray:
    """argsort of every document by score, then id, both descending (index ascending without ids)."""
    n = scores.shape[1]
    tie = np.argsort(np.argsort(np.asarray(ids, dtype=object))) if ids is not None else -np.arange(n)
    order = np.lexsort((np.broadcast_to(-tie, scores.shape), -scores), axis=1)
    return order[:, : min(k, n)]


def assert_same_ranking(idx: np.ndarray, ref: np.ndarray, full: np.ndarray) -> None:
    """Equal ids, except where float rounding (≤ 1e-6) can order two near-equal scores either way."""
    assert idx.shape == ref.shape
    got = np.take_along_axis(full, idx, axis=1)
    want = np.take_along_axis(full, ref, axis=1)
    assert np.allclose(got, want, atol=1e-6)
    differ = idx != ref
    assert differ.mean() < 0.01 and np.all(np.abs(got - want)[differ] < 1e-6)


@pytest.mark.parametrize("similarity", ["cosine", "dot", "euclidean"])
@pytest.mark.parametrize("block", [1, 7, 64, 333, 10_000])
def test_random_vectors_equal_brute_force_and_numpy(similarity, block):
    rng = np.random.default_rng(block)
    q = retrieval.prepare(rng.normal(size=(41, 24)), similarity)
    d = retrieval.prepare(rng.normal(size=(1000, 24)), similarity)
    ids = [f"doc-{rng.integers(10**9)}-{i}" for i in range(len(d))]
    idx, sc = topk.block_top_k(q, d, 30, similarity=similarity, doc_ids=ids, block_size=block)
    full = retrieval.score_matrix(q, d, similarity)
    assert_same_ranking(idx, oracle(full, ids, 30), full)
    assert np.allclose(sc, np.take_along_axis(full, idx, axis=1), atol=1e-5)
    n_idx, n_sc = retrieval.top_k(q, d, 30, similarity=similarity, doc_ids=ids)
    assert_same_ranking(idx, n_idx, full)
    assert np.allclose(sc, n_sc, atol=1e-5)


@pytest.mark.parametrize("similarity", ["dot", "euclidean"])
def test_exact_ties_are_ordered_by_id_descending_across_and_within_blocks(similarity):
    # Integer-valued vectors: every score is exact in float32, and ties are everywhere —
    # straddling the k-th place of a block, across blocks, and longer than k+1 (the re-search).
    rng = np.random.default_rng(7)
    for trial in range(40):
        n = int(rng.integers(10, 700))
        d = rng.integers(-1, 2, size=(n, 3)).astype(np.float32)
        q = rng.integers(-1, 2, size=(int(rng.integers(1, 30)), 3)).astype(np.float32)
        ids = [f"{rng.integers(10**6):06d}-{i}" for i in range(n)]
        k = int(rng.integers(1, min(n, 40) + 1))
        block = int(rng.integers(1, n + 5))
        idx, sc = topk.block_top_k(q, d, k, similarity=similarity, doc_ids=ids, block_size=block)
        full = retrieval.score_matrix(q, d, similarity)
        assert np.array_equal(idx, oracle(full, ids, k)), (trial, n, k, block)
        assert np.array_equal(sc, np.take_along_axis(full, idx, axis=1))


def test_without_ids_ties_keep_index_order_and_k_is_capped():
    d = np.ones((5, 2), dtype=np.float32)
    q = np.ones((3, 2), dtype=np.float32)
    idx, _ = topk.block_top_k(q, d, 3, similarity="dot", block_size=2)
    assert idx.tolist() == [[0, 1, 2]] * 3
    idx, sc = topk.block_top_k(q, d, 50, similarity="dot", block_size=2)
    assert idx.shape == sc.shape == (3, 5)


def test_memory_mapped_corpus_gives_the_same_result(tmp_path):
    rng = np.random.default_rng(1)
    d = retrieval.prepare(rng.normal(size=(2500, 16)), "cosine")
    q = retrieval.prepare(rng.normal(size=(25, 16)), "cosine")
    m = DiskMatrix(len(d), directory=tmp_path)
    m.put(np.arange(len(d))[::-1], d[::-1])  # rows written out of order
    mapped = m.finish()
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    a = topk.block_top_k(q, mapped, 10, block_size=300)
    b = topk.block_top_k(q, d, 10, block_size=300)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_other_similarities_go_to_numpy():
    packed = np.array([[0b1010], [0b1111], [0b0000]], dtype=np.uint8)
    idx, _ = topk.block_top_k(np.array([[0b1010]], dtype=np.uint8), packed, 2, similarity="hamming")
    assert idx.tolist() == [[0, 1]]


def test_block_size_setting(monkeypatch):
    calls = []
    real = topk._search

    def spy(faiss, q, block, kk, similarity, gpu):
        calls.append(len(block))
        return real(faiss, q, block, kk, similarity, gpu)

    monkeypatch.setattr(topk, "_search", spy)
    monkeypatch.setenv("EMS_TOPK_BLOCK", "40")
    rng = np.random.default_rng(0)
    d = retrieval.prepare(rng.normal(size=(100, 8)), "cosine")
    topk.block_top_k(d[:3], d, 5)
    assert calls == [40, 40, 20]
