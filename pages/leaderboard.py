"""Leaderboard: mteb's own ranking for any benchmark, computed from the local database."""

from __future__ import annotations

import streamlit as st

from lib.errors import UserError
from lib.leaderboard import refresh as lb_refresh
from lib.leaderboard.ranking import EXPERIMENT_COL, META_COLS
from ui import data, ensure_router

ensure_router()

st.title("Leaderboard")

if data.data_version() is None:
    st.info(data.no_data_help())
    if st.button("Load data", type="primary", help="Runs `python -m lib refresh` in the app"):
        with st.status("Loading MTEB results and metadata…", expanded=True) as status:
            try:
                summary = lb_refresh.refresh(data.db_path(), progress=st.write)
            except UserError as exc:
                status.update(label="Could not load the data", state="error")
                st.error(str(exc))
                st.stop()
            status.update(label=f"Loaded {summary.n_rows:,} results in {summary.seconds:.1f}s", state="complete")
        st.rerun()
    st.stop()

benches = data.benchmarks()
names = benches["name"].tolist()
default = names.index("MTEB(eng, v2)") if "MTEB(eng, v2)" in names else 0
benchmark = st.selectbox(
    "Benchmark",
    names,
    index=default,
    key="lb_benchmark",
    bind="query-params",
    help="Every benchmark mteb defines; the ones on mteb's leaderboard come first.",
)
info = benches.set_index("name").loc[benchmark]
if info["description"]:
    with st.expander(f"About {benchmark} ({int(info['n_tasks'])} tasks)"):
        st.markdown(info["description"])
        if info["reference"]:
            st.markdown(f"Reference: {info['reference']}")

try:
    table = data.summary(benchmark)
except UserError as exc:
    st.error(str(exc))
    st.stop()

if table.is_empty:
    st.warning(f"No model has results for {benchmark} in this data.")
    st.stop()

df = table.df.copy()
if EXPERIMENT_COL in df and (df[EXPERIMENT_COL] == "").all():
    df = df.drop(columns=[EXPERIMENT_COL])
score_cols = [*table.mean_cols, *table.type_cols]
# Scores are stored on mteb's 0-1 scale; shown x100 as on mteb's leaderboard.
df[score_cols] = df[score_cols] * 100
config = {c: st.column_config.NumberColumn(c, format="%.2f") for c in score_cols}
config["Zero-shot"] = st.column_config.NumberColumn(
    "Zero-shot", format="%d%%", help="Share of the selected tasks the model was not trained on; -1 = unknown"
)
config["Model"] = st.column_config.TextColumn("Model", pinned=True)
st.caption(
    f"{len(df)} models · ranked by **{table.rank_col}** exactly as mteb's leaderboard computes it "
    f"(scores ×100). Models missing any task have no mean and rank by the tasks they ran."
)
st.dataframe(
    df,
    hide_index=True,
    column_config=config,
    column_order=[table.rank_col, "Model", *score_cols, *META_COLS, "Release Date"],
    height=600,
)
st.download_button(
    "Download CSV (mteb's 0–1 scale)",
    table.df.to_csv(index=False).encode(),
    file_name=f"{benchmark}.csv",
    mime="text/csv",
)
