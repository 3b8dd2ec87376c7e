"""BM25 (bm25s) as the lexical baseline: it indexes and searches by itself.

Spec: ``bm25`` (or ``bm25s``); options ``k1``, ``b``, ``stopwords`` (BEIR/Anserini
defaults k1=0.9, b=0.4, English stopwords).

Public API: :data:`BACKEND`, :func:`resolve`, :class:`BM25Retriever`, :data:`MTEB_NAME`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lib.evaluation.models.base import Backend, Embedder, ModelInfo, Retriever, Usage

KIND = "bm25"
NAMES = ("bm25", "bm25s")
OPTIONS = frozenset({"k1", "b", "stopwords"})
#: mteb's name for the BM25 baseline.
MTEB_NAME = "mteb/baseline-bm25s"
LABEL = "BM25"


def resolve(spec: str, name: str, opts: dict[str, str]) -> ModelInfo:
    """The identity of the BM25 baseline (the bm25s version is its revision).

    Args:
        spec: The spec as typed (kept as the label).
        name: Its name part.
        opts: Parsed, checked options.

    Returns:
        A :class:`ModelInfo` of kind ``bm25``.
    """
    del name
    from importlib.metadata import version

    return ModelInfo(
        spec=spec, kind=KIND, name="bm25", revision=f"bm25s=={version('bm25s')}",
        source="bm25s", similarity="bm25", options=opts,
    )


class BM25Retriever:
    """BM25 (bm25s) as the lexical baseline: index once, retrieve top-k."""

    def __init__(self, info: ModelInfo) -> None:
        """Configure (BEIR/Anserini defaults k1=0.9, b=0.4, English stopwords).

        Args:
            info: From :func:`resolve` (kind ``bm25``).
        """
        self.info = info
        self.k1 = float(info.options.get("k1", 0.9))
        self.b = float(info.options.get("b", 0.4))
        sw = info.options.get("stopwords", "en")
        self.stopwords: str | None = None if sw in ("", "none") else sw
        self._model: Any = None
        self._n_docs = 0

    def index(self, texts: Sequence[str]) -> None:
        """Build the index over the documents.

        Args:
            texts: Document texts.
        """
        import bm25s

        tokens = bm25s.tokenize(list(texts), stopwords=self.stopwords, show_progress=False)
        self._model = bm25s.BM25(k1=self.k1, b=self.b)
        self._model.index(tokens, show_progress=False)
        self._n_docs = len(texts)

    def index_bytes(self) -> int:
        """Bytes of the sparse score matrix and vocabulary ids.

        Returns:
            The index size.
        """
        if self._model is None:
            return 0
        total = 0
        for arr in self._model.scores.values():
            if isinstance(arr, np.ndarray):
                total += int(arr.nbytes)
        return total

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k documents per query.

        Args:
            queries: Query texts.
            k: How many documents.

        Returns:
            (indices, scores), each of shape (len(queries), min(k, n_docs)).
        """
        import bm25s

        k = min(k, self._n_docs)
        tokens = bm25s.tokenize(list(queries), stopwords=self.stopwords, return_ids=False,
                                show_progress=False)
        res = self._model.retrieve(tokens, k=k, show_progress=False)
        idx = np.asarray(res.documents, dtype=np.int64)
        scores = np.asarray(res.scores, dtype=np.float32)
        return idx, scores

    def usage(self) -> Usage:
        """BM25 costs no tokens.

        Returns:
            Zero usage.
        """
        return Usage()


def _load(info: ModelInfo, api_key: str | None) -> Embedder | Retriever:
    del api_key
    return BM25Retriever(info)


BACKEND = Backend(
    kind=KIND, options=OPTIONS, matches=lambda name: name.lower() in NAMES, resolve=resolve, load=_load,
    label=lambda _name: LABEL, mteb_name=lambda _name: MTEB_NAME,
    spec_for=lambda mteb_name: "bm25" if mteb_name == MTEB_NAME else None,
)
