"""Streamlit-side helpers shared by pages: the sidebar, cached wrappers of lib calls.

This is the only place besides ``app.py`` and ``pages/`` that imports streamlit; ``lib``
stays plain Python.
"""

from __future__ import annotations


def ensure_router() -> None:
    """Make sure the page runs inside ``app.py``'s router, even on a deep link.

    Streamlit starts every server in its legacy multipage mode when a ``pages/`` folder
    exists, until some session has run ``st.navigation``. A deep link (``/cost``) opened
    first after a restart would then run the page alone — no page config, no sidebar.
    Leaving that mode and rerunning makes Streamlit run ``app.py``, which routes to the
    same page (the page hash is the URL path in both modes). Every page calls this first.
    """
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
