"""mteb's own summary tables, computed with mteb, for comparison in tests and benches.

Mirrors how mteb's leaderboard gets there: read the ``mteb/results`` parquet, scope it to
the benchmark with mteb's ``_build_valid_triples`` join (``split_leaderboard_frame``), then
``Benchmark._create_summary_table``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def mteb_summary(benchmark: str, parquet_files: list[Path], tasks: list[str] | None = None) -> pd.DataFrame:
    import mteb
    import polars as pl
    from mteb.results.benchmark_results import _build_valid_triples

    combined = pl.read_parquet([str(p) for p in parquet_files])
    bench = mteb.get_benchmark(benchmark)
    if tasks is not None:
        # A benchmark of the selected tasks only, with the same aggregation settings.
        import copy

        bench = copy.copy(bench)
        bench.tasks = [t for t in bench.tasks if t.metadata.name in set(tasks)]
    triples = _build_valid_triples(bench.tasks, "split" in combined.columns, "subset" in combined.columns)
    keys = [c for c in ("task_name", "split", "subset") if c in triples.columns]
    frame = combined.join(triples, on=keys, how="inner")
    return bench._create_summary_table(frame).df.to_pandas()
