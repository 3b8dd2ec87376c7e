"""Streaming corpus encoding: only misses encoded, shards written per batch, document order kept, disk-backed."""

import contextlib

import numpy as np
import pytest

from lib.evaluation import retrieval, streaming
from lib.evaluation.cache import EmbeddingCache


def fake_vec(text: str) -> list[float]:
    return [float(len(text)), float(sum(map(ord, text)) % 101), 1.0]


class Counting:
    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, texts):
        self.seen.extend(texts)
        return np.array([fake_vec(t) for t in texts], dtype=np.float32)


def reversed_stream(encode):
    """Batches come back in reverse order, as a Ray pool may return them."""
    inner = streaming.local_stream(encode)

    def run(texts, todo, batch_size):
        yield from reversed(list(inner(texts, todo, batch_size)))

    return run


def test_vectors_in_document_order_with_repeats_and_hits(tmp_path):
    texts = ["aa", "b", "aa", "cccc", "dd", "b", "eee"]
    enc = Counting()
    cache = EmbeddingCache("m", root=tmp_path / "c")
    first = streaming.encode_documents(texts, "p: ", reversed_stream(enc), cache=cache, batch_size=2)
    want = np.array([fake_vec(t) for t in texts], dtype=np.float32)
    assert np.array_equal(first.vectors, want)
    assert isinstance(first.vectors, np.memmap) and not first.vectors.flags.writeable
    assert sorted(enc.seen) == sorted(set(texts))  # each distinct text once
    assert enc.seen[:2] == ["cccc", "eee"]  # longest first
    assert (first.hits, first.misses) == (2, 5) and first.rate is not None
    # Shards: one per batch of two.
    assert len(list((tmp_path / "c" / "m").glob("*.keys.npy"))) == 3
    # A second corpus sharing texts: only the new one is encoded; the hits are copied from shards.
    enc2 = Counting()
    again = streaming.encode_documents(["eee", "zz", "aa"], "p: ", streaming.local_stream(enc2),
                                       cache=EmbeddingCache("m", root=tmp_path / "c"))
    assert enc2.seen == ["zz"] and (again.hits, again.misses) == (2, 1)
    assert np.array_equal(again.vectors, np.array([fake_vec(t) for t in ["eee", "zz", "aa"]], np.float32))
    # All cached: nothing encoded, the rate is the recorded one.
    enc3 = Counting()
    third = streaming.encode_documents(texts, "p: ", streaming.local_stream(enc3), cache=cache)
    assert enc3.seen == [] and third.misses == 0 and third.seconds == 0 and third.rate == pytest.approx(first.rate)
    assert np.array_equal(third.vectors, want)
    # The old whole-matrix API reads the same shards.
    got, stats = EmbeddingCache("m", root=tmp_path / "c").get_or_encode(texts, "p: ", Counting())
    assert stats.misses == 0 and np.array_equal(got, want)


def test_without_cache_nothing_is_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path))
    out = streaming.encode_documents(["x", "yy", "x"], "", streaming.local_stream(Counting()), cache=None)
    assert (out.hits, out.misses) == (1, 2)
    assert not (tmp_path / "embeddings").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["work"]  # the unnamed vectors file leaves no name
    assert not list((tmp_path / "work").iterdir())


def test_crash_mid_stream_keeps_finished_batches(tmp_path):
    calls = {"n": 0}

    def flaky(texts):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return Counting()(texts)

    texts = ["aaa", "bb", "c"]
    with contextlib.suppress(RuntimeError):
        streaming.encode_documents(texts, "", streaming.local_stream(flaky),
                                   cache=EmbeddingCache("m", root=tmp_path), batch_size=1)
    enc = Counting()
    out = streaming.encode_documents(texts, "", streaming.local_stream(enc), cache=EmbeddingCache("m", root=tmp_path))
    assert enc.seen == ["bb", "c"] and out.hits == 1


def test_wrong_counts_and_widths_are_errors(tmp_path):
    with pytest.raises(RuntimeError, match="1 vectors for 2 texts"):
        streaming.encode_documents(["a", "b"], "", streaming.local_stream(lambda t: np.ones((1, 2), np.float32)),
                                   cache=None)

    def short(texts, todo, batch_size):
        yield np.asarray(todo[:1]), np.ones((1, 2), np.float32), 0.1

    with pytest.raises(RuntimeError, match="returned 1 vectors for 2 texts"):
        streaming.encode_documents(["a", "b"], "", short, cache=None)
    m = streaming.DiskMatrix(3, directory=tmp_path)
    m.put(np.array([0]), np.ones((1, 4), np.float32))
    with pytest.raises(RuntimeError, match="2-dimensional vectors after 4"):
        m.put(np.array([1]), np.ones((1, 2), np.float32))
    with pytest.raises(RuntimeError, match="2 of 3 rows were never written"):
        m.finish()


def test_prepared_normalises_a_memory_map_on_disk_row_for_row(tmp_path, monkeypatch):
    monkeypatch.setenv("EMS_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(1000, 12)).astype(np.float32)
    m = streaming.DiskMatrix(len(raw))
    m.put(np.arange(len(raw)), raw)
    mapped = m.finish()
    prep = streaming.prepared(mapped, "cosine", block=128)
    assert isinstance(prep, np.memmap)
    assert np.array_equal(prep, retrieval.prepare(raw, "cosine"))  # bit for bit, whatever the block
    assert streaming.prepared(mapped, "dot") is mapped
    assert np.array_equal(streaming.prepared(raw, "cosine"), retrieval.prepare(raw, "cosine"))
