"""Scale: wall time per document and peak memory on synthetic corpora, in-process and on local Ray.

For each size (default 100k, 300k and 1M documents, 1,000 queries) a synthetic BEIR corpus is
made once (``scripts/make_synthetic_corpus.py``), then ``python -m lib evaluate`` runs it in a
child process per engine with the ``hash`` bench embedder (384 dims, ``--no-sweep``, a cold
embedding cache), so every document is encoded, streamed to disk and searched.

Measured per configuration:

* wall time (and per document), the phases from the CLI's progress lines (load + validate,
  encode documents, search, single-query latency, rest), CPU time of the process tree;
* peak memory of the driver (``ru_maxrss`` through ``/usr/bin/time``, or VmHWM), and for the
  ray engine of every Ray process too (raylet, GCS, agents, workers — the driver's process
  tree, polled every 0.2 s): the sum of each process's own peak (VmHWM; an upper bound, since
  shared object-store pages count once per process touching them and peaks need not coincide)
  and the largest sampled sum of PSS (each shared page split among its users: the truest
  "memory in use at the worst moment").

Goals (issue 17): peak RSS ≤ 3 GB at 1M × 384, time per document flat within 1.5× from 100k to 1M.

Usage: ``python bench/bench_scale.py [--sizes 100000,300000] [--engines local,ray] [--queries 1000]
[--dim 384] [--work DIR] [--json OUT]``. On 2 shared cores 1M takes several minutes per engine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHASES = (("validating data", "load"), ("resolving models", "resolve"), ("connecting to Ray", "ray_start"),
          ("loading model", "model"), ("encoding documents", "encode_docs"), ("encoding queries", "queries"),
          ("searching", "search"), ("timing single queries", "latency"), ("done", "after"))


def _status(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    out[line.split(":")[0]] = int(line.split()[1])
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    out["Pss"] = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return out


def _name(pid: int) -> str:
    """The role of a process in the tree: driver, raylet, gcs, Ray worker (actors, idle workers), Ray agent."""
    try:
        cmd = [c.decode(errors="replace") for c in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if c]
    except OSError:
        return "?"
    text = " ".join(cmd)
    exe = Path(cmd[0]).name if cmd else ""
    if exe == "time":
        return "time"
    if "-m lib evaluate" in text:
        return "driver"
    if exe in ("raylet", "gcs_server"):
        return exe
    if (text.startswith("ray::") and "Agent" not in text) or "default_worker.py" in text:
        return "ray workers"
    return "ray agents"  # dashboard/runtime-env agents, log monitor, autoscaler monitor


class TreeMonitor(threading.Thread):
    """Polls a process tree's memory: per-process peak (VmHWM) and the peak of the summed PSS/RSS."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.hwm: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.peak_pss = self.peak_rss = 0
        self.stop = threading.Event()

    def pids(self) -> list[int]:
        import psutil

        try:
            return [self.root.pid, *(c.pid for c in self.root.children(recursive=True))]
        except psutil.Error:
            return []

    def run(self) -> None:
        while not self.stop.is_set():
            pss = rss = 0
            for pid in self.pids():
                st = _status(pid)
                if not st:
                    continue
                if self.names.get(pid, "?") in ("?", "ray agents"):  # a worker renames itself once started
                    self.names[pid] = _name(pid)
                self.hwm[pid] = max(self.hwm.get(pid, 0), st.get("VmHWM", 0))
                pss += st.get("Pss", 0)
                rss += st.get("VmRSS", 0)
            self.peak_pss, self.peak_rss = max(self.peak_pss, pss), max(self.peak_rss, rss)
            self.stop.wait(self.interval)


def run_one(corpus: Path, n_docs: int, engine: str, dim: int, work: Path, ray_batch: int | None = None) -> dict:
    cache = work / f"cache-{n_docs}-{engine}"
    shutil.rmtree(cache, ignore_errors=True)
    db = work / f"bench-{n_docs}-{engine}.duckdb"
    db.unlink(missing_ok=True)
    timefile = work / "time.txt"
    env = {**os.environ, "EMS_CACHE_DIR": str(cache), "EMS_MAX_DOCUMENTS": str(max(2_000_000, n_docs)),
           "HF_HUB_OFFLINE": "1"}
    env.pop("EMS_RAY_ADDRESS", None)  # --engine ray: a local instance on this machine
    cmd = ["/usr/bin/time", "-f", "%M %e %U %S", "-o", str(timefile), sys.executable, "-m", "lib", "evaluate",
           "--data", str(corpus), "--model", f"hash?dim={dim}", "--no-sweep", "--format", "json",
           "--engine", engine, "--db", str(db), *(["--ray-batch-size", str(ray_batch)] if ray_batch else [])]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mon = TreeMonitor(proc.pid)
    mon.start()
    marks: dict[str, float] = {}
    err_tail: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            now = time.perf_counter() - t0
            err_tail[:] = [*err_tail[-30:], line.rstrip()]
            for text, key in PHASES:
                if text in line and key not in marks:
                    marks[key] = now

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait()
    wall = time.perf_counter() - t0
    reader.join(5)
    mon.stop.set()
    mon.join(2)
    if proc.returncode != 0:
        raise RuntimeError(f"{engine} at {n_docs:,} failed:\n" + "\n".join(err_tail))
    maxrss_kb, _elapsed, user, sys_s = timefile.read_text().split()[-4:]
    result = json.loads(out)
    keys = [k for _, k in PHASES if k in marks]
    # Before the first progress line: interpreter start, imports, reading and validating the data.
    phases = {"start_and_read_data": round(marks[keys[0]], 1) if keys else None}
    phases.update({k: round(marks[nxt] - marks[k], 1) for k, nxt in itertools.pairwise(keys)})
    phases["after"] = round(wall - marks.get("after", wall), 1)
    driver_pid = next((p for p, n in mon.names.items() if n == "driver"), None)
    by_role: dict[str, int] = {}
    for pid, kb in mon.hwm.items():
        if pid == proc.pid:
            continue  # /usr/bin/time itself
        role = mon.names.get(pid, "?")
        by_role[role] = by_role.get(role, 0) + kb
    driver_peak_kb = max(int(maxrss_kb), mon.hwm.get(driver_pid, 0) if driver_pid else 0)
    ray_peak_kb = sum(kb for role, kb in by_role.items() if role != "driver")
    cost = result["cost"][f"hash?dim={dim}"]
    shutil.rmtree(cache, ignore_errors=True)
    return {
        "docs": n_docs, "engine": engine, "ray_batch_size": ray_batch,
        "wall_s": round(wall, 1), "us_per_doc": round(wall / n_docs * 1e6, 1),
        "cpu_s": round(float(user) + float(sys_s), 1), "phases_s": phases,
        "driver_peak_mb": round(driver_peak_kb / 1024), "ray_processes_peak_mb": round(ray_peak_kb / 1024),
        "tree_peak_sum_mb": round((driver_peak_kb + ray_peak_kb) / 1024),
        "tree_peak_pss_mb": round(mon.peak_pss / 1024), "peaks_by_process_mb": {r: round(v / 1024)
                                                                                  for r, v in sorted(by_role.items())},
        "docs_per_s_encode": round(cost["docs_per_s"] or 0), "search_s": round(cost["search_s"], 1),
        "latency_p50_ms": round(cost["latency_p50_ms"] or 0), "ndcg10": next(
            r["mean"] for r in result["summary"] if r["metric"] == "nDCG@10"),
        "load_avg_start": round(load0, 1), "load_avg_end": round(os.getloadavg()[0], 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description="Scale benchmark (synthetic corpora, hash embedder)")
    ap.add_argument("--sizes", default="100000,300000,1000000", help="comma-separated document counts")
    ap.add_argument("--engines", default="local,ray")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--work", type=Path, default=None, help="folder for corpora and caches (default a temp dir)")
    ap.add_argument("--ray-batch-size", type=int, default=None, help="texts per Ray actor call (default the setting)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_synthetic_corpus import generate

    work = args.work or Path(tempfile.mkdtemp(prefix="ems-bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in (int(s.replace("_", "")) for s in args.sizes.split(",")):
        corpus = work / f"synthetic-{n}-q{args.queries}"
        if not (corpus / "qrels" / "test.tsv").exists():
            t0 = time.perf_counter()
            info = generate(corpus, n, args.queries, seed=0)
            print(f"# corpus {n:,} docs: {info['corpus_bytes'] / 1e6:.0f} MB in {time.perf_counter() - t0:.0f} s",
                  flush=True)
        for engine in args.engines.split(","):
            row = run_one(corpus, n, engine, args.dim, work, args.ray_batch_size if engine == "ray" else None)
            rows.append(row)
            print(json.dumps(row), flush=True)
    print()
    print(f"{'docs':>9} {'engine':>6} {'wall s':>7} {'µs/doc':>7} {'cpu s':>7} {'driver MB':>9} "
          f"{'ray MB':>7} {'Σpeak MB':>8} {'PSS MB':>7}  phases (s)")
    for r in rows:
        print(f"{r['docs']:>9,} {r['engine']:>6} {r['wall_s']:>7} {r['us_per_doc']:>7} {r['cpu_s']:>7} "
              f"{r['driver_peak_mb']:>9} {r['ray_processes_peak_mb']:>7} {r['tree_peak_sum_mb']:>8} "
              f"{r['tree_peak_pss_mb']:>7}  {r['phases_s']}")
    for engine in args.engines.split(","):
        mine = [r for r in rows if r["engine"] == engine]
        if len(mine) > 1:
            first, last = mine[0], mine[-1]
            cpu_ratio = (last["cpu_s"] / last["docs"]) / (first["cpu_s"] / first["docs"])
            print(f"{engine}: µs/doc largest ÷ smallest corpus = {last['us_per_doc'] / first['us_per_doc']:.2f} "
                  f"(goal ≤ 1.5); in CPU s/doc {cpu_ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
