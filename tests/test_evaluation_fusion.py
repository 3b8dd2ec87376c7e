"""lib.evaluation.fusion and hybrid specs: ranx's fusion checked against an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from lib.errors import UserError
from lib.evaluation import engine, fusion, models, runs
from lib.evaluation.models import hybrid

DOCS = [f"d{i:02d}" for i in range(30)]
QUERIES = ["q1", "q2", "q3", "q4"]


def _random_rankings(seed: int, n: int = 12) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(2):
        idx = np.stack([rng.permutation(len(DOCS))[:n] for _ in QUERIES])
        scores = -np.sort(-rng.random((len(QUERIES), n)), axis=1) * rng.uniform(1, 20)  # best first
        out.append((idx, scores))
    return out


def _own_fusion(spec: hybrid.HybridSpec, rankings: list[tuple[np.ndarray, np.ndarray]], r: int) -> dict[str, float]:
    fused: dict[str, float] = {}
    for c, (idx, sc) in enumerate(rankings):
        s = sc[r]
        if spec.method == "rrf":
            contrib = {DOCS[int(j)]: 1.0 / (spec.rrf_k + rank + 1) for rank, j in enumerate(idx[r])}
        elif spec.method == "minmax":
            contrib = {DOCS[int(j)]: spec.weights[c] * (v - s.min()) / (s.max() - s.min())
                       for j, v in zip(idx[r], s, strict=True)}
        else:
            contrib = {DOCS[int(j)]: spec.weights[c] * (v - s.mean()) / s.std() for j, v in zip(idx[r], s, strict=True)}
        for d, v in contrib.items():
            fused[d] = fused.get(d, 0.0) + v
    return fused


@pytest.mark.parametrize("text", ["a+b", "a+b#rrf:k=20", "a+b#minmax:alpha=0.3", "a+b#zscore:alpha=0.8"])
def test_ranx_fusion_equals_an_independent_computation(text: str) -> None:
    spec = hybrid.parse(text)
    rankings = _random_rankings(7)
    idx, scores = fusion.fuse(spec, rankings, QUERIES, DOCS, depth=10)
    assert idx.shape == (4, 10)
    for r in range(len(QUERIES)):
        own = _own_fusion(spec, rankings, r)
        expect = sorted(own.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        assert [DOCS[int(j)] for j in idx[r]] == [d for d, _ in expect]
        np.testing.assert_allclose(scores[r], [v for _, v in expect], rtol=1e-9, atol=1e-12)


def test_specs_parse_and_label() -> None:
    h = hybrid.parse("bm25+minilm")
    assert (h.components, h.method, h.rrf_k) == (("bm25", "minilm"), "rrf", 60)
    assert hybrid.parse("bm25+minilm#minmax:alpha=0.3").weights == pytest.approx((0.3, 0.7))
    assert hybrid.parse("a+b+c#zscore:alpha=0.5").weights == pytest.approx((0.5, 0.25, 0.25))
    assert models.display_label("bm25+minilm") == "BM25 + all-MiniLM-L6-v2 (RRF k=60)"
    assert models.display_label("bm25+minilm#zscore:alpha=0.3") == "BM25 + all-MiniLM-L6-v2 (z-score fusion α=0.3)"
    assert not hybrid.is_hybrid("minilm?x=1") and hybrid.is_hybrid("bm25+minilm#rrf")


@pytest.mark.parametrize(("text", "message"), [
    ("bm25+", "two or more"),
    ("bm25+bm25", "appears twice"),
    ("bm25+minilm#borda", "unknown fusion"),
    ("bm25+minilm#rrf:alpha=1", "unknown option"),
    ("bm25+minilm#minmax:alpha=2", "between 0 and 1"),
    ("bm25+minilm#rrf:k=zero", "whole number"),
    ("bm25+minilm#minmax:0.3", "options look like"),
])
def test_bad_specs_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        hybrid.parse(text)


def test_hybrid_in_an_evaluation_is_scored_like_any_system(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Two BM25 variants (fast, offline) and their RRF: the stored hybrid's metrics equal pytrec_eval on
    # an RRF computed here from the components' own stored top-100 lists.
    from pathlib import Path

    db = tmp_path / "f.duckdb"
    demo = Path(__file__).resolve().parent.parent / "data" / "demo"
    a, b = "bm25", "bm25?k1=0.9&b=0.4"
    cfg = engine.EvaluationConfig(models=(a, f"{a}+{b}"), bootstrap_resamples=200)
    res = engine.evaluate(demo, cfg, db_path=db)
    stored = runs.load_run(res.run_id, db)
    assert list(stored.models["model"]) == [a, f"{a}+{b}"]  # the helper component b is not stored alone
    hyb = stored.models.set_index("model").loc[f"{a}+{b}"]
    assert hyb["kind"] == "hybrid"
    # The component b, run alone, gives the second list.
    solo = engine.evaluate(demo, engine.EvaluationConfig(models=(b,), bootstrap_resamples=200), db_path=db)
    ds = res.dataset
    lists = []
    for r, spec in ((res, a), (solo, b)):
        m = next(x for x in r.models if x.info.spec == spec)
        lists.append((m.topk_idx, m.topk_scores))
    own: dict[str, dict[str, float]] = {}
    for r, q in enumerate(ds.query_ids):
        fused: dict[str, float] = {}
        for idx, _sc in lists:
            for rank, j in enumerate(idx[r]):
                fused[ds.doc_ids[int(j)]] = fused.get(ds.doc_ids[int(j)], 0.0) + 1.0 / (60 + rank + 1)
        top = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
        own[q] = dict(top)
    ev = pytrec_eval.RelevanceEvaluator(ds.qrels, {"ndcg_cut.10"}).evaluate(own)
    expect = np.mean([ev[q]["ndcg_cut_10"] for q in ds.query_ids])
    got = stored.summary.set_index(["model", "metric"]).loc[(f"{a}+{b}", "nDCG@10"), "mean"]
    assert got == pytest.approx(expect, abs=1e-9)
    # Its cost of use is its parts' together.
    parts = {m.info.spec: m.cost for m in (*res.models, *solo.models)}
    assert hyb["index_bytes"] == parts[a].index_bytes + parts[b].index_bytes


def test_a_malformed_hybrid_stores_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    demo = Path(__file__).resolve().parent.parent / "data" / "demo"
    with pytest.raises(UserError, match="two or more"):
        engine.evaluate(demo, engine.EvaluationConfig(models=("bm25++minilm",)), db_path=tmp_path / "x.duckdb")
    assert runs.list_runs(tmp_path / "x.duckdb").empty
