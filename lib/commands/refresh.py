"""``python -m lib refresh``: build a new leaderboard file and swap it in."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``refresh`` subcommand."""
    p = sub.add_parser(
        "refresh",
        help="load mteb/results and mteb's metadata into the leaderboard's DuckDB file",
        description=(
            "Build the leaderboard file (idempotent): a complete new file is written beside the old "
            "one and swapped in atomically, so the running app and `python -m lib leaderboard` keep "
            "reading the old data until the new is complete (the app need not be stopped). Results "
            "come from --results, else EMS_MTEB_RESULTS, else a download of the mteb/results dataset "
            "from the hub (EMS_HUB_TIMEOUT), else the dated snapshot bundled in data/mteb-results."
        ),
    )
    p.add_argument("--results", type=Path, help="local copy of mteb/results (folder or parquet)")
    p.add_argument(
        "--local-results", type=Path, help="folder of mteb result files for your own models"
    )
    p.add_argument(
        "--db",
        type=Path,
        help="the app's DuckDB file whose leaderboard to replace (default: EMS_DB); the leaderboard file is "
        "EMS_LEADERBOARD_DB, else leaderboard.duckdb beside it (the app's file itself is not opened)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the refresh, with progress on stderr."""
    from lib.leaderboard.refresh import refresh

    summary = refresh(
        args.db,
        results=args.results,
        local_results=args.local_results,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    # One line on stdout: what was loaded and from which source (a fallback says why).
    print(
        f"{summary.n_rows} rows ({summary.n_local_rows} local), {summary.n_models} models, "
        f"{summary.n_tasks} tasks, {summary.n_benchmarks} benchmarks in {summary.seconds:.1f}s; "
        f"{summary.source_line}"
    )
    return 0
