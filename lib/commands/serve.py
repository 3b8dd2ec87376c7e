"""``python -m lib serve``: start the app for a team (``make serve``), or refuse with the reason.

Binds ``EMS_SERVE_ADDRESS`` (default 0.0.0.0) on ``EMS_SERVE_PORT`` (default 8501) with team
mode on. Sign-in must be set up first — an ``[auth]`` section in ``.streamlit/secrets.toml``
that ``st.login`` can use, and Authlib installed — unless the operator sets the documented
opt-out ``EMS_ALLOW_ANONYMOUS=1``. ``--check`` stops after the checks and prints the command.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import shlex
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand.

    Args:
        subparsers: The dispatcher's subparsers object.
    """
    p = subparsers.add_parser(
        "serve",
        help="start the app for a team: sign-in required (make serve)",
        description=(
            "Start the app on EMS_SERVE_ADDRESS:EMS_SERVE_PORT (default 0.0.0.0:8501) with team mode on. "
            "Refuses unless .streamlit/secrets.toml has a usable [auth] section (OpenID Connect, see "
            "docs/TEAM.md), or EMS_ALLOW_ANONYMOUS=1 is set to serve without sign-in on purpose."
        ),
    )
    p.add_argument("--address", default=None, help="bind address (default EMS_SERVE_ADDRESS, else 0.0.0.0)")
    p.add_argument("--port", type=int, default=None, help="port (default EMS_SERVE_PORT, else 8501)")
    p.add_argument("--check", action="store_true", help="only check the set-up and print the command")
    p.set_defaults(func=run)


def command(address: str, port: int) -> list[str]:
    """The ``streamlit run`` command line that serves the app.

    Args:
        address: Bind address.
        port: Port.

    Returns:
        The argument vector.
    """
    from lib.config import PROJECT_ROOT

    return [sys.executable, "-m", "streamlit", "run", str(PROJECT_ROOT / "app.py"), "--server.address", address,
            "--server.port", str(port), "--server.headless", "true"]


def run(args: argparse.Namespace) -> int:
    """Check the set-up, then replace this process with the Streamlit server.

    Args:
        args: Parsed arguments.

    Returns:
        0 after ``--check`` (otherwise the process becomes the server and does not return).

    Raises:
        UserError: Sign-in is needed but not set up, or Authlib is missing.
    """
    from lib import team
    from lib.config import get_settings
    from lib.errors import UserError

    s = dataclasses.replace(get_settings(), team_mode=True)  # serving a team, whatever the address
    address = args.address or s.serve_address
    port = args.port or s.serve_port
    mode = team.serving_mode(address, s)
    env = dict(os.environ)
    if not mode.sign_in:  # EMS_ALLOW_ANONYMOUS=1
        print(f"warning: serving {address}:{port} WITHOUT sign-in (EMS_ALLOW_ANONYMOUS=1): everyone who can reach "
              "it sees and deletes the same runs, label sets and uploads", file=sys.stderr)
    else:
        env["EMS_TEAM_MODE"] = "1"  # the app asks for sign-in even when bound to loopback behind a proxy
        files = team.secrets_files()
        problems = team.auth_problems(team.read_auth_section(files))
        if problems:
            raise UserError(
                f"cannot serve a team on {address}:{port} without sign-in: " + "; ".join(problems)
                + f" (read {', '.join(str(f) for f in files)}). Add the [auth] section (docs/TEAM.md: redirect_uri, "
                "cookie_secret, client_id, client_secret, server_metadata_url), or set EMS_ALLOW_ANONYMOUS=1 "
                "to serve without sign-in on purpose"
            )
        if importlib.util.find_spec("authlib") is None:
            raise UserError("sign-in needs Authlib (pip install -r requirements.txt)")
    cmd = command(address, port)
    print(f"serving {address}:{port}: {mode.reason}", file=sys.stderr)
    if args.check:
        print(shlex.join(cmd))
        return 0
    os.execve(cmd[0], cmd, env)  # pragma: no cover - the process becomes the server
