"""Benchmark judging: server-side time per judgement with a pool of 1,000 pairs.

What a Label page does for each click, measured in process on a fresh DuckDB file:
save the judgement (:func:`lib.labelling.store.record_judgement`, its own transaction),
then fetch what the page shows next — the judge's progress (:func:`judge_progress`), where
to resume (:func:`next_query`), the next query's blind candidates (:func:`candidates`) and
the query texts. The full per-judge table (:func:`progress`, the page's status section) is
timed separately. Also
times an undo. 1,000 pairs = 100 queries × 10 candidates (a depth-10 pool of one model,
or two overlapping ones), all judged one by one.

Usage: ``python bench/bench_labelling.py [--pairs 1000]``. Prints the numbers; no goal is
asserted (a benchmark, not a test), but ~50 ms per click keeps a page responsive.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd


def _ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
    return f"median {statistics.median(xs) * 1000:6.2f} ms, p95 {p95 * 1000:6.2f} ms, max {xs[-1] * 1000:6.2f} ms"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=1000)
    ap.add_argument("--per-query", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-label-"))
    os.environ["EMS_DB"] = str(tmp / "bench.duckdb")
    from lib.labelling import store as lstore

    n_q = args.pairs // args.per_query
    n_docs = max(500, args.pairs)
    docs = [(f"d{i}", f"document {i} " + "lorem ipsum dolor sit amet " * 12) for i in range(n_docs)]
    queries = [lstore.QueryRecord(f"q{i}", f"question number {i}?") for i in range(n_q)]
    db = tmp / "bench.duckdb"
    sid = lstore.create_set(db, name="bench", source="bench", fingerprint="x", docs=docs, queries=queries,
                            query_source="pasted")
    hits = pd.DataFrame([(f"q{i}", f"d{(i * 7 + j) % n_docs}", j + 1, 1.0) for i in range(n_q)
                         for j in range(args.per_query)], columns=["query_id", "doc_id", "rank", "score"])
    lstore.add_pool(db, sid, "bm25", "{}", args.per_query, hits)
    save, show, click, full = [], [], [], []
    t_all = time.perf_counter()
    q = lstore.next_query(db, sid, "alice")
    while q is not None:
        cands = lstore.candidates(db, sid, q, "alice")
        for i, d in enumerate(cands["doc_id"]):
            t0 = time.perf_counter()
            lstore.record_judgement(db, sid, q, d, "alice", i % 3)
            t1 = time.perf_counter()
            lstore.judge_progress(db, sid, "alice")  # what the Label page shows after a click
            nxt = lstore.next_query(db, sid, "alice")
            if nxt is not None:
                lstore.candidates(db, sid, nxt, "alice")
                lstore.query_text(db, sid, nxt)
            t2 = time.perf_counter()
            if len(full) < 100:  # the full per-judge table (status section), sampled
                lstore.progress(db, sid)
                full.append(time.perf_counter() - t2)
            save.append(t1 - t0)
            show.append(t2 - t1)
            click.append(t2 - t0)
        q = lstore.next_query(db, sid, "alice")
    total = time.perf_counter() - t_all
    undo = []
    for _ in range(20):
        t0 = time.perf_counter()
        lstore.undo(db, sid, "alice")
        undo.append(time.perf_counter() - t0)
    prog = lstore.progress(db, sid).iloc[0]
    print(f"judged {len(click):,} pairs ({n_q} queries x {args.per_query}) one by one in {total:.1f} s")
    print(f"save one judgement (own transaction):     {_ms(save)}")
    print(f"progress + resume + next candidates:      {_ms(show)}")
    print(f"full progress table (per judge, sampled): {_ms(full)}")
    print(f"whole click (save + what the page shows): {_ms(click)}")
    print(f"undo:                                     {_ms(undo)}")
    print(f"after 20 undos: {int(prog['judged'])}/{int(prog['total'])} judged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
