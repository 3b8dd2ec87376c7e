"""Runs: evaluation history from DuckDB; open, compare or delete runs.

Thin page: lib.report.runs_overview / compare_runs / lib.evaluation.runs → render. In team mode a
person sees their own runs and those shared with the team (ui/team.py); ``?run=…`` opens one.
Failed and interrupted runs are listed as such and never shown as results.
"""

from __future__ import annotations

import streamlit as st

from lib import report
from lib.errors import UserError
from lib.evaluation.models import display_label
from ui import ensure_router, state
from ui import evaluation as ev
from ui import jobs as ui_jobs
from ui import team as tm

ensure_router()

ss = st.session_state
st.title("Runs")
st.caption("Every evaluation stored in the database, newest first. Open one to see its results, compare two "
           "to see what changed, or delete runs you no longer need.")

ui_jobs.render_jobs_panel()  # running and queued jobs (polled), recent ones, Run again

overview = tm.runs_overview()  # this person's runs and the ones shared with the team
wanted = tm.run_from_url(list(overview["run_id"]))  # ?run=… of a run they cannot see: "no such run"
if overview.empty:
    st.info("No evaluation runs yet — start one on **Evaluate on your data**.")
    st.stop()

# Plain symbols, not emoji: emoji fonts are missing on many Linux desktops (they render as boxes).
# "interrupted": the page was left mid-run, or the app's process died (killed, crashed) — the error
# column says which; such a run has no results and is never offered as done.
STATUS = {"done": "✓ done", "failed": "✗ failed", "interrupted": "✗ interrupted", "cancelled": "✗ cancelled",
          "running": "… running"}
show = overview.assign(status=overview["status"].map(lambda s: STATUS.get(s, s)))
st.dataframe(
    show,
    hide_index=True,
    width="stretch",
    column_order=["status", "created_at", "dataset", "quick", *([] if tm.viewer().local else ["owner"]), "models",
                  "k", "queries", "best_model", "best_ndcg", "best_recall", "wall_time_s", "run_id", "error"],
    column_config={
        "created_at": st.column_config.DatetimeColumn("date (UTC)", format="YYYY-MM-DD HH:mm"),
        "quick": st.column_config.TextColumn("quick estimate", help="Run on a reduced corpus (python -m lib "
                                             "evaluate --quick, or the Evaluate page's switch): scores are estimates"),
        "best_model": "best model",
        "best_ndcg": st.column_config.NumberColumn("best nDCG@k", format="%.3f"),
        "best_recall": st.column_config.NumberColumn("its Recall@k", format="%.3f"),
        "wall_time_s": st.column_config.NumberColumn("time (s)", format="%.1f"),
        "run_id": "run id",
        "error": "error / reason",
    },
)
stopped = overview[overview["status"] == "interrupted"]
if not stopped.empty:
    st.caption(f"{len(stopped)} run(s) stopped before they finished (a page left mid-run, or the app stopped). "
               "They have no results; run them again on **Evaluate on your data**.")

ids = list(overview["run_id"])
label = {r.run_id: f"{r.created_at:%Y-%m-%d %H:%M} · {r.dataset}{' · quick estimate' if r.quick else ''} · {r.models}"
                   f" · {r.status}"
         for r in overview.itertuples(index=False)}
done = [r for r in ids if overview.set_index("run_id").at[r, "status"] == "done"]
mine = set(overview.loc[overview["mine"], "run_id"])

tab_open, tab_compare, tab_delete = st.tabs(["Open a run", "Compare two runs", "Delete"])

with tab_open:
    if wanted and "runs_open" not in ss:
        ss["runs_open"] = wanted
    rid = st.selectbox("Run", ids, format_func=label.get, key="runs_open")
    if rid and st.query_params.get("run") != rid:
        st.query_params["run"] = str(rid)
    if rid:
        tm.run_controls(overview, str(rid))
        try:
            ev.render_results(ev.load_run(str(rid)), key="runs")
        except UserError as exc:
            st.error(str(exc))
        if st.button("Use in the report", key="runs_to_report", disabled=rid not in done):
            ss[state.REPORT_RUNS] = [rid]
            st.switch_page("pages/report.py")

with tab_compare:
    if len(done) < 2:
        st.info("Comparing needs two finished runs.")
    else:
        c1, c2 = st.columns(2)
        a = c1.selectbox("Baseline run (A)", done, index=1, format_func=label.get, key="runs_cmp_a")
        b = c2.selectbox("Compared run (B)", done, index=0, format_func=label.get, key="runs_cmp_b")
        if a == b:
            st.warning("Pick two different runs.")
        else:
            sa, sb = ev.load_run(str(a)), ev.load_run(str(b))
            metric = st.selectbox("Metric", [f"nDCG@{sb.run['k']}", f"Recall@{sb.run['k']}", "MRR@10"],
                                  key="runs_cmp_metric")
            cmp = report.compare_runs(sa, sb, str(metric))
            for line in cmp.changes:
                st.markdown(f"- {line}")
            t = cmp.table.copy()
            t["model"] = t["model"].map(display_label)
            t["significant"] = t["significant"].map({True: "yes", False: "no"}).fillna("—")
            st.dataframe(
                t, hide_index=True, width="stretch",
                column_config={
                    "mean_a": st.column_config.NumberColumn(f"{metric} in A", format="%.3f"),
                    "mean_b": st.column_config.NumberColumn(f"{metric} in B", format="%.3f"),
                    "delta": st.column_config.NumberColumn("B − A", format="%+.3f"),
                    "ci_low": st.column_config.NumberColumn("CI low", format="%+.3f"),
                    "ci_high": st.column_config.NumberColumn("CI high", format="%+.3f"),
                    "p_value": st.column_config.NumberColumn("p", format="%.4f"),
                },
            )
            if not cmp.same_data:
                st.caption("The runs used different data, so per-query pairing is impossible; a change counts as "
                           "significant only when the two 95 % CIs do not overlap (a conservative rule).")

with tab_delete:  # only the runs this person made: nobody deletes a colleague's shared run
    victim = st.selectbox("Run to delete", [r for r in ids if r in mine], format_func=label.get, key="runs_delete")
    sure = st.checkbox("Yes, delete this run and all its results", key="runs_delete_sure")
    if st.button("Delete run", type="primary", disabled=not (sure and victim), key="runs_delete_btn"):
        tm.delete_run(str(victim))
        if ss.get("ev_run_id") == victim:
            ss.pop("ev_run_id", None)
        ss.pop("runs_delete_sure", None)
        st.toast(f"Deleted run {victim}")
        st.rerun()

