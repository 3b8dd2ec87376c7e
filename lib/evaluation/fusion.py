"""Fusing several systems' top-k rankings into one (hybrid retrieval), with ranx.

:func:`fuse` takes each component's top-k (document indices and scores per query, best
first) and fuses them with ranx (``ranx.fuse``: RRF, or min-max / z-score normalisation and a
weighted sum), then cuts to ``depth`` with ties broken by document id, as trec_eval orders.
A document missing from a component's top-k contributes nothing from that component — the
usual hybrid-search behaviour, and the reason fusion needs each component's list at the
evaluation's retrieval depth, not only its top 10.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from lib.evaluation.models import ModelInfo, mteb_name
from lib.evaluation.models.hybrid import METHODS, HybridSpec


def _run(query_ids: Sequence[str], doc_ids: Sequence[str], idx: np.ndarray, scores: np.ndarray) -> object:
    from ranx import Run  # imported on use: numba compiles on first import

    return Run.from_dict({
        q: {doc_ids[int(j)]: float(s) for j, s in zip(idx[r], scores[r], strict=True)}
        for r, q in enumerate(query_ids)
    })


def _rank_scores(idx: np.ndarray) -> np.ndarray:
    """−1, −2, −3, … per row: scores whose order is the list's own, with no ties."""
    return np.broadcast_to(-np.arange(1, idx.shape[1] + 1, dtype=np.float64), idx.shape)


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

    norm, method = METHODS[spec.method]
    if method == "rrf":
        # RRF reads only ranks. Each list's own order is its ranking (score ties already in trec_eval's
        # order); ranx would re-rank tied scores its own way, so it gets strictly falling rank scores.
        runs = [_run(query_ids, doc_ids, idx, _rank_scores(idx)) for idx, _sc in rankings]
    else:
        runs = [_run(query_ids, doc_ids, idx, sc) for idx, sc in rankings]
    params = {"k": spec.rrf_k} if method == "rrf" else {"weights": list(spec.weights)}
    with warnings.catch_warnings():
        # ranx's RRF kernel casts its typed-dict sizes (uint64 → int64): harmless, but numba says so.
        warnings.simplefilter("ignore", category=Warning)
        out = ranx_fuse(runs=runs, norm=norm, method=method, params=params)
    # Read the result through its typed dicts' items(): ranx's to_dict() looks every document up
    # one by one from Python, four times slower — most of a hybrid's cost once vectors are cached.
    fused = {q: dict(docs.items()) for q, docs in out.run.items()}
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


#: Said wherever a fusion weight sweep is shown.
ALPHA_SWEEP_WARNING = (
    "Tuning α on the queries you evaluate on flatters the result: the best point of the sweep is an "
    "optimistic estimate, and its confidence interval does not cover the choice itself. Quote the "
    "cross-validated figure (α picked on one half of the queries, scored on the other half), or choose α "
    "on other queries and keep it fixed here."
)

#: The fusion weights a sweep tries (the first system's weight; the others share the rest).
ALPHAS: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(11))


def with_alpha(spec: HybridSpec, alpha: float) -> HybridSpec:
    """The same score-fusion hybrid with the first system's weight set to ``alpha``.

    Args:
        spec: A min-max or z-score hybrid.
        alpha: The first system's weight in [0, 1]; the others share ``1 - alpha`` equally.

    Returns:
        The hybrid with those weights (its spec text names the weight).

    Raises:
        ValueError: For RRF (it has no weights) or an alpha outside [0, 1].
    """
    if spec.method == "rrf":
        raise ValueError("RRF has no fusion weight to sweep")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    rest = (1.0 - alpha) / (len(spec.components) - 1)
    text = f"{'+'.join(spec.components)}#{spec.method}:alpha={alpha:g}"
    return dataclasses.replace(spec, spec=text, weights=(alpha, *([rest] * (len(spec.components) - 1))))


def pick_alpha(means: Mapping[float, float]) -> float:
    """The alpha with the best mean; among equal bests the one nearest 0.5 (then the smaller).

    Args:
        means: Alpha → mean metric.

    Returns:
        The chosen alpha.
    """
    best = max(means.values())
    return min((a for a, m in means.items() if m == best), key=lambda a: (round(abs(a - 0.5), 9), a))


def cross_validated(per_alpha: Mapping[float, np.ndarray], seed: int = 0) -> tuple[np.ndarray, tuple[float, float]]:
    """What tuning alpha is worth on queries it was not tuned on: two-fold cross-validation.

    The queries are split at random into two halves; alpha is picked (:func:`pick_alpha`) on
    one half and the other half is scored at it, then the other way round. The result holds
    every query once, each scored at an alpha chosen without it — an honest estimate, unlike
    the best point of the sweep.

    Args:
        per_alpha: Alpha → per-query metric values (same query order for every alpha).
        seed: The split's seed.

    Returns:
        (per-query held-out values in the original query order, (alpha picked on half A, on half B)).

    Raises:
        ValueError: With fewer than two queries or no alphas.
    """
    if not per_alpha:
        raise ValueError("no alphas")
    n = len(next(iter(per_alpha.values())))
    if n < 2:
        raise ValueError("cross-validation needs at least two queries")
    order = np.random.default_rng(seed).permutation(n)
    halves = (np.sort(order[: n // 2]), np.sort(order[n // 2:]))
    out = np.empty(n, dtype=np.float64)
    picked = []
    for train, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        a = pick_alpha({al: float(np.mean(v[train])) for al, v in per_alpha.items()})
        out[test] = np.asarray(per_alpha[a])[test]
        picked.append(a)
    return out, (picked[0], picked[1])


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
                 # each part's kind and mteb name, so a report can cost the hybrid as its parts
                 "component_kinds": json.dumps([p.kind for p in parts]),
                 "component_mteb_names": json.dumps([mteb_name(p.kind, p.name) for p in parts]),
                 **({"k": str(spec.rrf_k)} if spec.method == "rrf" else
                    {"weights": ",".join(f"{w:g}" for w in spec.weights)})},
    )
