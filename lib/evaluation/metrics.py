"""IR metrics per query (pytrec_eval), bootstrap confidence intervals, paired tests.

Public API:

* :func:`metric_names` — the metric labels for a given ``k``.
* :func:`per_query_metrics` — pytrec_eval on a run, one row per query, with the exact
  measure strings mteb uses (``ndcg_cut``, ``recall``, ``P``, ``map_cut``) so nDCG and
  recall equal MTEB's; MRR@k is pytrec_eval's ``recip_rank`` on the run cut at k in
  trec_eval's own order (score descending, then document id descending).
* :func:`bootstrap_ci` — percentile bootstrap of the mean over queries.
* :func:`paired_comparison` — paired bootstrap CI of the difference and a paired
  randomisation (sign-flip) test p-value.
* :func:`tie_groups` — groups of models that cannot be separated at ``alpha``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Cut-offs always reported, besides the user's k.
RECALL_KS = (1, 5, 10, 100)
PRIMARY_METRIC = "nDCG@10"


def metric_names(k: int = 10) -> list[str]:
    """The metrics computed for a run, in display order.

    Args:
        k: The user's cut-off (adds nDCG@k, Recall@k, P@k when not already present).

    Returns:
        Metric labels such as ``nDCG@10``, ``Recall@100``, ``MRR@10``, ``MAP@100``, ``P@10``.
    """
    names = ["nDCG@10"]
    if k != 10:
        names.append(f"nDCG@{k}")
    names += [f"Recall@{r}" for r in sorted(set(RECALL_KS) | {k})]
    names += ["MRR@10", "MAP@100", f"P@{k}"]
    if k != 10:
        names.append("P@10")
    return names


def _trec_order(scores: Mapping[str, float]) -> list[str]:
    """Document ids in trec_eval's ranking order: score descending, then id descending."""
    return [d for d, _ in sorted(scores.items(), key=lambda it: (it[1], it[0]), reverse=True)]


def per_query_metrics(
    qrels: Mapping[str, Mapping[str, int]],
    run: Mapping[str, Mapping[str, float]],
    k: int = 10,
) -> pd.DataFrame:
    """Score a run with pytrec_eval, one row per judged query.

    Args:
        qrels: ``{query_id: {doc_id: relevance}}``.
        run: ``{query_id: {doc_id: score}}`` (top documents per query).
        k: The user's cut-off.

    Returns:
        A DataFrame indexed by ``query_id`` with one column per :func:`metric_names`.
        Queries in qrels missing from the run score 0.
    """
    import pytrec_eval

    ndcg_ks = sorted({10, k})
    recall_ks = sorted(set(RECALL_KS) | {k})
    p_ks = sorted({10, k})
    measures = {
        "ndcg_cut." + ",".join(map(str, ndcg_ks)),
        "recall." + ",".join(map(str, recall_ks)),
        "P." + ",".join(map(str, p_ks)),
        "map_cut.100",
    }
    qrels_d = {q: {d: int(s) for d, s in docs.items()} for q, docs in qrels.items()}
    run_d = {q: {d: float(s) for d, s in run.get(q, {}).items()} for q in qrels_d}
    scores = pytrec_eval.RelevanceEvaluator(qrels_d, measures).evaluate(run_d)
    # MRR@10 = reciprocal rank within the top 10, as mteb defines it.
    top10 = {q: {d: run_d[q][d] for d in _trec_order(run_d[q])[:10]} for q in run_d}
    rr = pytrec_eval.RelevanceEvaluator(qrels_d, {"recip_rank"}).evaluate(top10)
    rows = []
    for q in qrels_d:
        s = scores.get(q, {})
        row: dict[str, float] = {}
        for kk in ndcg_ks:
            row[f"nDCG@{kk}"] = s.get(f"ndcg_cut_{kk}", 0.0)
        for kk in recall_ks:
            row[f"Recall@{kk}"] = s.get(f"recall_{kk}", 0.0)
        row["MRR@10"] = rr.get(q, {}).get("recip_rank", 0.0)
        row["MAP@100"] = s.get("map_cut_100", 0.0)
        for kk in p_ks:
            row[f"P@{kk}"] = s.get(f"P_{kk}", 0.0)
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(list(qrels_d), name="query_id"))
    return frame[metric_names(k)]


@dataclass(frozen=True)
class Interval:
    """A mean with its bootstrap confidence interval.

    Attributes:
        mean: The sample mean.
        low: Lower bound.
        high: Upper bound.
    """

    mean: float
    low: float
    high: float


def _resample_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = len(values)
    means = np.empty(n_resamples)
    # Blocks keep the index matrix small (bounded memory for large query sets).
    block = max(1, min(n_resamples, 2_000_000 // max(n, 1)))
    for start in range(0, n_resamples, block):
        stop = min(n_resamples, start + block)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap confidence interval of the mean over queries.

    Args:
        values: One value per query.
        n_resamples: Bootstrap resamples.
        confidence: Interval coverage.
        seed: RNG seed (results are reproducible).

    Returns:
        The mean and interval.
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    means = _resample_means(arr, n_resamples, np.random.default_rng(seed))
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return Interval(float(arr.mean()), float(lo), float(hi))


@dataclass(frozen=True)
class PairedResult:
    """Paired comparison of two models on the same queries.

    Attributes:
        model_a: First model.
        model_b: Second model.
        metric: The metric compared.
        mean_diff: mean(a) − mean(b).
        low: Lower bound of the paired-bootstrap CI of the difference.
        high: Upper bound.
        p_value: Two-sided paired randomisation (sign-flip) test.
        n_queries: Queries compared.
    """

    model_a: str
    model_b: str
    metric: str
    mean_diff: float
    low: float
    high: float
    p_value: float
    n_queries: int


def paired_comparison(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    model_a: str = "a",
    model_b: str = "b",
    metric: str = PRIMARY_METRIC,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedResult:
    """Compare two models' per-query scores (same queries, same order).

    Args:
        a: Scores of model A per query.
        b: Scores of model B per query.
        model_a: Label of A.
        model_b: Label of B.
        metric: Metric label (recorded only).
        n_resamples: Resamples for both the bootstrap and the randomisation test.
        confidence: CI coverage.
        seed: RNG seed.

    Returns:
        The difference, its CI and the randomisation-test p-value.

    Raises:
        ValueError: If the arrays differ in length.
    """
    xa = np.asarray(a, dtype=float)
    xb = np.asarray(b, dtype=float)
    if xa.shape != xb.shape:
        raise ValueError("paired comparison needs the same queries for both models")
    diff = xa - xb
    n = len(diff)
    rng = np.random.default_rng(seed)
    means = _resample_means(diff, n_resamples, rng)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    observed = abs(diff.mean())
    # Sign-flip randomisation: under H0 each query's difference is equally likely ±.
    hits = 0
    block = max(1, min(n_resamples, 2_000_000 // max(n, 1)))
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(size, n))
        hits += int((np.abs((signs * diff).mean(axis=1)) >= observed - 1e-12).sum())
    p = (hits + 1) / (n_resamples + 1)
    return PairedResult(model_a, model_b, metric, float(diff.mean()), float(lo), float(hi),
                        float(min(p, 1.0)), n)


def tie_groups(
    per_model: Mapping[str, Sequence[float] | np.ndarray],
    *,
    alpha: float = 0.05,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> list[list[str]]:
    """Group models whose scores cannot be separated.

    Models are ranked by mean. The best remaining model leads a group; every remaining
    model whose difference from the leader is not significant (paired randomisation
    test, Holm-corrected over the leader's comparisons) joins it. Repeat on the rest.

    Args:
        per_model: Per-query scores for each model (same queries, same order).
        alpha: Significance level.
        n_resamples: Randomisation-test resamples.
        seed: RNG seed.

    Returns:
        Groups, best first; each group lists models best first.
    """
    order = sorted(per_model, key=lambda m: float(np.mean(per_model[m])), reverse=True)
    groups: list[list[str]] = []
    remaining = list(order)
    while remaining:
        leader, rest = remaining[0], remaining[1:]
        pvals = [
            (m, paired_comparison(per_model[leader], per_model[m], n_resamples=n_resamples,
                                  seed=seed).p_value)
            for m in rest
        ]
        # Holm: test the smallest p first against alpha/m, stop at the first non-rejection.
        separated: set[str] = set()
        for i, (m, p) in enumerate(sorted(pvals, key=lambda t: t[1])):
            if p <= alpha / (len(pvals) - i):
                separated.add(m)
            else:
                break
        group = [leader] + [m for m in rest if m not in separated]
        groups.append(group)
        remaining = [m for m in remaining if m not in group]
    return groups
