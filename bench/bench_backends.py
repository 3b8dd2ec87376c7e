"""Benchmark MiniLM on torch vs ONNX Runtime vs OpenVINO, fp32 and int8, in one process.

Prints, measured in this run:

* the CPU's int8 / bf16 features (VNNI, AMX, AVX-512 BF16: they decide these ratios)
* bare-encode throughput (documents/s) of each variant on the first ``--docs`` SciFact
  documents, and its ratio to torch (goal for int8: ≥ 2.5×); also per CPU second (process
  time), the steadier figure on a machine that other work shares. All variants are loaded
  (exports made or found in the cache) and warmed up before timing, then timed in
  ``--rounds`` interleaved rounds (torch, onnx, …, torch, onnx, …); the median round counts,
  so a slow spell of a shared machine hits every variant alike. The variants are those the
  Evaluate page offers here (:func:`lib.evaluation.models.runtime_variants`: bf16 only on
  CPUs that have it).
* cosine of each variant's document vectors to torch's (mean and minimum)
* with ``--ndcg``: nDCG@10 of each variant on full SciFact through
  :func:`lib.evaluation.engine.evaluate`, its difference to torch with the run's paired test
  (:func:`lib.report.analysis.backend_deltas`), beside the throughput ratio (goal: fp32 within
  0.002 of torch, int8 within 0.01)

All variants run with the same thread count (torch's default on this machine).
Usage: ``python bench/bench_backends.py [--data PATH] [--docs 2000] [--ndcg]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

def main() -> None:
    """Run the benchmark and print its numbers."""
    default = Path(os.environ.get("EMS_SHARED", ROOT.parent / "shared")) / "datasets" / "scifact"
    if not default.exists():
        default = Path("/work/shared/datasets/scifact")
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=default)
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (median counts)")
    ap.add_argument("--ndcg", action="store_true", help="also nDCG@10 of each variant on full SciFact")
    ap.add_argument("--ndcg-queries", type=int, default=None,
                    help="with --ndcg: only the first N queries, their judged documents and --ndcg-extra others "
                    "(for a machine too busy for the full corpus; the subset is printed)")
    ap.add_argument("--ndcg-extra", type=int, default=0, help="other documents kept with --ndcg-queries")
    args = ap.parse_args()
    os.environ.setdefault("EMS_CACHE_DIR", tempfile.mkdtemp(prefix="bench-backends-"))

    import numpy as np
    import torch

    from lib.evaluation import models
    from lib.evaluation.models import runtimes

    specs = ["minilm", *models.runtime_variants("minilm")]  # what the Evaluate page offers on this machine

    docs = []
    with (args.data / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            docs.append(f"{d.get('title', '')} {d['text']}".strip())
            if len(docs) >= args.docs:
                break
    threads = torch.get_num_threads()
    flags = runtimes.cpu_flags()
    feats = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
             if f in flags]
    print(f"{len(docs)} SciFact documents, {threads} threads, load average {os.getloadavg()[0]:.2f}, "
          f"{args.rounds} interleaved rounds; CPU features: {' '.join(feats) or 'unknown'}")
    loaded = {}
    load_s = {}
    for spec in specs:
        t0 = time.perf_counter()
        model = models.load(models.resolve(spec))
        load_s[spec] = time.perf_counter() - t0
        assert isinstance(model, models.Embedder)
        model.encode(docs[:64], "document")  # warm-up
        loaded[spec] = model
    walls: dict[str, list[float]] = {s: [] for s in specs}
    cpus: dict[str, list[float]] = {s: [] for s in specs}
    vectors = {}
    for _ in range(args.rounds):
        for spec in specs:
            t0, c0 = time.perf_counter(), time.process_time()
            vectors[spec] = loaded[spec].encode(docs, "document")
            walls[spec].append(time.perf_counter() - t0)
            cpus[spec].append(time.process_time() - c0)
    ref = vectors[specs[0]]
    rows = []
    for spec in specs:
        vecs = vectors[spec]
        cos = (vecs * ref).sum(1) / np.linalg.norm(vecs, axis=1) / np.linalg.norm(ref, axis=1)
        rows.append((spec, load_s[spec], len(docs) / float(np.median(walls[spec])), float(np.median(cpus[spec])),
                     float(cos.mean()), float(cos.min())))
    del loaded
    base = rows[0][2]
    sys.stdout.flush()
    base_cpu = rows[0][3]
    print(f"{'variant':42} {'load+export s':>13} {'docs/s':>8} {'× torch':>8} {'cpu s':>7} {'× torch cpu':>11} "
          f"{'cos mean':>9} {'cos min':>8}")
    for spec, load_s, rate, cpu, cmean, cmin in rows:
        print(f"{spec:42} {load_s:13.1f} {rate:8.1f} {rate / base:8.2f} {cpu:7.1f} {base_cpu / cpu:11.2f} "
              f"{cmean:9.5f} {cmin:8.5f}")

    if args.ndcg:
        from lib.evaluation.engine import EvaluationConfig, evaluate

        db = Path(tempfile.mkdtemp(prefix="bench-backends-db-")) / "b.duckdb"
        t0 = time.perf_counter()
        from lib.evaluation.datasets import load_dataset

        data = load_dataset(args.data)
        if args.ndcg_queries:
            data = data.subset(list(data.query_ids[: args.ndcg_queries]), extra_docs=args.ndcg_extra)
        result = evaluate(data, EvaluationConfig(models=tuple(specs), sweep=False, latency_queries=0,
                                                      bootstrap_resamples=200, paired_resamples=1000),
                          db_path=db)
        from lib.report.analysis import backend_deltas

        print(f"\nnDCG@10 on {'a SciFact subset' if args.ndcg_queries else 'full SciFact'} "
              f"({len(result.dataset.doc_ids)} documents, "
              f"{len(result.dataset.query_ids)} queries; {time.perf_counter() - t0:.0f} s for all {len(specs)})")
        means = result.summary[result.summary["metric"] == "nDCG@10"].set_index("model")["mean"]
        deltas = backend_deltas(result.summary, result.pairs, "nDCG@10").set_index("variant")
        rate = {spec: r for spec, _, r, *_ in rows}
        print(f"{'variant':42} {'nDCG@10':>8} {'Δ torch':>8} {'95% CI of Δ':>19} {'p':>7} {'× torch docs/s':>14}")
        for spec in specs:
            if spec in deltas.index:
                d = deltas.loc[spec]
                extra = f"{d['delta']:+8.4f} [{d['ci_low']:+.4f}, {d['ci_high']:+.4f}] {d['p_value']:7.4f}"
            else:
                extra = f"{'—':>8} {'':19} {'':7}"
            print(f"{spec:42} {means[spec]:8.4f} {extra} {rate[spec] / base:14.2f}")


if __name__ == "__main__":
    main()
