"""Fusing several systems' top-k rankings into one (hybrid retrieval), with ranx.

:func:`fuse` takes each component's top-k (document indices and scores per query, best
first) and fuses them with ranx (``ranx.fuse``: RRF, or min-max / z-score normalisation and a
weighted sum), then cuts to ``depth`` with ties broken by document id, as trec_eval orders.
A document missing from a component's top-k contributes nothing from that component — the
usual hybrid-search behaviour, and the reason fusion needs each component's list at the
evaluation's retrieval depth, not only its top 10.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np

from lib.evaluation.models import ModelInfo
from lib.evaluation.models.hybrid import METHODS, HybridSpec


def _run(query_ids: Sequence[str], doc_ids: Sequence[str], idx: np.ndarray, scores: np.ndarray) -> object:
    from ranx import Run  # imported on use: numba compiles on first import

    return Run.from_dict({
        q: {doc_ids[int(j)]: float(s) for j, s in zip(idx[r], scores[r], strict=True)}
        for r, q in enumerate(query_ids)
    })


def fuse(
    spec: HybridSpec,
    rankings: Sequence[tuple[np.ndarray, np.ndarray]],
    query_ids: Sequence[str],
    doc_ids: Sequence[str],
    depth: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Fuse component rankings.

    Args:
        spec: The hybrid (method, k or weights).
        rankings: Per component, (indices, scores) of shape (n_queries, n), best first.
        query_ids: Query ids, row order.
        doc_ids: Document ids (indices refer to these).
        depth: Documents kept per query.

    Returns:
        (indices, scores) of shape (n_queries, min(depth, number of documents)). Each
        component lists that many documents per query, so their union always fills a row.
    """
    from ranx import fuse as ranx_fuse

    runs = [_run(query_ids, doc_ids, idx, sc) for idx, sc in rankings]
    norm, method = METHODS[spec.method]
    params = {"k": spec.rrf_k} if method == "rrf" else {"weights": list(spec.weights)}
    with warnings.catch_warnings():
        # ranx's RRF kernel casts its typed-dict sizes (uint64 → int64): harmless, but numba says so.
        warnings.simplefilter("ignore", category=Warning)
        fused = ranx_fuse(runs=runs, norm=norm, method=method, params=params).to_dict()
    position = {d: i for i, d in enumerate(doc_ids)}
    width = min(depth, len(doc_ids))
    out_idx = np.empty((len(query_ids), width), dtype=np.int64)
    out_sc = np.empty((len(query_ids), width), dtype=np.float64)
    for r, q in enumerate(query_ids):
        ranked = sorted(fused.get(q, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:width]
        if len(ranked) < width:
            raise RuntimeError(f"fusion of {spec.spec} gave {len(ranked)} documents for query {q}, expected {width}")
        for c, (d, s) in enumerate(ranked):
            out_idx[r, c], out_sc[r, c] = position[d], s
    return out_idx, out_sc


def hybrid_info(spec: HybridSpec, parts: Sequence[ModelInfo]) -> ModelInfo:
    """The identity of a hybrid: its components' identities and the fusion.

    Args:
        spec: The hybrid.
        parts: The components' identities (after loading).

    Returns:
        A :class:`ModelInfo` of kind ``hybrid``.
    """
    revision = hashlib.sha256("|".join(p.cache_key for p in parts).encode()).hexdigest()[:16]
    return ModelInfo(
        spec=spec.spec, kind="hybrid", name="+".join(p.name for p in parts), revision=revision,
        source=f"{spec.fusion_label} of " + ", ".join(p.spec for p in parts), similarity=spec.method,
        options={"fusion": spec.method, "components": ",".join(spec.components),
                 **({"k": str(spec.rrf_k)} if spec.method == "rrf" else
                    {"weights": ",".join(f"{w:g}" for w in spec.weights)})},
    )
