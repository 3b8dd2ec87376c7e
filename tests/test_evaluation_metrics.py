import numpy as np
import pytest
import pytrec_eval

from lib.evaluation import metrics

QRELS = {"q1": {"a": 1, "b": 2}, "q2": {"c": 1}, "q3": {"z": 1}}
RUN = {
    "q1": {"x": 0.9, "b": 0.8, "a": 0.1},
    "q2": {"c": 0.5, "y": 0.5, "w": 0.4},
    "q3": {"x": 1.0},
}


def test_per_query_equals_pytrec_eval_directly():
    frame = metrics.per_query_metrics(QRELS, RUN, k=10)
    ev = pytrec_eval.RelevanceEvaluator(
        QRELS, {"ndcg_cut.10", "recall.1,5,10,100", "P.10", "map_cut.100"}
    ).evaluate(RUN)
    for q in QRELS:
        assert frame.at[q, "nDCG@10"] == ev[q]["ndcg_cut_10"]
        assert frame.at[q, "Recall@5"] == ev[q]["recall_5"]
        assert frame.at[q, "MAP@100"] == ev[q]["map_cut_100"]
        assert frame.at[q, "P@10"] == ev[q]["P_10"]
    # Ties: trec_eval ranks "y" before "c" (id descending), so MRR@10 of q2 is 1/2.
    assert frame.at["q1", "MRR@10"] == pytest.approx(0.5)
    assert frame.at["q2", "MRR@10"] == pytest.approx(0.5)
    assert frame.at["q3", "MRR@10"] == 0.0
    assert list(frame.columns) == metrics.metric_names(10)


def test_user_k_adds_columns():
    names = metrics.metric_names(3)
    assert {"nDCG@3", "Recall@3", "P@3", "nDCG@10", "P@10"} <= set(names)
    frame = metrics.per_query_metrics(QRELS, RUN, k=3)
    assert frame.at["q1", "Recall@3"] == 1.0


def test_missing_query_scores_zero():
    frame = metrics.per_query_metrics(QRELS, {"q1": RUN["q1"]})
    assert frame.loc["q2"].sum() == 0.0 and len(frame) == 3


def test_bootstrap_ci_contains_mean_and_is_reproducible():
    rng = np.random.default_rng(1)
    x = rng.random(300)
    a = metrics.bootstrap_ci(x, seed=3)
    b = metrics.bootstrap_ci(x, seed=3)
    assert a == b
    assert a.low < a.mean < a.high
    assert a.high - a.low == pytest.approx(2 * 1.96 * x.std() / np.sqrt(300), rel=0.25)
    c = metrics.bootstrap_ci(np.ones(10))
    assert c.low == c.high == 1.0


def test_paired_comparison_detects_and_does_not_invent_differences():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    better = np.clip(base + 0.1 + rng.normal(0, 0.02, 200), 0, 1)
    r = metrics.paired_comparison(better, base, n_resamples=2000)
    assert r.p_value < 0.01 and r.low > 0
    same = metrics.paired_comparison(base, base + rng.normal(0, 0.01, 200), n_resamples=2000)
    assert same.p_value > 0.05 and same.low < 0 < same.high
    with pytest.raises(ValueError):
        metrics.paired_comparison([1, 2], [1])


def test_tie_groups():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    groups = metrics.tie_groups(
        {"a": base + 0.2, "b": base + 0.2 + rng.normal(0, 0.01, 200), "c": base},
        n_resamples=2000,
    )
    assert [sorted(g) for g in groups] == [["a", "b"], ["c"]]
