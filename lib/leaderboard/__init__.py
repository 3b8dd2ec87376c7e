"""MTEB leaderboard data: sources, metadata, refresh into DuckDB, and mteb-identical rankings.

* :mod:`lib.leaderboard.sources` — where ``mteb/results`` comes from (hub or local copy).
* :mod:`lib.leaderboard.metadata` — mteb's ModelMeta / TaskMetadata / Benchmark objects as
  rows (the one place that imports mteb).
* :mod:`lib.leaderboard.store` — the leaderboard's own DuckDB file: built whole, swapped in
  atomically, opened read-only (so reading never waits for the app's database).
* :mod:`lib.leaderboard.refresh` — builds a new leaderboard file and swaps it in.
* :mod:`lib.leaderboard.ranking` — ``Benchmark._create_summary_table`` recomputed from
  DuckDB, without importing mteb.
* :mod:`lib.leaderboard.queries` — read helpers for pages (benchmarks, models, provenance).
"""
