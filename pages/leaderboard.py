"""Leaderboard explorer: mteb's ranking for any benchmark, filtered by what constrains a chooser.

Thin page: widgets (all bound to the URL, so a link restores the view) → lib.leaderboard
(filters, explorer, uncertainty) → render (ui.leaderboard, lib.charts.leaderboard).
"""

from __future__ import annotations

import streamlit as st

from lib.errors import UserError
from lib.leaderboard import explorer, uncertainty
from lib.leaderboard import filters as flt
from lib.leaderboard.filters import PARAM_KEYS as K
from ui import data
from ui import leaderboard as lb

st.title("Leaderboard")

if data.data_version() is None:  # the router's first-start load failed: it shows why above
    st.info(data.no_data_help())
    st.stop()

# --- benchmark ---------------------------------------------------------------------------
benches = data.benchmarks()
names = benches["name"].tolist()
default = names.index(flt.DEFAULT_BENCHMARK) if flt.DEFAULT_BENCHMARK in names else 0
top = st.columns([3, 2])
benchmark = top[0].selectbox(
    "Benchmark",
    names,
    index=default,
    key="lb_benchmark",
    bind="query-params",
    help="Every benchmark mteb defines; the ones on mteb's leaderboard come first.",
)
info = benches.set_index("name").loc[benchmark]
if info["description"]:
    with top[1].expander(f"About {benchmark} ({int(info['n_tasks'])} tasks)"):
        st.markdown(info["description"])
        if info["reference"]:
            st.markdown(f"Reference: {info['reference']}")

tasks_meta = data.benchmark_tasks(benchmark)
task_types = dict(zip(tasks_meta["task_name"], tasks_meta["type"], strict=True))
attrs = data.explorer_attributes()
all_models = data.models()

# --- filters (sidebar) -------------------------------------------------------------------
lb.sidebar_filters(tasks_meta, attrs)

# --- view controls (main) ----------------------------------------------------------------
controls = st.columns([2, 3, 2, 1])
controls[0].text_input("Search models", key=K["search"], bind="query-params", placeholder="e.g. e5, bge, qwen")
controls[1].multiselect(
    "Pinned models",
    all_models["name"].tolist(),
    key=K["pins"],
    bind="query-params",
    max_selections=8,
    help="Shown on top whatever the filters; compared side by side.",
)
f = flt.LeaderboardFilters.from_session(st.session_state, benchmark)

subset = flt.select_tasks(tasks_meta, f)
if subset is not None and not subset:
    st.warning("No task of this benchmark matches the task filters. Loosen them in the sidebar.")
    st.stop()
try:
    row_langs = data.result_languages(f.languages)  # deu → deu-Latn: result rows carry scripts
    table = data.summary_for(benchmark, subset, row_langs)
except UserError as exc:
    st.error(str(exc))
    st.stop()
if table.is_empty:
    st.warning(f"No model has results for {benchmark} with these tasks in this data.")
    st.stop()

present_types = [t for t in dict.fromkeys(task_types.get(c, "Unknown") for c in table.task_cols)]
weighted = lb.weight_inputs(present_types)
sort_opts = explorer.sort_columns(table, present_types, weighted=weighted)
controls[2].selectbox("Sort by", sort_opts, key=K["sort"], bind="query-params")
controls[3].checkbox("Reverse", key=K["sort_reverse"], bind="query-params")
f = flt.LeaderboardFilters.from_session(st.session_state, benchmark, present_types)

head = st.container()  # filled below, once the view is known: it sits above the tabs
tab_names = ["Table", "Charts", "Model detail", "Compare"]
tabs = st.tabs(tab_names, key="lb_view", bind="query-params")
# Rank intervals (a 1,000-draw bootstrap) are shown by the Table and Compare tabs only; the
# tabs are lazy, so a filter change on Charts or Model detail does not pay for them.
needs_intervals = tabs[0].open is not False or tabs[3].open is not False
unc = data.rank_uncertainty(benchmark, subset, row_langs) if needs_intervals else None
view = explorer.build_view(table, attrs, unc, f, task_types)
tbl = view.table

head.caption(
    f"**{len(tbl)}** of {view.n_models} models · **{view.n_tasks}** tasks"
    + (" (subset)" if subset is not None else "")
    + f" · ranked by **{view.rank_col}** as mteb computes it for these tasks (scores ×100); models missing a "
    "selected task have no mean and rank by the tasks they ran; model filters hide rows without changing ranks. "
    + uncertainty.EXPLANATION
)
if view.weights:
    head.caption("Weighted score: " + ", ".join(f"{t} {w:.0%}" for t, w in view.weights.items()))

with tabs[0]:
    if tabs[0].open is not False:
        lb.table_tab(tbl, table, view, f)
with tabs[1]:
    if tabs[1].open is not False:
        lb.charts_tab(tbl, table, view, f, weighted)
with tabs[2]:
    if tabs[2].open is not False:
        lb.detail_tab(table, tbl, attrs, all_models, view, f, task_types)
with tabs[3]:
    if tabs[3].open is not False:
        lb.compare_tab(table, tbl, view, f, task_types)
