"""The shared sidebar: data provenance, database, shortlist."""

from __future__ import annotations

import streamlit as st


def render() -> None:
    """Draw the sidebar shown on every page."""
    with st.sidebar:
        st.caption("Embedding Model Selection")
