"""Quick mode (lib.evaluation.quick): the reduced corpus, its record in the store, the CLI label, fidelity.

The pools are checked against an independent brute force: every document scored for every
query (numpy cosine over sentence-transformers vectors; BM25 computed here from its formula
over bm25s' tokens), sorted, cut at the chosen depth.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lib.__main__ import main
from lib.errors import UserError
from lib.evaluation import datasets, engine, quick, runs
from lib.evaluation import models as models_registry

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"


def _toy(n_docs: int = 40, n_queries: int = 4) -> datasets.Dataset:
    docs = [(f"d{i:02d}", f"text {i}") for i in range(n_docs)]
    queries = [(f"q{j}", f"query {j}") for j in range(n_queries)]
    qrels = {f"q{j}": {f"d{j:02d}": 1, f"d{j + 10:02d}": 0} for j in range(n_queries)}  # a grade-0 judgement too
    return datasets.Dataset(
        name="toy", source="mem", doc_ids=tuple(d for d, _ in docs), doc_texts=tuple(t for _, t in docs),
        query_ids=tuple(q for q, _ in queries), query_texts=tuple(t for _, t in queries), qrels=qrels,
        fingerprint="toy",
    )


def _rankings(ds: datasets.Dataset, seed: int, width: int = 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(len(ds.doc_ids))[:width] for _ in ds.query_ids])


# --------------------------------------------------------------------------- choosing documents (no models)


def test_select_keeps_judged_and_the_deepest_pool_that_fits() -> None:
    ds = _toy()
    r1, r2 = _rankings(ds, 1), _rankings(ds, 2)
    sel = quick.select(ds, [r1, r2], 30, min_depth=1, seed=0)
    keep = set(sel.keep)
    judged = {ds.doc_ids.index(d) for q in ds.query_ids for d in ds.qrels[q]}
    assert judged <= keep and len(judged) == 8  # grade-0 judgements are kept too
    pool_at = [judged | {int(x) for r in (r1, r2) for x in r[:, :d].ravel()} for d in range(1, 21)]
    assert pool_at[sel.depth - 1] <= keep
    assert sel.depth == max(d for d in range(1, 21) if len(pool_at[d - 1]) <= 30)  # deepest that fits
    assert len(sel.keep) == 30 and not sel.note  # the size is honoured with a random fill
    assert sel.random == frozenset(keep - pool_at[sel.depth - 1])
    assert list(sel.keep) == sorted(sel.keep)


def test_random_fill_is_seeded() -> None:
    ds = _toy(200)
    rankings = [_rankings(ds, 1, 5)]
    a = quick.select(ds, rankings, 80, min_depth=1, max_depth=3, seed=7)
    b = quick.select(ds, rankings, 80, min_depth=1, max_depth=3, seed=7)
    c = quick.select(ds, rankings, 80, min_depth=1, max_depth=3, seed=8)
    assert a == b and a.random
    assert a.random != c.random and a.pooled == c.pooled and a.judged == c.judged


def test_size_below_judged_and_pooled_keeps_them_all_and_says_so() -> None:
    ds = _toy()
    r = _rankings(ds, 3)
    sel = quick.select(ds, [r], 5, min_depth=4, seed=0)
    expected = {ds.doc_ids.index(d) for q in ds.query_ids for d in ds.qrels[q]} | set(r[:, :4].ravel().tolist())
    assert set(sel.keep) == expected and sel.depth == 4 and not sel.random
    assert len(sel.keep) > 5
    assert f"are more than the 5 asked for: all {len(expected)} are kept" in sel.note


@pytest.mark.parametrize(("size", "lo", "hi", "msg"), [
    (0, 1, 10, "at least 1 document"),
    (10, 0, 10, "1 ≤ min depth ≤ max depth"),
    (10, 20, 10, "1 ≤ min depth ≤ max depth"),
    (10, 10, 101, "≤ 100"),
])
def test_bad_size_or_depth_is_a_clear_error(size: int, lo: int, hi: int, msg: str) -> None:
    with pytest.raises(UserError, match=msg):
        quick.select(_toy(), [], size, min_depth=lo, max_depth=hi)


def test_the_default_pool_is_bm25_and_a_cheap_local_int8_minilm() -> None:
    # Lexical + dense, and the dense one the fastest local variant measured (bench_backends.py:
    # ONNX int8 1.5× torch's documents/s; OpenVINO's weight-only int8 ~1.0×) — offline, no key.
    lexical, dense = (models_registry.resolve(m) for m in quick.DEFAULT_POOL_MODELS)
    assert lexical.kind == "bm25"
    assert dense.kind == "sentence-transformers" and dense.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert dense.options.get("backend") == "onnx" and dense.options.get("quantize") == "int8"


def test_bad_pool_specs_are_clear_errors() -> None:
    ds = datasets.load_dataset(DEMO)
    with pytest.raises(UserError, match="at least one pooling system"):
        quick.reduce(ds, 50, pool_models=())
    with pytest.raises(UserError, match="given twice"):
        quick.reduce(ds, 50, pool_models=("bm25", "bm25"))
    with pytest.raises(UserError, match="not hybrids"):
        quick.reduce(ds, 50, pool_models=("bm25+minilm",))


def test_size_of_the_whole_corpus_removes_nothing() -> None:
    ds = datasets.load_dataset(DEMO)
    same, info = quick.reduce(ds, 10_000)
    assert same is ds and info.kept_docs == info.original_docs == 149 and info.reduction == 1.0
    assert "nothing was removed" in info.note and "nothing removed" in quick.label(info)


# --------------------------------------------------------------------------- pools against brute force


def _bm25_brute(ds: datasets.Dataset, k1: float = 0.9, b: float = 0.4) -> np.ndarray:
    """Okapi BM25 (Lucene idf) over bm25s' tokens, every document scored: (n_queries, n_docs)."""
    import bm25s

    docs = bm25s.tokenize(list(ds.doc_texts), stopwords="en", return_ids=False, show_progress=False)
    queries = bm25s.tokenize(list(ds.query_texts), stopwords="en", return_ids=False, show_progress=False)
    tf = [{t: toks.count(t) for t in set(toks)} for toks in docs]
    dl = np.array([len(t) for t in docs], dtype=float)
    avgdl, n = dl.mean(), len(docs)
    df: dict[str, int] = {}
    for row in tf:
        for t in row:
            df[t] = df.get(t, 0) + 1
    out = np.zeros((len(queries), n))
    for qi, q in enumerate(queries):
        for t in q:  # bm25s scores a query term once per occurrence in the query, as here
            if t not in df:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            f = np.array([row.get(t, 0) for row in tf], dtype=float)
            out[qi] += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * dl / avgdl))
    return out


def _dense_brute(ds: datasets.Dataset) -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    from lib.evaluation import models

    model = SentenceTransformer(models.resolve("minilm").options["_path"], device="cpu")
    d = model.encode(list(ds.doc_texts), normalize_embeddings=True)
    q = model.encode(list(ds.query_texts), normalize_embeddings=True)
    return np.asarray(q @ d.T, dtype=float)


def _top(scores: np.ndarray, depth: int) -> tuple[set[int], int]:
    """Documents in each query's top ``depth``; also how many queries had a tie across the cut (skipped)."""
    out: set[int] = set()
    ties = 0
    for row in scores:
        order = np.argsort(-row, kind="stable")
        if depth < len(row) and abs(row[order[depth - 1]] - row[order[depth]]) < 1e-4:
            ties += 1
            out |= {int(i) for i in order[:depth] if row[i] > row[order[depth]] + 1e-4}
            continue
        out |= {int(i) for i in order[:depth]}
    return out, ties


def test_reduced_demo_corpus_holds_judged_and_brute_force_pools(tmp_path: Path) -> None:
    ds = datasets.load_dataset(DEMO)
    # (Torch MiniLM pooled: the brute-force oracle below encodes with it.)
    reduced, info = quick.reduce(ds, 120, pool_models=("bm25", "minilm"), min_depth=1, max_depth=20, seed=3)
    assert info.pool_models == ("bm25", "minilm") and info.original_docs == 149
    assert len(reduced.doc_ids) == info.kept_docs == 120 and not info.note
    assert reduced.name == "demo (quick)" and reduced.query_ids == ds.query_ids and reduced.qrels == ds.qrels
    kept = {ds.doc_ids.index(d) for d in reduced.doc_ids}
    judged = {ds.doc_ids.index(d) for q in ds.query_ids for d in ds.qrels[q]}
    assert judged <= kept and info.judged_docs == len(judged)
    bm25, dense = _bm25_brute(ds), _dense_brute(ds)
    pool, ties = set(), 0
    for scores in (bm25, dense):
        top, t = _top(scores, info.depth)
        pool |= top
        ties += t
    assert ties < len(ds.query_ids) // 4  # the check really covers most queries
    assert pool <= kept
    assert info.judged_docs + info.pooled_docs + info.random_docs == 120 and info.depth >= 1
    again, info2 = quick.reduce(ds, 120, pool_models=("bm25", "minilm"), min_depth=1, max_depth=20, seed=3)
    assert again.doc_ids == reduced.doc_ids and info2.depth == info.depth  # deterministic


# --------------------------------------------------------------------------- stored and shown


def test_quick_info_is_stored_and_read_back(tmp_path: Path) -> None:
    from lib import report

    db = tmp_path / "q.duckdb"
    ds = datasets.load_dataset(DEMO)
    cfg = engine.EvaluationConfig(models=("bm25", "minilm"), sweep=False, latency_queries=0, bootstrap_resamples=50,
                                  paired_resamples=100)
    result = quick.evaluate(ds, cfg, 146, pool_models=("minilm",), db_path=db)
    stored = runs.load_run(result.run_id, db)
    info = quick.info_of(stored.run["config"])
    assert info is not None and info == quick.QuickInfo.from_record(result.config.quick or {})
    n = info.kept_docs
    assert n == stored.run["n_docs"] and 146 <= n < 149 and info.original_docs == 149
    assert info.pool_models == ("minilm",) and info.depth >= 10 and info.seed == 0
    assert stored.run["dataset_name"] == "demo (quick)"
    full = engine.evaluate(ds, cfg, db_path=db)
    nd = {r: x.summary.query("metric == 'nDCG@10'").set_index("model")["mean"] for r, x in (("q", result), ("f", full))}
    # A dense pooling model keeps its whole top 10 (its vectors do not depend on the corpus): exact.
    assert nd["q"]["minilm"] == pytest.approx(nd["f"]["minilm"], abs=1e-12)
    # BM25's statistics (idf, mean length) depend on the corpus: not exact in general, close here.
    assert abs(nd["q"]["bm25"] - nd["f"]["bm25"]) < 0.02
    assert quick.info_of(runs.load_run(full.run_id, db).run["config"]) is None
    overview = report.runs_overview(db).set_index("run_id")
    assert overview.at[result.run_id, "quick"].startswith(f"quick estimate: {n} of 149 documents (1.0× fewer")
    assert overview.at[full.run_id, "quick"] == ""
    # The drill-down finds the texts again (in the full source).
    assert report.run_dataset(stored) is not None
    rep = report.build_report([result.run_id], db_path=db, with_figures=False)
    md, html = report.to_markdown(rep), report.to_html(rep)
    for text in (md, html):
        assert "Quick estimate" in text and f"{n} of 149 documents" in text


def test_cli_quick_output_is_labelled(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "cli.duckdb")
    base = ["evaluate", "--data", str(DEMO), "--model", "bm25", "--no-sweep", "--bootstrap", "50", "--db", db,
            "--quick", "--quick-size", "145", "--quick-pool", "bm25"]
    assert main([*base, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["quick"]["kept_docs"] == out["dataset"]["n_docs"] == 145 and out["quick"]["original_docs"] == 149
    assert out["quick"]["label"].startswith("quick estimate: 145 of 149 documents")
    assert main([*base[:-4], "--quick-size", "60", "--quick-pool", "bm25"]) == 0  # below judged + BM25 top 10
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("quick estimate: 144 of 149 documents (1.0× fewer; judged + BM25 top 10")
    assert lines[1].startswith("note: ") and "more than the 60 asked for: all 144 are kept" in lines[1]
    assert main(["evaluate", "--data", str(DEMO), "--model", "bm25", "--quick-size", "60", "--db", db]) == 2
    assert capsys.readouterr().err.strip() == "error: --quick-size and --quick-pool need --quick"


# --------------------------------------------------------------------------- fidelity


def test_fidelity_against_hand_computed_values() -> None:
    full = {"a": 0.50, "b": 0.40, "c": 0.30, "d": 0.20}
    same = quick.fidelity(full, {"a": 0.55, "b": 0.45, "c": 0.31, "d": 0.21})
    assert same.tau == pytest.approx(1.0) and same.max_shift == pytest.approx(0.05) and same.worst in ("a", "b")
    swapped = quick.fidelity(full, {"a": 0.40, "b": 0.50, "c": 0.30, "d": 0.20})  # one discordant pair of 6
    assert swapped.tau == pytest.approx((5 - 1) / 6) and swapped.max_shift == pytest.approx(0.10)
    assert quick.fidelity(full, {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}).tau == pytest.approx(-1.0)
    assert quick.fidelity(full, {"a": 0.5, "b": 0.4, "x": 0.9}).shifts == {"a": 0.0, "b": 0.0}
    assert math.isnan(quick.fidelity({"a": 1, "b": 0}, {"a": 1, "b": 0}).p_value)
    with pytest.raises(UserError, match="at least two systems"):
        quick.fidelity({"a": 0.5}, {"a": 0.4, "b": 0.3})


def test_bad_evaluation_input_fails_before_pooling(tmp_path: Path) -> None:
    ds = datasets.load_dataset(DEMO)
    db = tmp_path / "bad.duckdb"
    for models_, msg in ((("bm25", "bm25"), "given twice"), (("no-such-model-xyz/abc",), "hub is offline"),
                         (("bm25+no-such-model-xyz/abc",), "hub is offline")):
        with pytest.raises(UserError, match=msg):
            quick.evaluate(ds, engine.EvaluationConfig(models=models_), 10, db_path=db, pool_models=("minilm",),
                           progress=lambda m, f: pytest.fail(f"pooling started: {m}"))
    assert not db.exists() or runs.row_counts(db)["eval_runs"] == 0
