"""Evaluate on your data: upload (or the demo), choose models, run, read the results.

Thin page: widgets → ui.evaluation (uploads) / ui.jobs (background jobs) → lib.evaluation /
lib.report → render. Submitting the form queues an evaluation *job* in the server process and
returns at once; a panel polls the job (stage, progress, ETA, log, Cancel) and shows the run
when it is done. Leaving the page, reloading it (the job is in the URL) or opening another tab
does not stop it. The engine writes runs transactionally (running → done/failed), so a
cancelled or interrupted job never leaves a half run shown as done.
"""

from __future__ import annotations

import streamlit as st

from lib.errors import UserError
from lib.evaluation import datasets
from lib.fmt import md_plain
from ui import ensure_router, state
from ui import evaluation as ev
from ui import jobs as ui_jobs
from ui import team as tm

ensure_router()

DATASET = state.EV_DATASET  # the validated Dataset (the Label page may put a labelled set here)
RUN_ID = state.EV_RUN_ID  # the run shown below
KEY_VALUE = state.API_KEY_VALUE  # the API key (session only; survives page switches)
FAILED = "ev_failed"  # choices of a submission that could not start, and why

ss = st.session_state
running = False  # jobs run in the background: the form stays usable (a second job waits in the queue)

st.title("Evaluate on your data")
st.caption(
    "Which of these models is best **on your documents and questions**, and what does it cost? "
    "Upload a small retrieval set (or use the demo), pick models, and get metrics with 95 % "
    "confidence intervals, charts and a per-query drill-down. Leaderboard averages do not "
    "predict your domain — this does."
)

# ---- 1. data ------------------------------------------------------------------------------
st.subheader("1 · Data")
c_demo, c_up = st.columns([2, 3], gap="large")
with c_demo:
    st.markdown(
        "**Demo dataset** — *Northwind Cloud*, a fictional company's knowledge base: 149 docs "
        "(product docs, API errors, runbooks, HR/IT policies, security FAQ, billing help) and 60 "
        "questions, some paraphrased, some with exact error codes, some in German/Spanish/French."
    )
    if st.button("Use the demo dataset", key="ev_demo", disabled=running, icon=":material/dataset:"):
        ss[DATASET] = ev.demo_dataset()
        ss.pop(RUN_ID, None)
    labelled = ev.label_sets()
    if labelled:  # sets judged on the Label page (label:SET)
        chosen_set = st.selectbox("…or a labelled set", list(labelled), format_func=labelled.get, key="ev_label_set",
                                  disabled=running)
        if st.button("Use this labelled set", key="ev_use_label", disabled=running, icon=":material/rule:"):
            try:
                ss[DATASET] = ev.labelled_dataset(str(chosen_set))
                ss.pop(RUN_ID, None)
            except UserError as exc:
                ss.pop(DATASET, None)
                st.error(f"**This labelled set cannot be used yet:** {md_plain(exc)}")
with c_up:
    files = st.file_uploader(
        "…or upload your own",
        type=["zip", "jsonl", "csv", "tsv"],
        accept_multiple_files=True,
        key="ev_files",
        disabled=running,
        help=(
            "One **.zip** in BEIR layout (corpus.jsonl, queries.jsonl, qrels/test.tsv); or the **three files** "
            "(names containing 'corpus', 'queries', and 'qrels' or 'test.tsv'); or one **pairs file** "
            "(.csv/.tsv/.jsonl with columns query and document). UTF-8 text (a byte-order mark and Windows "
            f"line endings are fine), up to {ev.max_upload_bytes() // (1024 * 1024)} MB per file."
        ),
    )
    name = st.text_input(
        "Dataset name (for separate files)", key="ev_name", disabled=running, placeholder="e.g. support-kb"
    )
    if files and st.button("Check and use these files", key="ev_use_files", disabled=running, type="primary"):
        try:
            ss[DATASET] = ev.save_any(files, name)
            ss.pop(RUN_ID, None)
        except UserError as exc:
            ss.pop(DATASET, None)
            # The message quotes file names and text from the upload: shown literally, not as Markdown.
            st.error(f"**These files cannot be used:** {md_plain(exc)}")
picked = tm.datasets_panel(disabled=running)  # earlier uploads of this person's, and the team's shared ones
if picked is not None:
    ss[DATASET] = picked
    ss.pop(RUN_ID, None)

if DATASET not in ss and (restored := ui_jobs.dataset_of_followed()) is not None:
    ss[DATASET] = restored  # a reload with ?job=…: the job's own data, so the form can run again
ds: datasets.Dataset | None = ss.get(DATASET)
if ds is not None:
    st.success(
        f"**{md_plain(ds.name)}**: {len(ds.doc_ids):,} documents · {len(ds.query_ids):,} queries · "
        f"{ds.n_qrels:,} relevance judgements"
        + (f" · {ds.dropped_queries} queries without a judgement ignored" if ds.dropped_queries else "")
    )
    for note in ds.notes:
        st.caption(note)
    with st.expander("Preview", expanded=False):
        prev = ev.preview(ds)
        t1, t2, t3 = st.tabs(["Documents", "Queries", "Judgements"])
        t1.dataframe(prev["documents"], hide_index=True, width="stretch")
        t2.dataframe(prev["queries"], hide_index=True, width="stretch")
        t3.dataframe(prev["judgements"], hide_index=True, width="stretch")
else:
    st.info("Choose the demo dataset or upload files to continue.")

# ---- 2. models and options ----------------------------------------------------------------
st.subheader("2 · Models and options")
options, default, where = ev.model_choices()
# After a failed run the form comes back with the user's choices. Streamlit loses the form's
# values across the failing run's rerun, so the widgets are re-created under new keys (a new
# generation) whose defaults are those choices: the browser then shows them too.
restore = ss.pop(FAILED, None) or {}
if restore:
    ss["ev_form_gen"] = int(ss.get("ev_form_gen", 0)) + 1
    default = list(restore["chosen"])  # filtered against the options where the picker is drawn
gen = int(ss.get("ev_form_gen", 0))
with st.form("ev_form", border=True):
    chosen = st.multiselect(
        "Models",
        options,
        default=[d for d in default if d in options],
        format_func=lambda s: f"{s}  ({where.get(s, 'custom')})",
        disabled=running,
        key=f"ev_models_{gen}",
        help="Your shortlist from the decision wizard, models found on this machine, BM25 (lexical baseline) "
        "and API models. API models cost money per token.",
    )
    c1, c2, c3 = st.columns([3, 1, 2])
    extra = c1.text_input(
        "Another model (optional)",
        placeholder="hub name, local folder, openai:MODEL?base_url=…, or FIRST>>cross:FOLDER to rerank",
        value=restore.get("extra", ""),
        disabled=running,
        key=f"ev_extra_{gen}",
    )
    k = c2.number_input(
        "k",
        min_value=1,
        max_value=100,
        value=restore.get("k", 10),
        step=1,
        disabled=running,
        key=f"ev_k_{gen}",
        help="Cut-off for nDCG@k, Recall@k and P@k.",
    )
    sweep = c3.checkbox(
        "Dimension / precision sweep",
        value=restore.get("sweep", True),
        disabled=running,
        key=f"ev_sweep_{gen}",
        help="Also score dense models with truncated dimensions and int8/binary vectors.",
    )
    chunked = c3.checkbox(  # adds e.g. minilm?chunk=auto beside minilm: two systems, compared like any
        "Also each local model chunked (MaxP)", value=restore.get("chunked", False), disabled=running,
        key=f"ev_chunked_{gen}", help="Documents longer than a model's input limit are cut off. This adds each "
        "local sentence-transformers model once more with ?chunk=auto: documents split into chunks that fit, "
        "each document scored by its best chunk.",
    )
    quick_size = ev.quick_inputs(restore, running, gen)
    key = st.text_input(
        "API key (for openai: models)",
        value=ss.get(KEY_VALUE, ""),
        type="password",
        disabled=running,
        help="Kept in this browser session only — never written to the database, logs or reports. "
        "Without it, OPENAI_API_KEY or .streamlit/secrets.toml is used.",
    )
    submitted = st.form_submit_button(
        "Run evaluation",
        type="primary",
        disabled=running or ds is None,
        icon=":material/play_arrow:",
    )

if ds is not None and not running:
    ev.render_time_estimate(ds, ev.with_chunked([*chosen, *([extra.strip()] if extra.strip() else [])], chunked),
                            quick_size)

if submitted:
    specs = ev.with_chunked([*chosen, *([extra.strip()] if extra.strip() else [])], chunked)
    ss[KEY_VALUE] = key
    if not specs:
        st.error("Choose at least one model.")
    elif ds is None:
        st.error("Choose a dataset first.")
    else:
        try:
            ui_jobs.follow(ui_jobs.submit_evaluation(ds, specs, int(k), bool(sweep), ev.find_key(key or None),
                                                      quick_size=quick_size))
            ss.pop(RUN_ID, None)
        except UserError as exc:
            ss[FAILED] = {"specs": specs, "k": int(k), "sweep": bool(sweep), "chosen": list(chosen), "extra": extra,
                          "chunked": bool(chunked), "quick": quick_size, "error": str(exc)}
            st.rerun()
job_id = ui_jobs.followed()
if job_id:
    ui_jobs.render_followed(job_id)
if restore:
    st.error(f"**The evaluation did not start:** {md_plain(restore['error'])}")

# ---- 3. results ---------------------------------------------------------------------------
run_id = ss.get(RUN_ID)
if run_id:
    st.divider()
    st.header("Results")
    try:
        ev.render_results(ev.load_run(run_id), key="ev")
    except UserError as exc:
        st.error(str(exc))
    if st.button("Write the report for this run", key="ev_to_report", icon=":material/description:"):
        ss[state.REPORT_RUNS] = [run_id]
        st.switch_page("pages/report.py")
