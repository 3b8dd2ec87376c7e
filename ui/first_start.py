"""First start: with no leaderboard file yet, the app loads the leaderboard data by itself, with progress.

The router calls :func:`ensure_data` before drawing any page. The refresh writes the
leaderboard's own file (``EMS_LEADERBOARD_DB`` or beside ``EMS_DB``) under a temporary name and
swaps it in; this process's read-only connections then open the new file on their next read. A
file written by another schema version counts as missing and is reloaded the same way. Sources are tried in
``lib.leaderboard.sources`` order (``EMS_MTEB_RESULTS`` → hub → bundled snapshot), so a fresh
offline machine shows the leaderboard without a button or a command. A failure is shown
expanded with its reason and is not retried on every rerun; **Try again** retries.
"""

from __future__ import annotations

import threading

import streamlit as st

from lib.errors import UserError
from lib.leaderboard import refresh as lb_refresh
from ui import data, state


@st.cache_resource(show_spinner=False)
def _load_lock() -> threading.Lock:
    """One first-start load per server process: other sessions wait, then see the data."""
    return threading.Lock()


def ensure_data() -> None:
    """Load the leaderboard data when there is no leaderboard file (once; reruns the script after)."""
    if data.data_version() is not None:
        return
    failed = st.session_state.get(state.FIRST_LOAD_ERROR)
    if failed is not None:
        with st.status("Could not load the leaderboard data", state="error", expanded=True):
            st.error(failed)
        if not st.button("Try again", type="primary", key="first_load_retry"):
            return
    with _load_lock():
        if data.data_version() is not None:  # another session loaded it while we waited
            st.session_state.pop(state.FIRST_LOAD_ERROR, None)
            st.rerun()
        with st.status("First start: loading the MTEB leaderboard data…", expanded=True) as status:
            try:
                summary = lb_refresh.refresh(data.db_path(), progress=st.write)
            except UserError as exc:
                # Expanded, with the specific reason in the label and in the box.
                status.update(label=f"Could not load the leaderboard data: {exc}", state="error", expanded=True)
                st.session_state[state.FIRST_LOAD_ERROR] = str(exc)
                st.error(str(exc))
                return
            status.update(
                label=f"Loaded {summary.n_rows:,} results in {summary.seconds:.1f} s — {summary.source_line}",
                state="complete",
                expanded=False,
            )
    st.session_state.pop(state.FIRST_LOAD_ERROR, None)
    st.rerun()
