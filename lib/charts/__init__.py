"""Pure chart functions: DataFrame in, plotly figure out (no Streamlit)."""
