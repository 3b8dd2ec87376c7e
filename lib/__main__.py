"""``python -m lib``: the command-line interface.

Each subcommand lives in its own module under ``lib/commands`` and exposes
``register(subparsers)``; the module is imported only to build the parser, and heavy
imports (mteb, torch) stay inside each command's ``run`` function.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import lib.commands
from lib.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand found in ``lib.commands``.

    Returns:
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="python -m lib",
        description="Embedding Model Selection: data refresh, leaderboards, evaluation, reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(lib.commands.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"lib.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        The process exit code: 0 on success, 2 for errors the user can fix.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        # Errors the user can act on get one clear line, not a traceback.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
