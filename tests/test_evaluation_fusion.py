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


# --- the fusion weight sweep ----------------------------------------------------------------


def test_pick_alpha_and_cross_validation_by_hand() -> None:
    assert fusion.pick_alpha({0.0: 0.2, 0.3: 0.5, 0.7: 0.5, 1.0: 0.1}) == 0.3  # equal bests: nearest 0.5, then smaller
    assert fusion.pick_alpha({0.4: 0.5, 0.6: 0.5}) == 0.4
    # Four queries; alpha 0 is best on queries 0 and 1, alpha 1 on queries 2 and 3.
    per_alpha = {0.0: np.array([1.0, 1.0, 0.0, 0.0]), 1.0: np.array([0.0, 0.0, 1.0, 1.0])}
    order = np.random.default_rng(5).permutation(4)
    half_a, half_b = set(order[:2].tolist()), set(order[2:].tolist())
    held, (pa, pb) = fusion.cross_validated(per_alpha, seed=5)
    # Each half is scored at the alpha picked on the other half (its own values unseen).
    for half, picked in ((half_b, pa), (half_a, pb)):
        for q in half:
            assert held[q] == per_alpha[picked][q]
    train_a = {a: float(np.mean(v[sorted(half_a)])) for a, v in per_alpha.items()}
    assert pa == fusion.pick_alpha(train_a)
    with pytest.raises(ValueError, match="two queries"):
        fusion.cross_validated({0.5: np.array([1.0])})


def test_with_alpha_names_the_weight_and_refuses_rrf() -> None:
    h = fusion.with_alpha(hybrid.parse("a+b+c#zscore:alpha=0.5"), 0.2)
    assert h.spec == "a+b+c#zscore:alpha=0.2" and h.weights == pytest.approx((0.2, 0.4, 0.4))
    with pytest.raises(ValueError, match="RRF"):
        fusion.with_alpha(hybrid.parse("a+b"), 0.5)


def test_alpha_sweep_of_a_score_fusion_equals_an_independent_computation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    db = tmp_path / "s.duckdb"
    demo = Path(__file__).resolve().parent.parent / "data" / "demo"
    a, b = "bm25", "bm25?k1=0.9&b=0.4"
    hyb, rrf = f"{a}+{b}#minmax:alpha=0.3", f"{a}+{b}"
    res = engine.evaluate(demo, engine.EvaluationConfig(models=(a, b, hyb, rrf), bootstrap_resamples=200), db_path=db)
    stored = runs.load_run(res.run_id, db)
    sw = stored.fusion_sweep
    assert set(sw["model"]) == {hyb}  # RRF has no weight to sweep
    grid = sw[(sw["kind"] == "alpha") & (sw["metric"] == "nDCG@10")].set_index("alpha")
    assert list(grid.index) == list(fusion.ALPHAS)
    assert (grid["ci_low"] <= grid["mean"]).all() and (grid["mean"] <= grid["ci_high"]).all()
    # The sweep's alpha = 0.3 is the run's own hybrid at alpha = 0.3.
    means = stored.summary.set_index(["model", "metric"])["mean"]
    assert grid.at[0.3, "mean"] == pytest.approx(means[(hyb, "nDCG@10")], abs=1e-12)
    # Every point equals min-max fusion computed here from the components' stored top-100 and pytrec_eval.
    ds = res.dataset
    lists = [(m.topk_idx, m.topk_scores) for m in res.models[:2]]
    for alpha in (0.0, 0.5, 0.8, 1.0):
        own: dict[str, dict[str, float]] = {}
        for r, q in enumerate(ds.query_ids):
            fused: dict[str, float] = {}
            for w, (idx, sc) in zip((alpha, 1 - alpha), lists, strict=True):
                s = sc[r]
                for j, v in zip(idx[r], s, strict=True):
                    d = ds.doc_ids[int(j)]
                    # (a query whose scores are all equal: ranx floors the denominator at 1e-9, so do we)
                    fused[d] = fused.get(d, 0.0) + w * (v - s.min()) / max(s.max() - s.min(), 1e-9)
            own[q] = {d: float(v) for d, v in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:100]}
        ev = pytrec_eval.RelevanceEvaluator(ds.qrels, {"ndcg_cut.10"}).evaluate(own)
        assert grid.at[alpha, "mean"] == pytest.approx(np.mean([ev[q]["ndcg_cut_10"] for q in ds.query_ids]),
                                                       abs=1e-9), alpha
    cv = sw[sw["kind"] == "cross-validated"].set_index("metric")
    assert set(cv.index) == {"nDCG@10", "Recall@10"} and cv["alpha"].isna().all()
    assert "alpha picked on half A" in cv.at["nDCG@10", "note"] and cv.at["nDCG@10", "n_queries"] == len(ds.query_ids)
    # Without the sweep option, nothing is swept.
    off = engine.evaluate(demo, engine.EvaluationConfig(models=(a, hyb), sweep=False, bootstrap_resamples=200),
                          db_path=db)
    assert runs.load_run(off.run_id, db).fusion_sweep.empty
    assert runs.delete_run(res.run_id, db)
    import duckdb

    with duckdb.connect(str(db)) as con:
        assert con.execute("SELECT count(*) FROM eval_fusion_sweep WHERE run_id = ?", [res.run_id]).fetchone() == (0,)


def test_rrf_of_bm25_and_minilm_on_the_demo_equals_rrf_by_list_position(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # BM25 gives several demo documents the same score; each list's order among them is the engine's
    # (trec_eval's tie order). RRF must use exactly that order: ranx re-ranks tied scores its own way
    # (32 of the demo's 40 queries came out different before its input became rank scores).
    from pathlib import Path

    demo = Path(__file__).resolve().parent.parent / "data" / "demo"
    res = engine.evaluate(demo, engine.EvaluationConfig(models=("bm25", "minilm", "bm25+minilm"), sweep=False,
                                                        bootstrap_resamples=200), db_path=tmp_path / "t.duckdb")
    by, ds = {m.info.spec: m for m in res.models}, res.dataset
    assert any(len(set(row[:50].tolist())) < 50 for row in by["bm25"].topk_scores)  # the ties are there
    own: dict[str, dict[str, float]] = {}
    for r, q in enumerate(ds.query_ids):
        fused: dict[str, float] = {}
        for comp in ("bm25", "minilm"):
            for rank, j in enumerate(by[comp].topk_idx[r]):
                fused[ds.doc_ids[int(j)]] = fused.get(ds.doc_ids[int(j)], 0.0) + 1.0 / (60 + rank + 1)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
        assert [ds.doc_ids[int(j)] for j in by["bm25+minilm"].topk_idx[r]] == [d for d, _ in ranked], q
        own[q] = dict(ranked)
    ev = pytrec_eval.RelevanceEvaluator(ds.qrels, {"ndcg_cut.10"}).evaluate(own)
    got = res.summary.set_index(["model", "metric"]).loc[("bm25+minilm", "nDCG@10"), "mean"]
    assert got == pytest.approx(np.mean([ev[q]["ndcg_cut_10"] for q in ds.query_ids]), abs=1e-12)
