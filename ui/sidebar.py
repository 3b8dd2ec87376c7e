"""The shared sidebar: where the data comes from, the database, the shortlist."""

from __future__ import annotations

import streamlit as st

from lib.errors import UserError
from lib.leaderboard import queries
from ui import data, state


def render() -> None:
    """Draw the sidebar shown on every page."""
    with st.sidebar:
        try:
            prov = queries.provenance(data.db_path())
        except UserError as exc:
            st.error(str(exc))
            return
        if prov is None:
            st.warning("No leaderboard data loaded yet — see the Leaderboard page.")
        else:
            fresh = queries.freshness(prov)
            st.caption(
                f"**MTEB data:** {fresh.source}  \n"
                + (f"results dated **{fresh.data_date.isoformat()}** ({fresh.age_days} days old)  \n"
                   if fresh.data_date else "date of the results unknown  \n")
                + f"{prov.n_rows:,} results · {prov.n_models} models · {prov.n_benchmarks} benchmarks  \n"
                f"mteb {prov.mteb_version} · loaded {prov.refreshed_at:%Y-%m-%d %H:%M} UTC"
                + (f"  \nincluding {prov.n_local_rows:,} local results" if prov.n_local_rows else "")
            )
            if fresh.stale:
                st.warning(fresh.warning)
        shortlist = st.session_state.get(state.SHORTLIST) or []
        if shortlist:
            st.caption("**Shortlist:** " + ", ".join(f"`{m}`" for m in shortlist))
        st.caption(f"Database: `{data.db_path()}`  \nLeaderboard file: `{data.leaderboard_path()}`")
