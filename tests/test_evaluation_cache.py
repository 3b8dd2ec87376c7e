import contextlib

import numpy as np

from lib.evaluation.cache import EmbeddingCache


class Counting:
    def __init__(self):
        self.seen: list[str] = []

    def __call__(self, texts):
        self.seen.extend(texts)
        return np.array([[len(t), hash(t) % 97] for t in texts], dtype=np.float32)


def test_hits_misses_and_shared_documents(tmp_path):
    enc = Counting()
    cache = EmbeddingCache("model-a", root=tmp_path)
    a, s1 = cache.get_or_encode(["x", "yy", "x"], "p: ", enc, chunk_size=1)
    assert (s1.hits, s1.misses) == (1, 2) and sorted(enc.seen) == ["x", "yy"]
    assert np.array_equal(a[0], a[2])
    # A new cache object (a re-run) and a second dataset sharing "yy".
    again = EmbeddingCache("model-a", root=tmp_path)
    b, s2 = again.get_or_encode(["yy", "zzz"], "p: ", enc)
    assert (s2.hits, s2.misses) == (1, 1) and enc.seen[-1] == "zzz"
    assert np.array_equal(b[0], a[1])
    assert s2.cached_rate is None or s2.cached_rate > 0


def test_key_includes_prompt_and_model(tmp_path):
    enc = Counting()
    EmbeddingCache("m", root=tmp_path).get_or_encode(["t"], "query: ", enc)
    _, s = EmbeddingCache("m", root=tmp_path).get_or_encode(["t"], "passage: ", enc)
    assert s.misses == 1
    _, s = EmbeddingCache("other", root=tmp_path).get_or_encode(["t"], "query: ", enc)
    assert s.misses == 1


def test_crash_mid_encode_keeps_finished_chunks(tmp_path):
    calls = {"n": 0}

    def flaky(texts):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("boom")
        return np.ones((len(texts), 2), np.float32)

    cache = EmbeddingCache("m", root=tmp_path)
    with contextlib.suppress(RuntimeError):
        cache.get_or_encode(["aaa", "bb", "c"], "", flaky, chunk_size=1)
    _, s = EmbeddingCache("m", root=tmp_path).get_or_encode(
        ["aaa", "bb", "c"], "", lambda t: np.ones((len(t), 2), np.float32)
    )
    assert (s.hits, s.misses) == (1, 2)
    assert not list(tmp_path.rglob(".tmp-*"))


def test_many_keys_round_trip(tmp_path):
    # Thousands of keys: some digests end in zero bytes, which must survive storage.
    texts = [f"text {i}" for i in range(3000)]
    enc = lambda t: np.arange(len(t) * 2, dtype=np.float32).reshape(len(t), 2)  # noqa: E731
    first, _ = EmbeddingCache("m", root=tmp_path).get_or_encode(texts, "", enc)
    again, s = EmbeddingCache("m", root=tmp_path).get_or_encode(texts[::-1], "", enc)
    assert s.misses == 0 and np.array_equal(again, first[::-1])
