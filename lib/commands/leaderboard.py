"""``python -m lib leaderboard BENCHMARK``: print mteb's summary table for a benchmark."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``leaderboard`` subcommand."""
    p = sub.add_parser(
        "leaderboard",
        help="print a benchmark's ranking (mteb's summary table)",
        description=(
            "Print the summary table mteb's leaderboard computes for a benchmark: Rank (Borda), "
            "Mean (Task), Mean (TaskType), per-type means, zero-shot %, parameters, dimensions, "
            "max tokens. Scores at full precision on mteb's 0-1 scale."
        ),
    )
    p.add_argument("benchmark", help='mteb benchmark name, e.g. "MTEB(eng, v2)"')
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.add_argument("--task", action="append", dest="tasks", help="restrict to a task (repeatable)")
    p.add_argument("--limit", type=int, help="print only the first N rows")
    p.add_argument(
        "--db",
        type=Path,
        help="the app's DuckDB file whose leaderboard to read (default: EMS_DB); the leaderboard file is "
        "EMS_LEADERBOARD_DB, else leaderboard.duckdb beside it. Opened read-only: works while the app runs",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table in the chosen format."""
    from lib.leaderboard.ranking import EXPERIMENT_COL, summary_table

    table = summary_table(args.benchmark, args.db, tasks=args.tasks)
    df = table.df
    if df.empty:
        print(f"No results for {args.benchmark} with this selection.", file=sys.stderr)
        return 1
    if EXPERIMENT_COL in df and (df[EXPERIMENT_COL] == "").all():
        df = df.drop(columns=[EXPERIMENT_COL])  # every row is a base run
    if args.limit:
        df = df.head(args.limit)
    if args.format == "csv":
        from lib import csvsafe

        sys.stdout.write(csvsafe.to_csv(df, index=False, float_format="%.17g"))
    elif args.format == "json":
        df.to_json(sys.stdout, orient="records", double_precision=15, indent=1)
        print()
    else:
        print(df.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    return 0
