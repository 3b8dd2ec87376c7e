"""The ``hash`` bench/test embedder: signed feature hashing of word counts, checked against a hand computation."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lib.errors import UserError
from lib.evaluation import models
from lib.evaluation.models import hashing

ROOT = Path(__file__).resolve().parent.parent


def by_hand(text: str, dim: int) -> np.ndarray:
    """The definition, one token at a time: bucket and sign from BLAKE2b, counts, L2 norm."""
    v = np.zeros(dim)
    for tok in __import__("re").findall(r"\w+", text.lower()):
        h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=8).digest(), "little")
        v[(h >> 1) % dim] += 1.0 if h & 1 else -1.0
    n = np.linalg.norm(v)
    return v / n if n else v


def test_spec_identity_and_label():
    info = models.resolve("hash")
    assert (info.kind, info.dim, info.similarity) == ("hash", 384, "cosine")
    assert models.resolve("hash?dim=64").cache_key != info.cache_key  # the dimension changes vectors
    assert models.display_label("hash?dim=64") == hashing.LABEL and "bench" in hashing.LABEL
    assert "hash" not in models.local_specs()  # never offered as a model to choose
    for bad in ("hash?dim=0", "hash?dim=x", "hash?dim=70000"):
        with pytest.raises(UserError, match="dim must be a whole number"):
            models.resolve(bad)
    with pytest.raises(UserError, match="unknown option"):
        models.resolve("hash?dimensions=3")


def test_vectors_match_the_definition():
    model = models.load(models.resolve("hash?dim=32"))
    texts = ["The cat sat on the mat", "MAT the on sat cat The", "", "!!! ...", "naïve café, naïve"]
    got = model.encode(texts, "document")
    assert got.dtype == np.float32 and got.shape == (5, 32)
    for row, text in zip(got, texts, strict=True):
        assert np.allclose(row, by_hand(text, 32), atol=1e-6)
    assert np.array_equal(got[0], got[1])  # a bag of words: order and case do not matter
    assert not got[2].any() and not got[3].any()
    assert np.allclose(np.linalg.norm(got[[0, 4]], axis=1), 1.0, atol=1e-6)
    assert np.array_equal(model.encode(texts, "query"), got)  # no prompts


def test_same_vectors_in_another_process():
    code = ("from lib.evaluation import models; m = models.load(models.resolve('hash?dim=16'));"
            "print(m.encode(['alpha beta beta gamma'], 'document')[0].tobytes().hex())")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout.strip()
    here = models.load(models.resolve("hash?dim=16")).encode(["alpha beta beta gamma"], "document")[0]
    assert out == here.tobytes().hex()
