"""Streamlit glue of the Leaderboard page: the sidebar filters, the weight inputs and the four
tabs (Table, Charts, Model detail, Compare). Every widget keeps its key and URL binding
(``bind="query-params"``, keys from :data:`lib.leaderboard.filters.PARAM_KEYS`); the functions
take the view ``lib.leaderboard.explorer.build_view`` computed and draw it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from lib.charts import leaderboard as charts
from lib.leaderboard import explorer, licenses
from lib.leaderboard import filters as flt
from lib.leaderboard.filters import PARAM_KEYS as K
from lib.leaderboard.ranking import SummaryTable
from ui import state


def union(tasks_meta: pd.DataFrame, col: str) -> list[str]:
    """Every value of a list column of the benchmark's tasks (languages, domains), sorted."""
    out: set[str] = set()
    for v in tasks_meta[col]:
        if v is not None and not isinstance(v, float):
            out.update(str(x) for x in v)
    return sorted(out)


def reset_filters() -> None:
    """Back to the whole benchmark and every model (keeps the benchmark and the pins)."""
    for key in [*K.values(), *[k for k in st.session_state if str(k).startswith(flt.WEIGHT_PREFIX)]]:
        if key not in ("lb_benchmark", "lb_pins") and key in st.session_state:
            del st.session_state[key]


def add_to_shortlist(models: list[str]) -> None:
    """Append models to the shared shortlist (no duplicates, order kept)."""
    current = list(st.session_state.get(state.SHORTLIST) or [])
    st.session_state[state.SHORTLIST] = list(dict.fromkeys([*current, *models]))


def _pin_selected(display_models: list[str]) -> None:
    sel = st.session_state.get("lb_table")
    rows = list(getattr(getattr(sel, "selection", None), "rows", []) or []) if sel is not None else []
    picked = [display_models[i] for i in rows if i < len(display_models)]
    st.session_state[K["pins"]] = list(dict.fromkeys([*(st.session_state.get(K["pins"]) or []), *picked]))[:8]


def sidebar_filters(tasks_meta: pd.DataFrame, attrs: pd.DataFrame) -> None:
    """The filter widgets in the sidebar; their values are read back from session state."""
    with st.sidebar:
        st.subheader("Filters")
        st.button(
            "Reset filters", on_click=reset_filters, help="Back to the whole benchmark and every model (keeps pins)."
        )
        with st.expander("Tasks (re-ranks)", expanded=True):
            st.caption("A task subset is re-ranked exactly as mteb ranks a benchmark of those tasks.")
            types_opts = list(dict.fromkeys(tasks_meta["type"]))
            st.multiselect("Task types", types_opts, key=K["task_types"], bind="query-params")
            st.multiselect(
                "Languages",
                union(tasks_meta, "languages"),
                key=K["languages"],
                bind="query-params",
                help="ISO 639-3. Keeps tasks in these languages and, like mteb, only their result rows.",
            )
            st.multiselect("Domains", union(tasks_meta, "domains"), key=K["domains"], bind="query-params")
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


def weight_inputs(present_types: Sequence[str]) -> bool:
    """The weighted-score expander; returns whether the weighted score is on."""
    with st.expander("Weighted score (your weights per task type)"):
        weighted = st.toggle(
            "Add a score weighted by task type, with its own rank", key=K["weighted"], bind="query-params"
        )
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
    return bool(weighted)


def table_tab(tbl: pd.DataFrame, table: SummaryTable, view: explorer.ExplorerView, f: flt.LeaderboardFilters) -> None:
    """The ranked table with its pin / download / shortlist buttons."""
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
            explorer.MEAN_CI_COL: st.column_config.TextColumn("Mean 95% CI", help="Bootstrap interval of Mean (Task)"),
            explorer.PRICE_COL: st.column_config.NumberColumn(
                "$ / 1M tok", format="$%.4f", help="API price, or estimated self-host GPU cost"
            ),
            explorer.PRICE_KIND_COL: st.column_config.TextColumn(
                "Price basis",
                help="api / hosted = published price; est. self-host = GPU $/h ÷ the articles' throughput",
            ),
            "Memory (GB)": st.column_config.NumberColumn("Memory (GB)", format="%.1f"),
            "Retrieval": st.column_config.NumberColumn("Retrieval", format="%.2f", help="Mean over retrieval tasks"),
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
        file_name=f"{f.benchmark}.csv",
        mime="text/csv",
        on_click="ignore",
    )
    b[2].button("Add pinned to shortlist", on_click=add_to_shortlist, args=(list(f.pins),), disabled=not f.pins)
    b[3].button("Add top 10 shown to shortlist", on_click=add_to_shortlist, args=(display_models[:10],))


def charts_tab(
    tbl: pd.DataFrame, table: SummaryTable, view: explorer.ExplorerView, f: flt.LeaderboardFilters, weighted: bool
) -> None:
    """Score against size, price, dimensions and time; the pinned models' radar."""
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


def detail_tab(
    table: SummaryTable,
    tbl: pd.DataFrame,
    attrs: pd.DataFrame,
    all_models: pd.DataFrame,
    view: explorer.ExplorerView,
    f: flt.LeaderboardFilters,
    task_types: Mapping[str, str],
) -> None:
    """One model: rank, price and its basis, licence, training data, every ModelMeta field."""
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


def compare_tab(
    table: SummaryTable,
    tbl: pd.DataFrame,
    view: explorer.ExplorerView,
    f: flt.LeaderboardFilters,
    task_types: Mapping[str, str],
) -> None:
    """2–4 pinned models side by side: facts, radar, the tasks that separate them most."""
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
