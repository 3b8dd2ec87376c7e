"""The sign-in gate and this session's viewer (Streamlit glue for :mod:`lib.team`).

``app.py`` calls :func:`gate` before it routes anything. When the server must have sign-in
(bound to an address other machines reach, or ``EMS_TEAM_MODE=1``; see
:func:`lib.team.serving_mode`):

* ``[auth]`` missing or incomplete in ``.streamlit/secrets.toml`` → a screen saying what is
  missing, and nothing else (no page, no sidebar, no data);
* signed out → the sign-in screen only (Streamlit's ``st.login``: OIDC, the identity in a
  signed, HTTP-only cookie that Streamlit checks on every connection);
* signed in → the person's :class:`lib.team.Viewer`, and the sidebar's "Sign out".

Pages ask :func:`viewer` whom they act for; it never draws. A page run without the router
(a deep link before any session routed) draws nothing for a signed-out visitor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from lib import team
from lib.errors import UserError
from lib.fmt import md_plain
from ui import data

_REMEMBERED = "ems_team_user_remembered"  # this session stored the person's display name once


def mode() -> team.ServingMode:
    """Whether this server needs sign-in (from ``server.address`` and the settings)."""
    return team.serving_mode(st.config.get_option("server.address"))


def auth_section() -> dict[str, Any] | None:
    """The ``[auth]`` section of the secrets Streamlit loaded, or None."""
    if not st.secrets.load_if_toml_exists():  # no file (or one Streamlit cannot read): no sign-in set up
        return None
    section = st.secrets.get("auth")
    if not isinstance(section, Mapping):
        return None
    return dict(section.to_dict() if hasattr(section, "to_dict") else section)


def _logged_in() -> bool:
    return bool(st.user.get("is_logged_in", False))


def viewer() -> team.Viewer:
    """Whom this session acts for: the signed-in person, or the local user (never draws).

    Returns:
        The viewer.
    """
    if not mode().sign_in:
        return team.local_viewer()
    if not _logged_in():
        st.stop()  # only the router's sign-in screen is ever shown to a signed-out visitor
    return team.signed_in_viewer(st.user.to_dict())


def _refused(problems: list[str], why: str) -> None:
    st.title("Sign-in is not set up")
    st.error(
        "Everyone must sign in to this server, but sign-in is not configured: "
        + "; ".join(md_plain(p) for p in problems) + "."
    )
    st.markdown(
        "**For the operator:** add an `[auth]` section to `.streamlit/secrets.toml` with `redirect_uri`, "
        "`cookie_secret`, `client_id`, `client_secret` and `server_metadata_url` (your identity provider's "
        "OpenID Connect settings; see `docs/TEAM.md`) and restart. To serve without sign-in on purpose — "
        "everyone then sees everything — set `EMS_ALLOW_ANONYMOUS=1`. To use the app alone, start it with "
        "`make run` (this machine only)."
    )
    st.caption(md_plain(why))


def _sign_in(problem: str | None = None) -> None:
    st.title("Embedding Model Selection")
    if problem:
        st.error(md_plain(problem))
    st.markdown(
        "This server is shared by a team. **Sign in** with your organisation's account to continue. Your "
        "datasets, label sets and evaluation runs are yours alone unless you share them with the team."
    )
    if st.button("Sign in", type="primary", key="auth_sign_in", icon=":material/login:"):
        st.login()


def _only(page: Any, title: str, paths: Sequence[str]) -> None:
    # The one screen answers at "/" and at every page's own path, so a deep link (/runs?run=…) shows
    # it too instead of Streamlit's "page not found" fallback; the navigation itself stays hidden.
    routes = [st.Page(page, title=title, url_path="sign-in", default=True)]
    routes += [st.Page(page, title=title, url_path=p) for p in dict.fromkeys(paths) if p and p != "sign-in"]
    st.navigation(routes, position="hidden").run()
    st.stop()


def gate(paths: Sequence[str] = ()) -> team.Viewer:
    """Route nothing but the sign-in (or set-up) screen until the visitor may see the app.

    Args:
        paths: The app's page URL paths (``runs``, ``report``, …): they show that screen too.

    Returns:
        The viewer (the signed-in person, or the local user when no sign-in is needed).
    """
    m = mode()
    if not m.sign_in:
        return team.local_viewer()
    problems = team.auth_problems(auth_section())
    if problems:
        _only(lambda: _refused(problems, m.reason), "Sign-in is not set up", paths)
    if not _logged_in():
        _only(_sign_in, "Sign in", paths)
    try:
        who = team.signed_in_viewer(st.user.to_dict())
    except UserError as exc:
        message = str(exc)
        _only(lambda: _sign_in(message), "Sign in", paths)
        raise  # unreachable: _only stops the script
    if not st.session_state.get(_REMEMBERED):
        team.remember_user(data.db_path(), who)
        st.session_state[_REMEMBERED] = True
    return who


def sidebar(who: team.Viewer) -> None:
    """Who is signed in, and "Sign out" (team mode only; the local user sees nothing here)."""
    if who.local:
        return
    with st.sidebar:
        st.caption(f"Signed in as **{md_plain(who.display)}**")
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            st.logout()
