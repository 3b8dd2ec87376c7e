"""Leaderboard foundation benchmarks, each beside its mteb baseline measured in the same run.

Prints:
  1. refresh (parquet + mteb metadata -> DuckDB) vs mteb's own load of the same parquet into
     its leaderboard frames (read + split_leaderboard_frame over every benchmark + dedupe);
  2. warm summary table for MTEB(eng, v2) (and Multilingual) vs mteb's
     Benchmark._create_summary_table on its prepared frame;
  3. app cold start (`streamlit run` launched -> first table rendered in Chromium), DB present.

Run: .venv/bin/python bench/bench_leaderboard.py   (needs ../shared or EMS_MTEB_RESULTS)
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = Path(os.environ.get("EMS_MTEB_RESULTS", ROOT.parent / "shared" / "mteb-results"))


def best(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    from lib import store
    from lib.leaderboard.refresh import refresh

    tmp = Path(tempfile.mkdtemp())
    db = tmp / "bench.duckdb"

    # --- 1. refresh vs mteb's load of the same data -----------------------------------
    t = time.perf_counter()
    refresh(db, results=RESULTS)
    ours_refresh = time.perf_counter() - t
    store.close(db)

    import mteb  # baseline side; imported before timing it
    import polars as pl
    from mteb.results.benchmark_results import BenchmarkResults

    files = sorted(RESULTS.glob("data/train-*.parquet")) or [RESULTS]
    t = time.perf_counter()
    combined = pl.read_parquet([str(f) for f in files])
    frames = BenchmarkResults.split_leaderboard_frame(combined)
    # mteb/api/frames.py::_dedupe_unified (the api module needs fastapi, so inlined here)
    combined.lazy().drop_nulls("score").group_by(["model_name", "task_name", "split", "subset"]).agg(
        pl.col("score").max()
    ).collect(engine="streaming")
    mteb_load = time.perf_counter() - t
    print(f"refresh: ours {ours_refresh:.2f}s (goal <= 15s, includes import mteb + metadata); "
          f"mteb load of the same parquet {mteb_load:.2f}s (its load of the raw results repo, "
          f"~260s per the issue, cannot be measured offline); ratio ours/mteb = {ours_refresh / mteb_load:.2f}")

    # --- 2. warm summary table ----------------------------------------------------------
    from lib.leaderboard.ranking import summary_table

    for name in ("MTEB(eng, v2)", "MTEB(Multilingual, v2)"):
        summary_table(name, db)  # warm the DuckDB buffer cache
        ours = best(lambda n=name: summary_table(n, db))
        bench = mteb.get_benchmark(name)
        frame = frames[name]
        bench._create_summary_table(frame)
        theirs = best(lambda b=bench, f=frame: b._create_summary_table(f), n=3)
        goal = " (goal <= 100 ms)" if name == "MTEB(eng, v2)" else ""
        print(f"summary {name}: ours {ours * 1000:.0f} ms{goal}; mteb _create_summary_table "
              f"{theirs * 1000:.0f} ms; ratio {ours / theirs:.3f}")
    store.close(db)

    # --- 3. app cold start to first rendered table ---------------------------------------
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, EMS_DB=str(db))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page()
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
                 "--server.port", str(port), "--server.address", "127.0.0.1"],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
            )
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                        break
                    except OSError:
                        time.sleep(0.05)
                t_health = time.perf_counter() - t0
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
                runs.append((time.perf_counter() - t0, t_health))
            finally:
                proc.kill()
                proc.wait(timeout=10)
        browser.close()
    total = statistics.median(r[0] for r in runs)
    health = statistics.median(r[1] for r in runs)
    print(f"app cold start to first table: {total:.2f}s median of 3 (goal <= 3 s; server up after "
          f"{health:.2f}s, rest is page load + first script run)")


if __name__ == "__main__":
    main()
