"""Streamlit-side helpers shared by pages: the sidebar, cached wrappers of lib calls.

This is the only place besides ``app.py`` and ``pages/`` that imports streamlit; ``lib``
stays plain Python.
"""
