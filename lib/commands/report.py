"""``python -m lib report RUN_ID [RUN_ID ...] --out report.html|report.md``: the architect's report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lib.errors import UserError


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand.

    Args:
        subparsers: The dispatcher's subparsers object.
    """
    p = subparsers.add_parser(
        "report",
        help="write a cost/quality report from evaluation runs (HTML or Markdown)",
        description=(
            "Write the architect's report from finished evaluation runs: question, assumptions, "
            "price sources with dates, results with 95 % CIs and charts, recommendation and "
            "runner-up, risks. The format follows --out's extension (.html: self-contained with "
            "interactive charts; .md: Markdown). Cost assumptions are the defaults of lib.cost."
        ),
    )
    p.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="evaluation run id (see the Runs page)")
    p.add_argument("--out", required=True, help="output file, .html or .md")
    p.add_argument("--db", default=None, help="DuckDB file (default EMS_DB)")
    p.add_argument("--shortlist", default="", help="comma-separated mteb model names to list as the shortlist")
    p.add_argument("--question", default=None, help="the question the report answers")
    p.add_argument("--context", default="", help="who asks and why")
    p.add_argument("--user", default=None, help="act as this local user: their runs and shared ones only")
    p.set_defaults(func=run)


def _leaderboard(db: str | None) -> Any:
    """The MTEB(eng, v2) summary table, or None without leaderboard data."""
    from lib import store
    from lib.leaderboard.ranking import summary_table
    from lib.report import MTEB_BENCHMARK

    try:
        return summary_table(MTEB_BENCHMARK, db).df
    except store.StoreLockedError:
        raise  # not "no leaderboard data": something else is wrong; one error line
    except UserError as exc:
        print(f"note: no MTEB comparison ({exc})", file=sys.stderr)
        return None


def run(args: argparse.Namespace) -> int:
    """Build the report and write it.

    Args:
        args: Parsed arguments.

    Returns:
        0 on success.

    Raises:
        UserError: For an unsupported extension or unknown/unfinished runs.
    """
    from lib import report, team
    from lib.evaluation import runs
    from lib.leaderboard import queries

    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm", ".md", ".markdown"):
        raise UserError(f"--out must end in .html or .md, not {out.suffix or '(no extension)'}")
    viewer = team.local_viewer(args.user)
    for rid in args.run_ids:  # another person's private run is "no evaluation run", like a missing one
        team.require(args.db, "run", rid, viewer)
    lb = _leaderboard(args.db)
    names = set()
    for rid in args.run_ids:  # first: a locked or unknown database is the one error, with no note before it
        stored = runs.load_run(rid, args.db)
        names |= set(report.model_table(stored, f"nDCG@{stored.run['k']}")["mteb_name"])
    lb = _leaderboard(args.db)  # the leaderboard's own file, read-only: never locked by the app
    meta = {n: queries.model(n, args.db) for n in names} if lb is not None else {}
    rep = report.build_report(
        args.run_ids,
        db_path=args.db,
        shortlist=[s.strip() for s in args.shortlist.split(",") if s.strip()],
        leaderboard=lb,
        model_meta=meta,
        question=args.question or report.DEFAULT_QUESTION,
        context=args.context,
        with_figures=out.suffix.lower() in (".html", ".htm"),
    )
    text = report.to_html(rep) if out.suffix.lower() in (".html", ".htm") else report.to_markdown(rep)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"report written to {out} ({len(text.encode()):,} bytes); recommended: {rep.recommendation or '—'}",
          file=sys.stderr)
    return 0
