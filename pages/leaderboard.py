"""Leaderboard explorer: mteb's ranking for any benchmark, filtered by what constrains a chooser.

Thin page: widgets (all bound to the URL, so a link restores the view) → lib.leaderboard
(filters, explorer, uncertainty) and lib.charts.leaderboard → render.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from lib.charts import leaderboard as charts
from lib.errors import UserError
from lib.leaderboard import explorer, licenses, uncertainty
from lib.leaderboard import filters as flt
from lib.leaderboard.filters import PARAM_KEYS as K
from ui import data

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


def _union(col: str) -> list[str]:
    out: set[str] = set()
    for v in tasks_meta[col]:
        if v is not None and not isinstance(v, float):
            out.update(str(x) for x in v)
    return sorted(out)


def _reset() -> None:
    for key in [*K.values(), *[k for k in st.session_state if str(k).startswith(flt.WEIGHT_PREFIX)]]:
        if key not in ("lb_benchmark", "lb_pins") and key in st.session_state:
            del st.session_state[key]


# --- filters (sidebar) -------------------------------------------------------------------
with st.sidebar:
    st.subheader("Filters")
    st.button("Reset filters", on_click=_reset, help="Back to the whole benchmark and every model (keeps pins).")
    with st.expander("Tasks (re-ranks)", expanded=True):
        st.caption("A task subset is re-ranked exactly as mteb ranks a benchmark of those tasks.")
        types_opts = list(dict.fromkeys(tasks_meta["type"]))
        st.multiselect("Task types", types_opts, key=K["task_types"], bind="query-params")
        st.multiselect(
            "Languages",
            _union("languages"),
            key=K["languages"],
            bind="query-params",
            help="ISO 639-3. Keeps tasks in these languages and, like mteb, only their result rows.",
        )
        st.multiselect("Domains", _union("domains"), key=K["domains"], bind="query-params")
        st.multiselect(
            "Individual tasks",
            tasks_meta["task_name"].tolist(),
            key=K["tasks"],
            bind="query-params",
            help="Empty = every task passing the filters above.",
        )
    with st.expander("Licence and access", expanded=True):
        st.multiselect(
            "Licence use group",
            list(licenses.GROUPS),
            key=K["license_groups"],
            bind="query-params",
            help="\n".join(f"- **{g}**: {h}" for g, h in licenses.GROUP_HELP.items()),
        )
        lic_opts = sorted(attrs["License"].dropna().unique())
        st.multiselect(
            "Licence",
            lic_opts,
            key=K["licenses"],
            bind="query-params",
            help="mteb's licence values (custom licences shortened to their repository).",
        )
        st.toggle("Commercial use OK", key=K["commercial_only"], bind="query-params", help=licenses.COMMERCIAL_NOTE)
        st.radio(
            "Weights",
            flt.OPEN_WEIGHTS,
            format_func=flt.OPEN_WEIGHTS_LABELS.get,
            key=K["open_weights"],
            bind="query-params",
            horizontal=True,
        )
        st.select_slider(
            "Price, USD per 1M tokens",
            flt.PRICE_STOPS,
            value=(0, flt.INF),
            format_func=flt.fmt_price,
            key=K["price"],
            bind="query-params",
            help="API price from the pricing data; open models without one show an estimated "
            "self-host GPU cost (cost page defaults, excl. ops).",
        )
        st.checkbox("Keep models without a price", value=True, key=K["include_unpriced"], bind="query-params")
    with st.expander("Size and shape", expanded=False):
        st.select_slider(
            "Embedding dimensions",
            flt.DIM_STOPS,
            value=(0, flt.INF),
            format_func=flt.fmt_plain,
            key=K["dims"],
            bind="query-params",
            help="A Matryoshka model passes if any size it offers is in range.",
        )
        st.select_slider(
            "Parameters (log scale)",
            flt.PARAM_STOPS,
            value=(0, flt.INF),
            format_func=flt.fmt_count,
            key=K["params"],
            bind="query-params",
        )
        st.select_slider(
            "Memory",
            flt.MEMORY_STOPS_GB,
            value=(0, flt.INF),
            format_func=flt.fmt_gb,
            key=K["memory_gb"],
            bind="query-params",
        )
        st.checkbox("Keep models of unknown size", value=True, key=K["include_unknown_size"], bind="query-params")
        st.select_slider(
            "Max tokens at least",
            flt.MAX_TOKEN_STOPS,
            value=0,
            format_func=lambda x: "any" if x == 0 else flt.fmt_plain(x),
            key=K["min_max_tokens"],
            bind="query-params",
        )
        st.toggle("Matryoshka (several output sizes)", key=K["mrl_only"], bind="query-params")
    with st.expander("Training and modality", expanded=False):
        st.radio(
            "Instructions",
            flt.INSTRUCTIONS,
            format_func=flt.INSTRUCTIONS_LABELS.get,
            key=K["instructions"],
            bind="query-params",
            horizontal=True,
        )
        st.radio(
            "Zero-shot",
            flt.ZERO_SHOT,
            format_func=flt.ZERO_SHOT_LABELS.get,
            key=K["zero_shot"],
            bind="query-params",
            horizontal=True,
            help="mteb's choices: 'Only zero-shot' keeps models not trained on any selected task.",
        )
        st.multiselect(
            "Model handles",
            ["text", "image", "audio", "video"],
            key=K["modalities"],
            bind="query-params",
            help="Models that accept every selected modality.",
        )

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
f_state = {name: st.session_state.get(key) for name, key in K.items()}
f = flt.LeaderboardFilters(
    benchmark=benchmark,
    **{
        k: tuple(v)
        for k, v in f_state.items()
        if k in ("task_types", "tasks", "languages", "domains", "modalities", "license_groups", "licenses", "pins")
        and v
    },
    **{
        k: v
        for k, v in f_state.items()
        if k in ("commercial_only", "include_unpriced", "include_unknown_size", "mrl_only", "sort_reverse")
        and v is not None
    },
    **{k: v for k, v in f_state.items() if k in ("open_weights", "instructions", "zero_shot") and v},
    **{k: tuple(v) for k, v in f_state.items() if k in ("dims", "price", "params", "memory_gb") and v},
    min_max_tokens=f_state["min_max_tokens"] or 0,
    search=f_state["search"] or "",
)

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
with st.expander("Weighted score (your weights per task type)"):
    weighted = st.toggle("Add a score weighted by task type, with its own rank", key=K["weighted"], bind="query-params")
    wcols = st.columns(min(len(present_types), 6) or 1)
    for i, typ in enumerate(present_types):
        wcols[i % len(wcols)].number_input(
            typ,
            min_value=0,
            max_value=100,
            value=flt.DEFAULT_WEIGHT,
            step=5,
            key=flt.WEIGHT_PREFIX + typ,
            bind="query-params",
        )
    st.caption(
        "Weights are normalised over the task types present (e.g. Retrieval 70, STS 30, others 0 → 70 % / "
        "30 %); the score is the weighted mean of the per-type means."
    )
weights = tuple((t, float(st.session_state.get(flt.WEIGHT_PREFIX + t, flt.DEFAULT_WEIGHT))) for t in present_types)
sort_opts = [
    table.rank_col,
    *([explorer.WEIGHTED_RANK_COL, explorer.WEIGHTED_COL] if weighted else []),
    *table.mean_cols,
    *present_types,
    explorer.PRICE_COL,
    "Embedding Dimensions",
    "Max Tokens",
    "Total Parameters (B)",
    "Memory (GB)",
    "Zero-shot",
    "Release Date",
    "Model",
]
sort_opts = list(dict.fromkeys(sort_opts))
controls[2].selectbox("Sort by", sort_opts, key=K["sort"], bind="query-params")
controls[3].checkbox("Reverse", key=K["sort_reverse"], bind="query-params")
f = replace(
    f,
    weighted=weighted,
    weights=weights,
    sort=st.session_state.get(K["sort"]) or "",
    sort_reverse=bool(st.session_state.get(K["sort_reverse"])),
)

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


def _add_to_shortlist(models: list[str]) -> None:
    current = list(st.session_state.get("ems_shortlist") or [])
    st.session_state["ems_shortlist"] = list(dict.fromkeys([*current, *models]))


def _pin_selected(display_models: list[str]) -> None:
    sel = st.session_state.get("lb_table")
    rows = list(getattr(getattr(sel, "selection", None), "rows", []) or []) if sel is not None else []
    picked = [display_models[i] for i in rows if i < len(display_models)]
    st.session_state[K["pins"]] = list(dict.fromkeys([*(st.session_state.get(K["pins"]) or []), *picked]))[:8]


# --- Table -------------------------------------------------------------------------------
with tabs[0]:
    if tabs[0].open is not False:
        show = tbl[list(view.shown_cols)].copy()
        score_cols = [c for c in (*table.mean_cols, *view.type_cols, explorer.WEIGHTED_COL) if c in show]
        config: dict[str, object] = {c: st.column_config.NumberColumn(c, format="%.2f") for c in score_cols}
        config.update(
            {
                explorer.PIN_COL: st.column_config.CheckboxColumn(
                    "Pin", width=40, pinned=True, help="Pinned models stay on top"
                ),
                "Model": st.column_config.TextColumn("Model", pinned=True, width="large"),
                "Zero-shot": st.column_config.NumberColumn(
                    "Zero-shot",
                    format="%d%%",
                    help="Share of the selected tasks the model was not trained on; -1 = unknown",
                ),
                explorer.RANK_CI_COL: st.column_config.TextColumn(
                    "Rank 95% CI",
                    help="Best–worst plausible rank when the selected tasks are re-drawn with replacement",
                ),
                explorer.GROUP_COL: st.column_config.NumberColumn(
                    "Tie group",
                    help="Models in one group have rank intervals overlapping the group leader's: "
                    "the tasks cannot separate them",
                ),
                explorer.MEAN_CI_COL: st.column_config.TextColumn(
                    "Mean 95% CI", help="Bootstrap interval of Mean (Task)"
                ),
                explorer.PRICE_COL: st.column_config.NumberColumn(
                    "$ / 1M tok", format="$%.4f", help="API price, or estimated self-host GPU cost"
                ),
                explorer.PRICE_KIND_COL: st.column_config.TextColumn(
                    "Price basis",
                    help="api / hosted = published price; est. self-host = GPU $/h ÷ the articles' throughput",
                ),
                "Memory (GB)": st.column_config.NumberColumn("Memory (GB)", format="%.1f"),
                "Retrieval": st.column_config.NumberColumn(
                    "Retrieval", format="%.2f", help="Mean over retrieval tasks"
                ),
            }
        )
        st.dataframe(
            show,
            hide_index=True,
            column_config=config,
            height=560,
            key="lb_table",
            on_select="rerun",
            selection_mode="multi-row",
        )
        display_models = show["Model"].tolist()
        b = st.columns(4)
        b[0].button(
            "Pin selected rows",
            on_click=_pin_selected,
            args=(display_models,),
            help="Select rows with the checkboxes at the left of the table first.",
        )
        b[1].download_button(
            "Download CSV (this table)",
            explorer.export_csv(view),
            file_name=f"{benchmark}.csv",
            mime="text/csv",
            on_click="ignore",
        )
        b[2].button("Add pinned to shortlist", on_click=_add_to_shortlist, args=(list(f.pins),), disabled=not f.pins)
        b[3].button("Add top 10 shown to shortlist", on_click=_add_to_shortlist, args=(display_models[:10],))

# --- Charts ------------------------------------------------------------------------------
score_opts = list(
    dict.fromkeys(
        [
            *([explorer.WEIGHTED_COL] if weighted else []),
            view.score_col,
            *(["Retrieval"] if "Retrieval" in tbl else []),
            *[c for c in table.mean_cols if c in tbl],
            *view.type_cols,
        ]
    )
)
with tabs[1]:
    if tabs[1].open is not False:
        # Default to the score most shown models have (e.g. no model has every task of
        # MTEB(Multilingual, v2) in this data, so its Mean (Task) is empty for all).
        counts = {c: int(tbl[c].notna().sum()) for c in score_opts}
        best = max(score_opts, key=lambda c: (counts[c] > 0.5 * len(tbl), c == view.score_col, counts[c]))
        score = st.selectbox(
            "Score",
            score_opts,
            index=score_opts.index(best),
            key="lb_score",
            bind="query-params",
            help="Models without this score (missing tasks) are not drawn.",
        )
        n_scored = int(tbl[score].notna().sum())
        st.caption(
            f"{n_scored} of {len(tbl)} models shown have a {score}. Red = Pareto frontier (no other model "
            "is both cheaper/smaller and better). Hover a point for details."
        )
        c1, c2 = st.columns(2)
        c1.plotly_chart(charts.score_vs_params(tbl, score), width="stretch")
        c2.plotly_chart(charts.score_vs_price(tbl, score), width="stretch")
        c3, c4 = st.columns(2)
        c3.plotly_chart(charts.score_vs_dims(tbl, score), width="stretch")
        c4.plotly_chart(charts.score_over_time(tbl, score), width="stretch")
        pinned = list(f.pins)
        if pinned:
            radar_means = tbl[["Model", *view.type_cols]]
            st.plotly_chart(charts.radar(radar_means, pinned), width="stretch")
        else:
            st.info("Pin models (above) to see their task-type profile on a radar chart.")

# --- Model detail ------------------------------------------------------------------------
with tabs[2]:
    if tabs[2].open is not False:
        detail_opts = table.df["Model"].drop_duplicates().tolist()
        chosen = st.selectbox(
            "Model",
            detail_opts,
            index=None,
            key="lb_detail",
            bind="query-params",
            placeholder="Pick a model (default: first pinned, else the top row)",
        )
        name = chosen or (f.pins[0] if f.pins else (tbl["Model"].iloc[0] if len(tbl) else detail_opts[0]))
        meta = all_models.set_index("name").loc[name] if name in set(all_models["name"]) else None
        row = table.df[table.df["Model"] == name].iloc[0]
        a = attrs.loc[name] if name in attrs.index else None
        st.subheader(name)
        m1, m2, m3, m4 = st.columns(4)
        rank_row = tbl[tbl["Model"] == name]
        m1.metric(
            table.rank_col,
            int(row[table.rank_col]) if pd.notna(row[table.rank_col]) else "—",
            help="For the selected tasks",
        )
        if not rank_row.empty and explorer.RANK_CI_COL in rank_row:
            m2.metric("Rank 95% CI", rank_row.iloc[0][explorer.RANK_CI_COL] or "—")
        mean_val = row.get(view.score_col)
        m3.metric(view.score_col, f"{mean_val * 100:.2f}" if pd.notna(mean_val) else "—")
        if a is not None and pd.notna(a[explorer.PRICE_COL]):
            m4.metric("$ / 1M tokens", f"${a[explorer.PRICE_COL]:.4f}", help=str(a[explorer.PRICE_KIND_COL]))
        left, right = st.columns([1, 1])
        with left:
            st.markdown("**Licence**")
            if a is not None:
                st.write(f"{a['License (full)'] or 'none recorded'} → **{a['License group']}** ({a['License note']})")
            st.markdown("**Price**")
            if a is None or pd.isna(a[explorer.PRICE_COL]):
                st.write("No price known (not in the pricing data and no size to estimate self-hosting).")
            elif a[explorer.PRICE_KIND_COL] == explorer.EST_SELFHOST:
                st.write(
                    f"**Estimated** self-host cost ${a[explorer.PRICE_COL]:.4f} per 1M tokens: cost model's "
                    "default GPU $/h ÷ the articles' throughput for this size class at the default utilisation, "
                    "excluding ops cost and idle time. Adjust on the Cost page."
                )
            else:
                src = a["Price source"] or "?"
                url = f" ({a['Price URL']})" if a["Price URL"] else ""
                st.write(
                    f"${a[explorer.PRICE_COL]:.4f} per 1M tokens ({a[explorer.PRICE_KIND_COL]}), "
                    f"source: {src}{url}, checked {a['Price date']} {a['Price flags']}"
                )
            if meta is not None:
                training = meta["training_datasets_all"]
                trained = explorer.not_zero_shot_tasks(training, table.task_cols)
                st.markdown("**Training data and zero-shot**")
                if not pd.api.types.is_list_like(training):
                    st.write("mteb does not know this model's training data (zero-shot unknown).")
                else:
                    raw = meta["training_datasets"]
                    declared = list(raw) if pd.api.types.is_list_like(raw) else []
                    st.write(
                        f"Declared training datasets ({len(declared)}): "
                        + (", ".join(map(str, declared)) if declared else "none")
                    )
                    st.write(
                        f"Selected tasks it was trained on (so **not zero-shot**): {len(trained)} of "
                        f"{len(table.task_cols)}" + (": " + ", ".join(trained) if trained else "")
                    )
        with right:
            st.markdown("**Every mteb ModelMeta field**")
            if meta is not None:
                fields = pd.DataFrame(
                    {
                        "field": list(meta.index),
                        "value": [
                            ", ".join(map(str, v))
                            if pd.api.types.is_list_like(v)
                            else ("" if v is None or pd.isna(v) else str(v))
                            for v in meta.to_numpy()
                        ],
                    }
                )
                st.dataframe(fields, hide_index=True, height=420, key="lb_detail_meta")
        st.markdown("**Per-task scores (×100) on the selected tasks**")
        pt = table.per_task[table.per_task["Model"] == name]
        if not pt.empty:
            scores = pt.iloc[0][list(table.task_cols)].astype(float) * 100
            st.dataframe(
                pd.DataFrame(
                    {
                        "Task": scores.index,
                        "Type": [task_types.get(t, "") for t in scores.index],
                        "Score": scores.to_numpy(),
                    }
                ).sort_values(["Type", "Task"]),
                hide_index=True,
                height=360,
                key="lb_detail_tasks",
                column_config={"Score": st.column_config.NumberColumn(format="%.2f")},
            )

# --- Compare -----------------------------------------------------------------------------
with tabs[3]:
    if tabs[3].open is not False:
        cmp_models = [m for m in f.pins if m in set(table.df["Model"])][:4]
        if len(cmp_models) < 2:
            st.info(
                "Pin 2–4 models (the **Pinned models** box above, or select rows in the table and press "
                "**Pin selected rows**) to compare them side by side."
            )
        else:
            if len(f.pins) > 4:
                st.caption("Comparing the first 4 pinned models.")
            facts = explorer.compare_facts(view, cmp_models)
            # Tall enough for every fact: no inner scrollbar hiding the last rows.
            st.dataframe(facts, key="lb_cmp_facts", height=35 * (len(facts) + 1) + 3)
            st.plotly_chart(charts.radar(tbl[["Model", *view.type_cols]], cmp_models), width="stretch")
            st.markdown("**Tasks sorted by the largest discrepancy** (max − min score, ×100)")
            disc = explorer.discrepancies(table.per_task, cmp_models)
            disc.insert(0, "Type", [task_types.get(t, "") for t in disc.index])
            st.dataframe(
                disc,
                height=420,
                key="lb_cmp_tasks",
                column_config={c: st.column_config.NumberColumn(format="%.2f") for c in [*cmp_models, "Spread"]},
            )
