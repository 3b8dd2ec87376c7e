"""Decision wizard: one question at a time, then a ranked shortlist with its evidence.

The questions, options, constraints, weights and presets live in ``data/decision_tree.json``
(``lib.decision``); this page only draws widgets and renders the result. It leaves the
shortlist in ``st.session_state[state.SHORTLIST]`` (model names) for the evaluation, cost
and report pages, and its Markdown in ``st.session_state[state.REPORT_SECTIONS]["decision"]``
(``ui/state.py``); the result step is drawn by ``ui/decision.py``.
"""

from __future__ import annotations

import streamlit as st

from lib.articles import EXPLAINED, RAG_GUIDE
from lib.decision import DecisionTree, DecisionTreeError, Question, load_tree, resolve
from lib.decision.tree import normalise_languages
from ui import data
from ui import decision as wiz

st.title("Decision wizard")

if data.data_version() is None:
    st.info(data.no_data_help())
    st.stop()

try:
    tree = load_tree()
except DecisionTreeError as exc:
    st.error(f"The decision tree data is invalid: {exc}")
    st.stop()

ss = st.session_state
wiz.init(tree)
n_questions = len(tree.questions)


def _param_widget(q: Question, option_id: str) -> None:
    """Draw the chosen option's parameter (languages or chunk length) and store it."""
    opt = q.option(option_id)
    p = opt.param
    if p is None:
        return
    current = ss[wiz.PARAMS].get(p.name)
    if p.kind == "languages":
        default = ", ".join(current if isinstance(current, list | tuple) else p.default)  # type: ignore[arg-type]
        raw = st.text_input(
            p.label, value=default, key=f"dw_p_{opt.id}_{p.name}", help="Three-letter codes: eng, deu, zho"
        )
        try:
            ss[wiz.PARAMS][p.name] = list(normalise_languages(raw))
        except DecisionTreeError as exc:
            st.error(str(exc))
    else:
        assert p.min is not None and p.max is not None
        value = current if isinstance(current, int) and p.min <= current <= p.max else p.default
        ss[wiz.PARAMS][p.name] = int(
            st.number_input(
                p.label, min_value=p.min, max_value=p.max, value=int(value), step=64, key=f"dw_p_{opt.id}_{p.name}"
            )
        )


def _summary(tree: DecisionTree) -> None:
    """The answers so far, each linking back to its question."""
    st.markdown("**Your answers**")
    try:
        plan = resolve(tree, ss[wiz.ANSWERS], ss[wiz.PARAMS])
    except DecisionTreeError as exc:
        st.error(str(exc))
        return
    for i, a in enumerate(plan.answers, start=1):
        marker = "→ " if ss[wiz.STEP] == i else ""
        st.button(
            f"{marker}{a.question.title}: {a.text}",
            key=f"dw_goto_{a.question.id}",
            on_click=wiz.go,
            args=(i, n_questions),
            type="tertiary",
            help="Change this answer",
        )


def _question_step(tree: DecisionTree, i: int) -> None:
    q = tree.questions[i - 1]
    st.progress(i / n_questions, text=f"Question {i} of {n_questions} · {q.title}")
    main, side = st.columns([3, 2], gap="large")
    with main:
        st.subheader(q.prompt)
        key = f"dw_q_{q.id}"
        if key not in ss:
            ss[key] = ss[wiz.ANSWERS].get(q.id, q.default)
        labels = {o.id: o.label for o in q.options}
        choice = st.radio(q.title, list(labels), format_func=labels.__getitem__, key=key, label_visibility="collapsed")
        ss[wiz.ANSWERS][q.id] = choice
        st.caption(q.option(choice).description)
        _param_widget(q, choice)
        with st.container(border=True):
            st.markdown("**Why it matters**")
            for quote in q.why:
                st.markdown(f"> {quote.text}\n>\n> — *{tree.attribution(quote.source)}*")
        back, nxt, skip = st.columns([1, 1, 2])
        back.button("Back", on_click=wiz.go, args=(i - 1, n_questions), key="dw_back", width="stretch")
        last = i == n_questions
        nxt.button(
            "Show shortlist" if last else "Next",
            on_click=wiz.go,
            args=(i + 1, n_questions),
            type="primary",
            key="dw_next",
            width="stretch",
        )
        if not last:
            skip.button("Skip to the shortlist", on_click=wiz.go, args=(n_questions + 1, n_questions), key="dw_skip")
    with side:
        _summary(tree)


def _start_step(tree: DecisionTree) -> None:
    st.markdown(
        f"Answer the decision tree of {EXPLAINED.short} — **budget, latency, domain, scale, "
        f"multilinguality** — plus the questions the use-case framework of {RAG_GUIDE.short} adds "
        "(privacy, document length, content type, stakes, licence). "
        "Each answer becomes a stated constraint or score weight; the shortlist is ranked on the real "
        "MTEB results under them, with the guide's expert pick shown beside it."
    )
    st.caption(f"Sources: {EXPLAINED.citation}; {RAG_GUIDE.citation}.")
    names = {wiz.CUSTOM: "Answer every question myself", **{p.id: p.use_case for p in tree.presets}}
    choice = st.radio(
        f"Start from a use case (the decision framework of {RAG_GUIDE.short})",
        list(names),
        format_func=names.__getitem__,
        key="dw_preset_pick",
        index=list(names).index(ss[wiz.PRESET]) if ss[wiz.PRESET] in names else 0,
    )
    ss[wiz.PRESET] = choice
    if choice != wiz.CUSTOM:
        p = tree.preset(choice)
        st.caption(
            f"Expert pick ({tree.attribution(p.expert.source)}): **{p.expert.label}** — “{p.expert.reason}”. "
            + (p.note if p.note else "")
        )
    a, b, _ = st.columns([1, 1, 3])
    a.button("Start", type="primary", on_click=wiz.start, args=(tree, choice, 1), key="dw_start", width="stretch")
    b.button("Straight to the shortlist", on_click=wiz.start, args=(tree, choice, n_questions + 1), key="dw_direct")


step = int(ss[wiz.STEP])
if step == 0:
    _start_step(tree)
elif step <= n_questions:
    _question_step(tree, step)
else:
    wiz.result_step(tree)
