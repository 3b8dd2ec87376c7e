"""Streamlit glue for the Label page: inputs, long work with progress, the judging panel, agreement.

The work is :mod:`lib.labelling`'s: every judgement is one
:func:`lib.labelling.store.record_judgement` (its own transaction) the moment a grade
button is clicked or its key pressed, so a reload, a second tab or a killed server loses
nothing; the panel asks the store where to resume on every run. Only what cannot be
stored lives in the session: documents skipped *in this session* and the query an undo
went back to.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from lib import job_kinds, jobs
from lib.errors import UserError
from lib.evaluation import datasets, uploads
from lib.fmt import md_plain
from lib.labelling import agreement, chat, export, llm_judge, synth
from lib.labelling import pool as lpool
from lib.labelling import store as lstore
from ui import data, state
from ui import evaluation as ev
from ui import jobs as ui_jobs
from ui import team as tm

SKIPPED_DOCS = "lab_skipped_docs"  # {(set, judge, query, doc)} passed over in this session
SKIPPED_QUERIES = "lab_skipped_queries"  # {(set, judge, query)} passed over in this session
FOCUS = "lab_focus"  # (set, judge, query): where an undo went back to
FLASH = "lab_flash"  # a message from a button callback, shown once on the next run
GRADE_LABELS = {0: "0 · not relevant", 1: "1 · partly relevant", 2: "2 · highly relevant"}


def db() -> str:
    """The app's database file."""
    return data.db_path()


# --------------------------------------------------------------------------- inputs


def pasted_lines(text: str) -> list[str] | None:
    """Pasted queries as lines, or None when nothing but white space was pasted."""
    return text.splitlines() if text and text.strip() else None


def demo_collection(with_queries: bool, lines: Sequence[str] | None) -> datasets.Collection:
    """The demo's documents (its judgements are never read), with pasted or its own queries."""
    return datasets.load_collection(ev.DEMO_DIR, query_lines=lines, folder_queries=with_queries)


def upload_collection(documents: Any, queries: Any | None, lines: Sequence[str] | None) -> datasets.Collection:
    """Stage and validate uploaded documents (and a queries file), as the Evaluate page stages uploads."""
    cap = ev.max_upload_bytes()  # kept in the signed-in person's own folder, within their quota (ui/team.py)

    def save(ups: list[uploads.Upload], root: Any) -> datasets.Collection:
        return uploads.save_collection(ups[0], ups[1] if len(ups) > 1 else None, lines, max_bytes=cap, root=root)

    return tm.save_uploads([documents, queries], cap, save)


def set_label(set_id: str, sets: pd.DataFrame) -> str:
    """How a stored set is named in a picker."""
    row = sets[sets["set_id"] == set_id]
    if row.empty:
        return set_id
    r = row.iloc[0]
    return f"{r['name']} · {r['query_source']} queries · {r['created_at']:%Y-%m-%d %H:%M} ({set_id})"


# --------------------------------------------------------------------------- long work with progress


def _with_progress(title: str, work: Callable[[Callable[[str, float], None]], Any]) -> Any:
    """Run ``work(progress)`` inside ``st.status`` with a progress bar; re-raise UserError after showing it."""
    with st.status(title, expanded=True) as status:
        bar = st.progress(0.0, text="starting")

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=md_plain(message))

        try:
            out = work(progress)
        except UserError as exc:
            status.update(label=f"{title} — failed: {md_plain(exc)}", state="error", expanded=False)
            raise
        status.update(label=f"{title} — done", state="complete", expanded=False)
    return out


def pool_new(coll: datasets.Collection, models: Sequence[str], depth: int, name: str,
             api_key: str | None) -> lpool.PoolStats:
    """A new set from the documents and queries, pooled (nothing stored if a model fails)."""
    return _with_progress(
        f"Pooling the top {depth} of {len(models)} retriever(s) for {len(coll.query_ids):,} queries",
        lambda p: lpool.pool_collection(coll, models, depth=depth, db=db(), name=name or None,
                                        api_key=api_key, progress=p, user_id=tm.viewer().user_id),
    )


def pool_more(set_id: str, models: Sequence[str], depth: int, api_key: str | None) -> lpool.PoolStats:
    """Add retrievers to a set's pool (judgements made so far stay)."""
    return _with_progress(f"Pooling the top {depth} of {len(models)} more retriever(s)",
                          lambda p: lpool.extend_pool(db(), set_id, models, depth=depth, api_key=api_key, progress=p))


def synth_estimate(coll: datasets.Collection, model: str, n: int, prompt: str) -> chat.CostEstimate:
    """The cost of writing ``n`` synthetic questions (nothing is sent)."""
    return synth.estimate(model, synth.sample_documents(coll, n), synth.check_prompt(prompt))


def synth_submit(coll: datasets.Collection, model: str, n: int, prompt: str, name: str,
                 api_key: str | None) -> str:
    """Queue a job writing the synthetic questions (a new set; nothing stored if a request fails).

    The model spec is checked now (a typo is an instant message); the job runs in the server
    process, so leaving or reloading the page does not stop it. Returns the job id (followed).
    """
    chat.resolve_chat(model)
    who = tm.viewer()
    jobs.check_limit(db(), who.user_id, who.max_jobs)
    job_id = ui_jobs.runner().submit(
        "synth", job_kinds.synth_params(coll, model, n, prompt, name),
        title=f"Write {n} synthetic question(s) with {model.split('?')[0]} for {coll.name}",
        inputs={"collection": coll, "api_key": api_key, "viewer": who}, user_id=who.user_id)
    ui_jobs.follow_on_label_page(job_id)
    return job_id


_HANDLED = "lab_job_handled"  # the finished job whose result the page already took (a new set opened)


def render_job_panel(next_set_key: str, kind: str) -> None:
    """The followed labelling job, where the page asks for its kind (``synth`` or ``llm_judge``).

    Polled while it runs; when a synthetic-questions job is done, its new set is opened
    (``next_set_key``); a finished job stays shown, with its log, until the next one.
    """
    ss = st.session_state
    job_id = ss.get(state.LAB_JOB)
    if not job_id:
        return
    job = jobs.get_job(job_id, db())
    if job is None:
        ss.pop(state.LAB_JOB, None)
        return
    if job.kind != kind:
        return
    if job.active:
        @st.fragment(run_every=ui_jobs.POLL_S)
        def panel() -> None:
            if ss.get(state.LAB_JOB) != job_id:  # a timer left from an earlier script run
                return
            now = ui_jobs.render_job(job_id, key="labjob")
            if now is None or not now.active:
                st.rerun()  # the whole page: the new grades, the new set

        panel()
        return
    if job.status == "done" and job.kind == "synth" and job.result_ref and ss.get(_HANDLED) != job_id:
        ss[_HANDLED] = job_id
        ss[next_set_key] = job.result_ref
        st.rerun()
    ui_jobs.render_job(job_id, key="labjob")


def llm_todo(set_id: str, model: str, only_judged_by: str | None, limit: int) -> tuple[pd.DataFrame, chat.CostEstimate]:
    """The pairs an LLM run would judge and its cost estimate (nothing is sent)."""
    spec = chat.resolve_chat(model)
    pairs = llm_judge.pairs_to_judge(db(), set_id, llm_judge.default_judge_name(spec), only_judged_by=only_judged_by,
                                     limit=limit)
    return pairs, llm_judge.estimate(db(), spec, pairs)


def llm_submit(set_id: str, model: str, only_judged_by: str | None, limit: int, n_pairs: int,
               api_key: str | None) -> str:
    """Queue a job grading the pairs with the chat model (each answer stored as it comes; Cancel keeps
    those). The pairs are chosen again when it starts, so pairs graded meanwhile are not sent twice."""
    who = tm.viewer()
    jobs.check_limit(db(), who.user_id, who.max_jobs)
    job_id = ui_jobs.runner().submit(
        "llm_judge", job_kinds.judge_params(set_id, model, only_judged_by, limit),
        title=f"LLM judging of {n_pairs:,} pair(s) with {model.split('?')[0]}",
        inputs={"api_key": api_key, "viewer": who}, user_id=who.user_id)
    ui_jobs.follow_on_label_page(job_id)
    return job_id


# --------------------------------------------------------------------------- pool and set summaries


def render_pool(stats: lpool.PoolStats) -> None:
    """Pool size overall and per query (one line, before judging), and what each system found alone."""
    systems = ", ".join(f"{s} (top {d})" for s, d in stats.systems if s != synth.SOURCE_SYSTEM)
    no_overlap = stats.max_size / max(stats.n_queries, 1)
    st.markdown(f"**{stats.size:,} pairs to judge** · {stats.n_queries:,} queries · "
                f"{stats.mean_per_query:.1f} per query (without any overlap between the retrievers: {no_overlap:.1f})")
    st.caption(f"Pooled: {md_plain(systems) or 'only the synthetic source documents'}. Pairs only one "
               "retriever found: " + (", ".join(f"{md_plain(s)} {n:,}" for s, n in stats.unique.items()) or "—"))


# --------------------------------------------------------------------------- judging


def _grade(set_id: str, query_id: str, doc_id: str, judge: str, grade: int) -> None:
    try:
        lstore.record_judgement(db(), set_id, query_id, doc_id, judge, grade)
    except UserError as exc:
        st.session_state[FLASH] = ("error", str(exc))


def _skip_doc(set_id: str, judge: str, query_id: str, doc_id: str) -> None:
    st.session_state.setdefault(SKIPPED_DOCS, set()).add((set_id, judge, query_id, doc_id))


def _skip_query(set_id: str, judge: str, query_id: str) -> None:
    st.session_state.setdefault(SKIPPED_QUERIES, set()).add((set_id, judge, query_id))
    st.session_state.pop(FOCUS, None)


def _undo(set_id: str, judge: str) -> None:
    gone = lstore.undo(db(), set_id, judge)
    if gone is None:
        st.session_state[FLASH] = ("info", "Nothing to undo: you have no judgements in this set.")
        return
    st.session_state[FOCUS] = (set_id, judge, gone.query_id)
    st.session_state.setdefault(SKIPPED_DOCS, set()).discard((set_id, judge, gone.query_id, gone.doc_id))
    st.session_state.setdefault(SKIPPED_QUERIES, set()).discard((set_id, judge, gone.query_id))
    st.session_state[FLASH] = ("info", f"Undone: {GRADE_LABELS[gone.grade]} for document {gone.doc_id}.")


def _current(set_id: str, judge: str) -> tuple[str, pd.DataFrame, pd.DataFrame] | None:
    """(query, its candidates, those still to grade now), or None when nothing is left."""
    ss = st.session_state
    skipped_q = {q for s, j, q in ss.get(SKIPPED_QUERIES, set()) if (s, j) == (set_id, judge)}
    skipped_d = {(q, d) for s, j, q, d in ss.get(SKIPPED_DOCS, set()) if (s, j) == (set_id, judge)}
    focus = ss.get(FOCUS)
    tried: set[str] = set()
    while True:
        q = focus[2] if focus and focus[:2] == (set_id, judge) and focus[2] not in tried else None
        q = q or lstore.next_query(db(), set_id, judge, exclude=skipped_q | tried)
        if q is None:
            return None
        cands = lstore.candidates(db(), set_id, q, judge)
        todo = cands[cands["grade"].isna() & ~cands["doc_id"].map(lambda d, q=q: (q, d) in skipped_d).astype(bool)]
        if not todo.empty:
            return q, cands, todo
        tried.add(q)  # every pair left here was skipped in this session: pass over the query
        if focus and focus[2] == q:
            ss.pop(FOCUS, None)
            focus = None


@st.fragment
def render_judging(set_id: str, judge: str) -> None:
    """One query at a time, one candidate at a time: grade by click or keys 0/1/2, S skip, Q skip query, U undo.

    A fragment: a grade reruns only this panel (save, progress, next candidate — a few
    database reads), not the pool, status and export sections of the page.
    """
    ss = st.session_state
    flash = ss.pop(FLASH, None)
    if flash:
        (st.error if flash[0] == "error" else st.toast)(md_plain(flash[1]))
    judged, total = lstore.judge_progress(db(), set_id, judge)
    st.progress(judged / total if total else 0.0, text=f"{judged:,} of {total:,} pairs judged by {md_plain(judge)}")
    cur = _current(set_id, judge)
    if cur is None:
        st.success("Every pooled pair is judged" + (" (or skipped in this session)." if judged < total else "."))
        st.button("Undo the last judgement", key="lab_undo_end", shortcut="U", on_click=_undo, args=(set_id, judge))
        return
    q, cands, todo = cur
    doc_id, text = str(todo.iloc[0]["doc_id"]), str(todo.iloc[0]["text"])
    qtext = lstore.query_text(db(), set_id, q)
    position = int(cands.index[cands["doc_id"] == doc_id][0]) + 1
    st.markdown(f"**Query {md_plain(q)}:** {md_plain(qtext)}")
    st.caption(f"Candidate {position} of {len(cands)} for this query (shuffled; the retrievers are not shown) · "
               f"document `{md_plain(doc_id)}`")
    with st.container(border=True, key="lab_candidate"):
        st.text(text[:4000] + (" …" if len(text) > 4000 else ""))
    cols = st.columns(6)
    for g in lstore.GRADES:
        cols[g].button(GRADE_LABELS[g], key=f"lab_grade_{g}", shortcut=str(g), on_click=_grade,
                       args=(set_id, q, doc_id, judge, g), width="stretch")
    cols[3].button("Skip", key="lab_skip", shortcut="S", on_click=_skip_doc, args=(set_id, judge, q, doc_id),
                   help="Pass over this document for now (this session).", width="stretch")
    cols[4].button("Skip query", key="lab_skip_query", shortcut="Q", on_click=_skip_query, args=(set_id, judge, q),
                   help="Pass over the rest of this query for now (this session).", width="stretch")
    cols[5].button("Undo", key="lab_undo", shortcut="U", on_click=_undo, args=(set_id, judge),
                   help="Delete your last judgement; its document comes back.", width="stretch")
    st.caption("Keys: **0**, **1**, **2** grade this document · **S** skip it · **Q** skip the query · **U** undo. "
               "Every grade is saved at once; reload or come back later and you resume here.")
    graded = cands.dropna(subset=["grade"])
    if not graded.empty:
        with st.expander(f"Already graded for this query ({len(graded)})", expanded=False):
            st.dataframe(graded.assign(text=graded["text"].str[:160]), hide_index=True, width="stretch")


# --------------------------------------------------------------------------- status, agreement, evaluation


def render_agreement(ag: agreement.Agreement) -> None:
    """Kappa, observed agreement and the confusion matrix of two judges."""
    if not ag.n:
        st.info(f"{md_plain(ag.judge_a)} and {md_plain(ag.judge_b)} share no judged pair yet.")
        return
    kappa = "undefined" if ag.kappa is None else f"{ag.kappa:.2f}"
    wk = "undefined" if ag.weighted_kappa is None else f"{ag.weighted_kappa:.2f}"
    st.markdown(f"**{md_plain(ag.judge_a)} vs {md_plain(ag.judge_b)}** on {ag.n:,} shared pairs: "
                f"Cohen's κ = **{kappa}** ({ag.strength}), quadratic-weighted κ = {wk}, "
                f"same grade on {ag.observed or 0:.0%}.")
    st.dataframe(ag.confusion.reset_index().rename(columns={ag.confusion.index.name: f"{ag.judge_a} ↓ / "
                                                            f"{ag.judge_b} →"}), hide_index=True, width="stretch")


def render_status(set_id: str) -> None:
    """Progress per judge and the agreement of every two judges who share pairs."""
    prog = lstore.progress(db(), set_id)
    if prog.empty:
        st.info("No judgements yet.")
        return
    cc = st.column_config
    st.dataframe(prog, hide_index=True, width="stretch", column_config={
        "judged": cc.NumberColumn("pairs judged"), "total": cc.NumberColumn("pool size"),
        "share": cc.ProgressColumn("share", format="percent", min_value=0, max_value=1),
        "queries_done": cc.NumberColumn("queries done"), "n_queries": cc.NumberColumn("queries"),
        "outside_pool": cc.NumberColumn("outside the pool", help="Pairs graded that no pooled retriever found."),
    })
    ags = agreement.all_agreements(db(), set_id)
    if ags:
        st.caption("Agreement (Landis & Koch: 0.4–0.6 moderate, 0.6–0.8 substantial; TREC assessors agree at "
                   "about 0.5–0.6):")
    for ag in ags:
        render_agreement(ag)


def labelled(set_id: str) -> datasets.Dataset:
    """The set as an evaluation dataset (people, then synthetic sources, then LLMs decide a pair)."""
    return export.labelled_dataset(db(), set_id)


def beir_zip(set_id: str) -> bytes:
    """The set as a BEIR zip."""
    return export.beir_zip(db(), set_id)
