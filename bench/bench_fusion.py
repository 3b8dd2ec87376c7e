"""Benchmark and evidence for hybrid retrieval (issue 15), in one process.

Prints, measured in this run:

1. One evaluation of BM25, all-MiniLM-L6-v2, their RRF (``bm25+minilm``), their min-max score
   fusion (``bm25+minilm#minmax:alpha=0.5``) and MiniLM chunked (``minilm?chunk=auto``): nDCG@10
   with 95 % CIs, the paired test of each hybrid against the better single system, chunked vs
   truncated, and the share of documents and tokens MiniLM cuts off.
2. The stored RRF and min-max hybrids' nDCG@10 against an independent computation (fusion
   written out here from the components' own top-100 lists, scored by pytrec_eval).
3. Time: evaluating the hybrid (which computes both parts) ÷ evaluating the two single systems,
   both with every vector cached (goal ≤ 1.05: fusion must cost nothing next to encoding);
   median of interleaved repeats, wall and process CPU time.

Usage: ``python bench/bench_fusion.py [--data PATH] [--repeats N] [--cache DIR]`` (default
``$EMS_SHARED/datasets/scifact`` or ``../shared/datasets/scifact``; ``--data data/demo`` for the demo).
The first evaluation encodes the corpus (minutes on SciFact); the timed ones read the cache.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

RRF, SCORE, CHUNKED = "bm25+minilm", "bm25+minilm#minmax:alpha=0.5", "minilm?chunk=auto"


def _default_data() -> Path:
    shared = Path(os.environ.get("EMS_SHARED", ROOT.parent / "shared"))
    return shared / "datasets" / "scifact"


def _own_fusion(res, spec: str) -> float:  # type: ignore[no-untyped-def]
    """nDCG@10 of the hybrid computed here from the components' top lists (no ranx)."""
    import numpy as np
    import pytrec_eval

    from lib.evaluation.models import hybrid

    h = hybrid.parse(spec)
    by = {m.info.spec: m for m in res.models}
    ds = res.dataset
    run: dict[str, dict[str, float]] = {}
    for r, q in enumerate(ds.query_ids):
        fused: dict[str, float] = {}
        for c, comp in enumerate(h.components):
            idx, sc = by[comp].topk_idx[r], by[comp].topk_scores[r]
            for rank, (j, v) in enumerate(zip(idx, sc, strict=True)):
                if h.method == "rrf":
                    add = 1.0 / (h.rrf_k + rank + 1)
                else:
                    add = h.weights[c] * (v - sc.min()) / max(sc.max() - sc.min(), 1e-9)
                d = ds.doc_ids[int(j)]
                fused[d] = fused.get(d, 0.0) + float(add)
        run[q] = dict(sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:100])
    ev = pytrec_eval.RelevanceEvaluator(ds.qrels, {"ndcg_cut.10"}).evaluate(run)
    return float(np.mean([ev[q]["ndcg_cut_10"] for q in ds.query_ids]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=_default_data())
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--cache", type=Path, default=None,
                   help="embedding cache to use (default a fresh one: the first run then encodes)")
    args = p.parse_args(argv)
    if not args.data.exists():
        print(f"error: no dataset at {args.data}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-fusion-"))
    os.environ["EMS_CACHE_DIR"] = str(args.cache or tmp / "cache")
    from lib.evaluation import datasets, engine, runs
    from lib.evaluation.chunking import describe
    from lib.evaluation.models import display_label

    db = tmp / "bench.duckdb"
    ds = datasets.load_dataset(args.data)
    print(f"{ds.name}: {len(ds.doc_ids):,} documents, {len(ds.query_ids):,} queries", flush=True)

    # 1. The table, in one run (this also fills the embedding cache).
    t0 = time.perf_counter()
    specs = ("bm25", "minilm", RRF, SCORE, CHUNKED)
    res = engine.evaluate(ds, engine.EvaluationConfig(models=specs, sweep=False), db_path=db)
    print(f"\n1. one run of {len(specs)} systems ({time.perf_counter() - t0:.0f} s, run {res.run_id})")
    summ = res.summary[res.summary["metric"] == "nDCG@10"].set_index("model")
    for s in specs:
        r = summ.loc[s]
        print(f"   {display_label(s):<48} nDCG@10 {r['mean']:.4f}  [{r['ci_low']:.4f}, {r['ci_high']:.4f}]")
    best_single = max(("bm25", "minilm"), key=lambda s: summ.at[s, "mean"])
    pairs = res.pairs[res.pairs["metric"] == "nDCG@10"]

    def paired(a: str, b: str) -> str:
        row = pairs[((pairs["model_a"] == a) & (pairs["model_b"] == b))]
        sign = 1.0
        if row.empty:
            row, sign = pairs[((pairs["model_a"] == b) & (pairs["model_b"] == a))], -1.0
        x = row.iloc[0]
        lo, hi = sorted((sign * x["ci_low"], sign * x["ci_high"]))
        return f"Δ {sign * x['mean_diff']:+.4f} [{lo:+.4f}, {hi:+.4f}], p = {x['p_value']:.4f}"

    for h in (RRF, SCORE, CHUNKED):
        base = best_single if h != CHUNKED else "minilm"
        print(f"   paired: {h} − {base}: {paired(h, base)}")
    mini = next(m for m in res.models if m.info.spec == "minilm")
    print(f"   MiniLM truncation: {describe(mini.truncation)}")

    # 2. Fusion against an independent computation.
    print("\n2. fusion checked against an independent computation (own fusion + pytrec_eval)")
    worst = 0.0
    for h in (RRF, SCORE):
        own, got = _own_fusion(res, h), float(summ.at[h, "mean"])
        worst = max(worst, abs(own - got))
        print(f"   {h}: stored {got:.6f}, independent {own:.6f}, |Δ| = {abs(own - got):.2e}")
    print(f"   max |Δ| = {worst:.2e} (goal ≤ 1e-9)")

    # 3. Time with every vector cached: the hybrid vs its two parts, interleaved repeats.
    def timed(models: tuple[str, ...]) -> tuple[float, float]:
        c0, w0 = time.process_time(), time.perf_counter()
        engine.evaluate(ds, engine.EvaluationConfig(models=models, sweep=False), db_path=db)
        return time.perf_counter() - w0, time.process_time() - c0

    timed(("bm25", "minilm"))  # warm: the first cached read pays imports and page cache,
    timed((RRF,))  # and the first fusion ranx's numba compilation
    singles, hybrids = [], []
    for _ in range(args.repeats):
        singles.append(timed(("bm25", "minilm")))
        hybrids.append(timed((RRF,)))
    sw, sc = statistics.median(x[0] for x in singles), statistics.median(x[1] for x in singles)
    hw, hc = statistics.median(x[0] for x in hybrids), statistics.median(x[1] for x in hybrids)
    print(f"\n3. cached evaluation time, median of {args.repeats} interleaved repeats")
    print(f"   bm25 + minilm as two systems: {sw:.2f} s wall, {sc:.2f} s CPU")
    print(f"   {RRF} (both parts computed, fused): {hw:.2f} s wall, {hc:.2f} s CPU")
    print(f"   ratio hybrid ÷ singles: {hw / sw:.3f} wall, {hc / sc:.3f} CPU (goal ≤ 1.05)")
    print(f"   load average now: {os.getloadavg()[0]:.1f}")
    runs.delete_run(res.run_id, db)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
