r"""``hash``: a feature-hashing bag-of-words encoder — for benchmarks and tests only, not a model to choose.

It turns text into a vector without any weights: lower-cased word tokens (``\w+``) are hashed
(BLAKE2b, so the same on every machine and in every process) to one of ``dim`` buckets with a
sign (signed feature hashing, Weinberger et al. 2009, so collisions cancel out on average),
counted, and the vector is L2-normalised. Retrieval with it is a crude lexical match; it exists
so that scale benchmarks (:mod:`bench.bench_scale`) and Ray tests can encode a million documents
in seconds on a CPU. It is never offered on a page (:func:`lib.evaluation.models.local_specs`
leaves it out), and its label says what it is.

Spec: ``hash`` (option ``dim``, default 384).

Public API: :data:`BACKEND`, :func:`resolve`, :class:`HashingEmbedder`, :data:`LABEL`.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

from lib.errors import UserError
from lib.evaluation.models.base import Backend, Embedder, Kind, ModelInfo, Retriever, Usage

KIND = "hash"
NAMES = ("hash",)
OPTIONS = frozenset({"dim"})
LABEL = "feature hashing (bench/test embedder)"
DEFAULT_DIM = 384
MAX_DIM = 65_536
#: Bump when the tokeniser or hash changes (part of the cache key through the revision).
VERSION = "1"

_TOKEN = re.compile(r"\w+")
_MEMO_MAX = 1 << 20  # distinct tokens remembered before the memo starts over


def resolve(spec: str, name: str, opts: dict[str, str]) -> ModelInfo:
    """The identity of the hashing encoder (its dimension is part of the revision and cache key).

    Args:
        spec: The spec as typed (kept as the label).
        name: Its name part (``hash``).
        opts: Parsed options (``dim``).

    Returns:
        A :class:`ModelInfo` of kind ``hash``.

    Raises:
        UserError: If ``dim`` is not a whole number from 1 to 65,536.
    """
    del name
    raw = opts.get("dim", str(DEFAULT_DIM))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_DIM:
        raise UserError(f"model {spec!r}: option dim must be a whole number from 1 to {MAX_DIM:,}")
    dim = int(raw)
    return ModelInfo(
        spec=spec, kind=KIND, name="hash", revision=f"v{VERSION}-dim{dim}", source="lib.evaluation.models.hashing",
        similarity="cosine", dim=dim, options=opts,
    )


class HashingEmbedder:
    """Signed feature hashing of word counts, L2-normalised (the same for queries and documents)."""

    def __init__(self, info: ModelInfo) -> None:
        """Set up the encoder.

        Args:
            info: From :func:`resolve`.
        """
        self.info = info
        self.dim = int(info.dim or DEFAULT_DIM)
        self._memo: dict[str, int] = {}

    def _code(self, token: str) -> int:
        """±(bucket + 1): the sign and bucket of a token (never 0)."""
        h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
        code = (h >> 1) % self.dim + 1
        code = code if h & 1 else -code
        if len(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[token] = code
        return code

    def encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Embed texts (``kind`` makes no difference: there are no prompts).

        Args:
            texts: Raw texts.
            kind: ``query`` or ``document``.

        Returns:
            (len(texts), dim) float32 unit vectors (all zeros for a text without word tokens).
        """
        del kind
        tokens: list[str] = []
        lengths = np.empty(len(texts), dtype=np.int64)
        for r, text in enumerate(texts):
            found = _TOKEN.findall(text.lower())
            tokens.extend(found)
            lengths[r] = len(found)
        memo = self._memo
        codes = np.fromiter((memo.get(t) or self._code(t) for t in tokens), dtype=np.int64, count=len(tokens))
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        flat = rows * self.dim + (np.abs(codes) - 1)
        counts = np.bincount(flat, weights=np.sign(codes).astype(np.float64), minlength=len(texts) * self.dim)
        out = counts.reshape(len(texts), self.dim).astype(np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=out, where=norms > 0)

    def usage(self) -> Usage:
        """No tokens are billed.

        Returns:
            Zero usage.
        """
        return Usage()


def _load(info: ModelInfo, api_key: str | None) -> Embedder | Retriever:
    del api_key
    return HashingEmbedder(info)


BACKEND = Backend(
    kind=KIND, options=OPTIONS, matches=lambda name: name.lower() in NAMES, resolve=resolve, load=_load,
    label=lambda _name: LABEL,
)
