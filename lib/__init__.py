"""Embedding Model Selection: the logic behind the Streamlit app.

Plain typed Python; never imports streamlit. Run ``python -m lib --help`` for the CLI.
"""

__all__: list[str] = []
