"""Report: the architect's cost/quality report from chosen runs, the shortlist and the cost assumptions.

Thin page: widgets → lib.report.build_report → preview + downloads (self-contained HTML with
interactive charts, and Markdown). The same report comes from the CLI:
``python -m lib report RUN_ID [RUN_ID ...] --out report.html``.
"""

from __future__ import annotations

import streamlit as st

from lib import fmt, report
from lib.errors import UserError
from ui import data, ensure_router, state
from ui import evaluation as ev
from ui import team as tm

ensure_router()

ss = st.session_state

st.title("Report")
st.caption("A cost/quality report for architects: the question, assumptions, price sources with dates, results "
           "with confidence intervals and charts, a recommendation with a runner-up, and the risks. Download it "
           "as one HTML file (interactive charts, works offline) or as Markdown.")

overview = tm.runs_overview()  # this person's runs and the ones shared with the team
done = overview[overview["status"] == "done"] if not overview.empty else overview
wanted = tm.run_from_url(list(done["run_id"]))  # ?run=… of a run they cannot see: "no such run"
if done.empty:
    st.info("No finished evaluation runs yet — run one on **Evaluate on your data** first.")
    st.stop()

label = {r.run_id: f"{r.created_at:%Y-%m-%d %H:%M} · {r.dataset} · {r.models}" for r in done.itertuples(index=False)}
ids = list(done["run_id"])
preset = [wanted] if wanted else [r for r in (ss.get(state.REPORT_RUNS) or []) if r in ids] or ids[:1]
chosen = st.multiselect("Runs to include", ids, default=preset, format_func=label.get, key="rep_runs")
c1, c2 = st.columns(2)
question = c1.text_area("Question", value=report.DEFAULT_QUESTION, key="rep_question", height=90)
context = c2.text_area("Context (who asks, what for)", key="rep_context", height=90,
                       placeholder="e.g. Support search for the Northwind knowledge base; 2M documents; EU only.")

shortlist = list(ss.get(state.SHORTLIST) or [])
decision_md = str((ss.get(state.REPORT_SECTIONS) or {}).get("decision") or "")
a = ev.assumptions()
with st.expander("Inputs used besides the runs", expanded=False):
    st.markdown("**Shortlist:** " + (", ".join(f"`{m}`" for m in shortlist) if shortlist else
                "none (use the Decision wizard to add one)"))
    st.markdown("**Decision wizard section:** " + ("included" if decision_md else "not added"))
    st.markdown("**Cost assumptions** (edit them on the Cost page):")
    for k_, v in report.assumption_rows(a):
        st.markdown(fmt.dollars(f"- {k_}: {v}"))

if not chosen:
    st.warning("Choose at least one run.")
    st.stop()

try:
    names: set[str] = set()
    for rid in chosen:
        names |= set(report.model_table(ev.load_run(str(rid)), "nDCG@10")["mteb_name"])
    rep = report.build_report(
        [str(r) for r in chosen], db_path=data.db_path(), shortlist=shortlist, assumptions=a,
        book=ev.price_book(), leaderboard=ev.leaderboard(), model_meta=ev.model_meta(sorted(names)),
        decision_markdown=decision_md, question=question, context=context,
    )
except UserError as exc:
    st.error(str(exc))
    st.stop()

st.divider()
d1, d2, _ = st.columns([1, 1, 2])
stamp = rep.created
d1.download_button("Download HTML report", report.to_html(rep).encode("utf-8"), f"embedding-report-{stamp}.html",
                   "text/html", type="primary", key="rep_dl_html", icon=":material/download:")
d2.download_button("Download Markdown", report.to_markdown(rep).encode("utf-8"), f"embedding-report-{stamp}.md",
                   "text/markdown", key="rep_dl_md", icon=":material/download:")

st.subheader("Recommendation")
if rep.recommendation:
    st.success(f"**Recommended: {rep.recommendation}**" + (f" · runner-up: **{rep.runner_up}**" if rep.runner_up
                                                            else ""))
    for r in rep.reasons:
        st.markdown(fmt.dollars(f"- {r}"))
    if rep.cost_arithmetic:
        st.markdown(fmt.dollars(f"**How its cost is computed:** {rep.cost_arithmetic[0]}"))
        st.markdown(fmt.dollars("\n".join(f"{i}. {x}" for i, x in enumerate(rep.cost_arithmetic[1:], 1))))
st.caption(rep.data_source)
if rep.data_warning:
    st.warning(rep.data_warning)
st.subheader("Results")
for key in ("metric", "cost"):
    if key in rep.figures:
        st.plotly_chart(rep.figures[key], width="stretch", key=f"rep_fig_{key}")
st.caption(rep.rank_sentence)
st.subheader("Risks and caveats")
for r in rep.risks:
    st.markdown(fmt.dollars(f"- {r}"))
with st.expander("Full report preview (Markdown)"):
    st.markdown(fmt.dollars(report.to_markdown(rep)))
