"""Label: evaluate without relevance judgements — documents (+ queries) → pool → judge → evaluate.

Thin page: widgets → ui.labelling (uploads, long work with progress, the judging panel) →
lib.labelling → render. The chosen set and the judge's name are bound to the URL, so a
reload (or the same link in a second tab, ``/label?set=…&judge=…``) resumes where the judge stopped; every grade is
in DuckDB the moment it is given.
"""

from __future__ import annotations

import streamlit as st

from lib.errors import UserError
from lib.fmt import md_plain
from lib.labelling import export, synth
from lib.labelling import pool as lpool
from lib.labelling import store as lstore
from ui import ensure_router, state
from ui import evaluation as ev
from ui import labelling as lab
from ui import team as tm

ensure_router()

NEW = "new"
SET = "lab_set"  # the chosen set, kept in the URL as ?set=…
NEXT_SET = "lab_next_set"  # a set just created: selected on the next run
COLLECTION = "lab_collection"  # validated documents (+ queries) not pooled yet
ss = st.session_state

st.title("Label your data")
st.caption(
    "No relevance judgements yet? Build them here: pool the top results of several retrievers for your "
    "queries (TREC style), grade each candidate 0 / 1 / 2 — blind, in a shuffled order — alone, with "
    "colleagues or with an LLM's help, and evaluate the models on the labels you made."
)
sets = tm.label_sets()  # this person's sets and the ones shared with the team
ids = [NEW, *map(str, sets["set_id"])]
lab.render_job_panel(NEXT_SET, "synth")  # synthetic questions being written (a background job)
if NEXT_SET in ss:
    ss[SET] = ss.pop(NEXT_SET)
elif SET not in ss or ss[SET] not in ids:  # a reload or a shared link: the URL names the set
    ss[SET] = st.query_params.get("set") if st.query_params.get("set") in ids else NEW
set_id = st.selectbox(
    "Label set", ids, key=SET,
    format_func=lambda s: "New set: from documents and queries" if s == NEW else lab.set_label(s, sets),
    help="Sets are kept in the database; pick one to go on judging where you (or a colleague) stopped.",
)
if set_id == NEW:
    st.query_params.pop("set", None)
elif st.query_params.get("set") != set_id:
    st.query_params["set"] = set_id


def api_key_input(key: str) -> str | None:
    """The session's API key field (shared with the Evaluate page; never stored)."""
    typed = st.text_input("API key (for openai: models)", value=ss.get(state.API_KEY_VALUE, ""), type="password",
                          key=key, help="Kept in this browser session only. Without it, OPENAI_API_KEY is used.")
    ss[state.API_KEY_VALUE] = typed
    return ev.find_key(typed or None)


def pool_form(form_key: str, label: str) -> tuple[list[str], int, str | None] | None:
    """Retrievers and depth; returns the choice when submitted."""
    options, default, where = ev.model_choices()
    with st.form(form_key):
        chosen = st.multiselect("Retrievers", options, default=[d for d in ("bm25", *default) if d in options][:2],
                                format_func=lambda s: f"{s}  ({where.get(s, 'custom')})", key=f"{form_key}_models",
                                help="BM25 plus one or two embedding models make a fair pool; a model left out "
                                     "of the pool is under-rated later (judged@10 shows by how much).")
        c1, c2 = st.columns([3, 1])
        extra = c1.text_input("Another retriever (optional)", placeholder="hub name, local folder, or openai:MODEL",
                              key=f"{form_key}_extra")
        depth = c2.number_input("Depth", 1, lpool.MAX_DEPTH, lpool.DEFAULT_DEPTH, key=f"{form_key}_depth",
                                help="Top-k of each retriever pooled per query (TREC uses 10 to 100).")
        key = api_key_input(f"{form_key}_key")
        if not st.form_submit_button(label, type="primary", icon=":material/join:"):
            return None
    models = list(dict.fromkeys([*chosen, *([extra.strip()] if extra.strip() else [])]))
    return models, int(depth), key


# ---- a new set: documents and queries --------------------------------------------------------
if set_id == NEW:
    st.subheader("1 · Documents and queries")
    src = st.radio("Documents", ["demo", "upload"], horizontal=True, key="lab_src",
                   format_func={"demo": "Demo: Northwind Cloud (149 documents, without its judgements)",
                                "upload": "Upload your own"}.get)
    docs_file = q_file = None
    if src == "upload":
        c1, c2 = st.columns(2)
        docs_file = c1.file_uploader("Documents", type=["zip", "jsonl", "csv", "tsv"], key="lab_docs",
                                     help="A BEIR .zip (its qrels are ignored) or a corpus .jsonl/.csv/.tsv with "
                                          f"_id and text; up to {ev.max_upload_bytes() // 2**20} MB.")
        q_file = c2.file_uploader("Queries (optional)", type=["jsonl", "csv", "tsv", "txt"], key="lab_qfile",
                                  help=".jsonl/.csv/.tsv with _id and text, or .txt with one query per line.")
    own = src == "demo" and st.checkbox("Use the demo's own 60 questions", key="lab_demo_q",
                                        help="Or paste your own below; without any, write synthetic ones.")
    pasted = st.text_area("…or paste queries, one per line", key="lab_paste", height=120,
                          placeholder="how do I rotate an API key\nwhy does the export fail with E4012")
    name = st.text_input("Set name", key="lab_name", placeholder="e.g. support-kb")
    if st.button("Check documents and queries", key="lab_check", type="primary"):
        ss.pop(COLLECTION, None)
        try:
            lines = lab.pasted_lines(pasted)
            if pasted and lines is None:
                raise UserError("the pasted queries are empty: type one query per line, or clear the box")
            if src == "demo":
                ss[COLLECTION] = lab.demo_collection(bool(own) and lines is None, lines)
            elif docs_file is None:
                raise UserError("upload a documents file first (a BEIR .zip or a corpus .jsonl/.csv/.tsv)")
            else:
                ss[COLLECTION] = lab.upload_collection(docs_file, q_file if lines is None else None, lines)
        except UserError as exc:
            st.error(f"**These inputs cannot be used:** {md_plain(exc)}")
    coll = ss.get(COLLECTION)
    if coll is not None:
        st.success(f"**{md_plain(coll.name)}**: {len(coll.doc_ids):,} documents · {len(coll.query_ids):,} "
                   f"queries ({coll.query_source})")
        for note in coll.notes:
            st.caption(note)
        if coll.query_ids:
            st.subheader("2 · Pool the candidates")
            choice = pool_form("lab_pool", "Pool candidates")
            if choice:
                try:
                    stats = lab.pool_new(coll, choice[0], choice[1], name.strip() or coll.name, choice[2])
                    ss.pop(COLLECTION, None)
                    ss[NEXT_SET] = stats.set_id
                    st.rerun()
                except UserError as exc:
                    st.error(f"**Pooling failed; nothing was stored:** {md_plain(exc)}")
        else:
            st.subheader("2 · No queries? Write synthetic ones")
            st.warning(synth.BIAS_NOTE.capitalize() + ".")
            c1, c2 = st.columns([3, 1])
            model = c1.text_input("Chat model", key="lab_syn_model",
                                  placeholder="openai:gpt-4o-mini (or openai:MODEL?base_url=http://…)")
            n = int(c2.number_input("Questions", 1, synth.MAX_QUERIES, 50, key="lab_syn_n"))
            prompt = st.text_area("Prompt (editable; {passage} is the document)", synth.DEFAULT_PROMPT,
                                  key="lab_syn_prompt", height=150)
            key = api_key_input("lab_syn_key")
            if model.strip():
                try:
                    st.info(lab.synth_estimate(coll, model.strip(), n, prompt).describe() + " — nothing sent yet.")
                    if st.button(f"Write {n} questions", key="lab_syn_go", type="primary"):
                        lab.synth_submit(coll, model.strip(), n, prompt, name.strip(), key)  # a background job
                        ss.pop(COLLECTION, None)
                        st.rerun()
                except UserError as exc:
                    st.error(md_plain(exc))
    st.stop()

# ---- an existing set -------------------------------------------------------------------------
try:
    info = lstore.get_set(lab.db(), set_id)
except UserError as exc:
    st.error(md_plain(exc))
    st.stop()
st.caption(f"{info.n_docs:,} documents · {info.n_queries:,} queries"
           + (f" ({info.n_synthetic:,} synthetic)" if info.n_synthetic else "") + f" · from {md_plain(info.source)}")
if info.n_synthetic:
    st.warning(f"{info.n_synthetic} of {info.n_queries} queries are " + synth.BIAS_NOTE + ".")
tm.label_set_controls(sets, set_id)  # "Share with team"; delete (its owner only)

st.subheader("2 · Pool")
stats = lpool.pool_stats(lab.db(), set_id)
lab.render_pool(stats)
c_size, c_more = st.columns(2)
c_size.expander("Pool size per query").dataframe(stats.per_query, hide_index=True, width="stretch", height=220)
with c_more.expander("Add retrievers to the pool", expanded=stats.size <= stats.n_queries):
    choice = pool_form("lab_more", "Add to the pool")
    if choice:
        try:
            lab.pool_more(set_id, choice[0], choice[1], choice[2])
            st.rerun()
        except UserError as exc:
            st.error(f"**Pooling failed; the pool is unchanged:** {md_plain(exc)}")

st.subheader("3 · Judge")
if "lab_judge" not in ss:  # a reload or a shared link: the URL names the judge
    ss["lab_judge"] = str(st.query_params.get("judge", ""))[:100]
judge = st.text_input("Your name (the judge)", key="lab_judge", max_chars=100, placeholder="e.g. alice",
                      help="Stored with every grade; two judges on the same pairs → kappa.")
if st.query_params.get("judge", "") != judge.strip():
    if judge.strip():
        st.query_params["judge"] = judge.strip()
    else:
        st.query_params.pop("judge", None)
if judge.strip():
    try:
        lab.render_judging(set_id, lstore.check_judge(judge))
    except UserError as exc:
        st.error(md_plain(exc))
else:
    st.info("Type your name to start judging.")

st.subheader("4 · LLM-assisted judging")
with st.expander("Let a chat model grade pairs (UMBRELA prompt, one pair per request)", expanded=False):
    c1, c2 = st.columns([3, 1])
    model = c1.text_input("Chat model", key="lab_llm_model", placeholder="openai:gpt-4o-mini?base_url=…")
    limit = int(c2.number_input("At most", 1, 100_000, 1_000, key="lab_llm_limit"))
    person = judge.strip() or None
    scope = st.radio("Which pairs", ["agreement", "rest"], horizontal=True, key="lab_llm_scope",
                     format_func={"agreement": f"those {person or 'a person'} graded (measure agreement first)",
                                  "rest": "every pair the LLM has not graded"}.get)
    key = api_key_input("lab_llm_key")
    if model.strip():
        try:
            if scope == "agreement" and person is None:
                raise UserError("type your judge name above: the LLM is compared with your grades")
            pairs, est = lab.llm_todo(set_id, model.strip(), person if scope == "agreement" else None, limit)
            st.info(est.describe() + " — nothing sent yet.")
            if st.button(f"Grade {len(pairs):,} pairs", key="lab_llm_go", type="primary", disabled=pairs.empty):
                lab.llm_submit(set_id, model.strip(), person if scope == "agreement" else None, limit, len(pairs), key)
                st.rerun()  # a background job: its panel below follows it
        except UserError as exc:
            st.error(md_plain(exc))
    lab.render_job_panel(NEXT_SET, "llm_judge")  # the LLM judging job, while it runs and after
    st.caption("People decide over LLM grades wherever both graded a pair; check the agreement below before "
               "letting the LLM grade the rest.")

st.subheader("5 · Judges and agreement")
st.caption("As of the last page update (grading refreshes only the judging panel above).")
lab.render_status(set_id)

st.subheader("6 · Evaluate with these labels")
try:
    ds = lab.labelled(set_id)
    nq = len(ds.query_ids)
    st.caption(f"{ds.n_qrels:,} judgements on {nq:,} {'query' if nq == 1 else 'queries'} with a relevant document "
               "(unjudged documents count as not relevant). " + " · ".join(md_plain(n) for n in ds.notes[1:]))
    c1, c2 = st.columns(2)
    if c1.button("Evaluate with these labels", key="lab_evaluate", type="primary", icon=":material/science:"):
        ss[state.EV_DATASET] = ds
        ss.pop(state.EV_RUN_ID, None)
        st.switch_page("pages/evaluate.py")
    c2.download_button("Download as BEIR zip", lambda: lab.beir_zip(set_id), file_name=f"{set_id}.zip",
                       mime="application/zip", key="lab_zip", icon=":material/download:")
except UserError as exc:
    st.info(f"Not ready to evaluate: {md_plain(exc)}")
    st.caption(f"Or use it from the command line: `python -m lib evaluate --data {export.PREFIX}{set_id}`.")
