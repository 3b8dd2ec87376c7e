"""Decision wizard: one question at a time, then a ranked shortlist with its evidence.

The questions, options, constraints, weights and presets live in ``data/decision_tree.json``
(``lib.decision``); this page only draws widgets and renders the result. It leaves the
shortlist in ``st.session_state["ems_shortlist"]`` (model names) for the evaluation, cost
and report pages, and its Markdown in ``st.session_state["ems_report_sections"]["decision"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from lib.articles import EXPLAINED, RAG_GUIDE
from lib.decision import DecisionTree, DecisionTreeError, Question, Shortlist, build_shortlist, load_tree, resolve
from lib.decision import preset_choices as lib_preset_choices
from lib.decision.shortlist import explorer_url, licence_text, shortlist_markdown
from lib.decision.tree import normalise_languages
from lib.errors import UserError
from lib.pricing import load_prices
from ui import data

HERE = Path(__file__).resolve().parent
SHORTLIST_KEY = "ems_shortlist"
REPORT_KEY = "ems_report_sections"
OVERRIDES_KEY = "ems_price_overrides"
# Wizard state (not widget keys, so it survives steps whose widgets are not drawn).
STEP = "dw_step"
ANSWERS = "dw_answers"
PARAMS = "dw_params"
PRESET = "dw_preset"
N_KEY = "dw_n"
CUSTOM = "__custom__"

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
ss.setdefault(STEP, 0)
ss.setdefault(ANSWERS, {q.id: q.default for q in tree.questions})
ss.setdefault(PARAMS, {})
ss.setdefault(PRESET, CUSTOM)
n_questions = len(tree.questions)


def _go(step: int) -> None:
    ss[STEP] = max(0, min(step, n_questions + 1))


def _apply_preset(tree: DecisionTree, preset_id: str) -> None:
    if preset_id == CUSTOM:
        ss[ANSWERS] = {q.id: q.default for q in tree.questions}
        ss[PARAMS] = {}
    else:
        choices, params = lib_preset_choices(tree, preset_id)
        ss[ANSWERS], ss[PARAMS] = choices, params
    for q in tree.questions:  # drop stale widget values so the radios show the new answers
        ss.pop(f"dw_q_{q.id}", None)
    for key in [k for k in ss if str(k).startswith("dw_p_")]:
        del ss[key]


def _start(tree: DecisionTree, preset_id: str, step: int) -> None:
    _apply_preset(tree, preset_id)
    _go(step)


def _param_widget(q: Question, option_id: str) -> None:
    """Draw the chosen option's parameter (languages or chunk length) and store it."""
    opt = q.option(option_id)
    p = opt.param
    if p is None:
        return
    current = ss[PARAMS].get(p.name)
    if p.kind == "languages":
        default = ", ".join(current if isinstance(current, list | tuple) else p.default)  # type: ignore[arg-type]
        raw = st.text_input(
            p.label, value=default, key=f"dw_p_{opt.id}_{p.name}", help="Three-letter codes: eng, deu, zho"
        )
        try:
            ss[PARAMS][p.name] = list(normalise_languages(raw))
        except DecisionTreeError as exc:
            st.error(str(exc))
    else:
        assert p.min is not None and p.max is not None
        value = current if isinstance(current, int) and p.min <= current <= p.max else p.default
        ss[PARAMS][p.name] = int(
            st.number_input(
                p.label, min_value=p.min, max_value=p.max, value=int(value), step=64, key=f"dw_p_{opt.id}_{p.name}"
            )
        )


def _summary(tree: DecisionTree) -> None:
    """The answers so far, each linking back to its question."""
    st.markdown("**Your answers**")
    try:
        plan = resolve(tree, ss[ANSWERS], ss[PARAMS])
    except DecisionTreeError as exc:
        st.error(str(exc))
        return
    for i, a in enumerate(plan.answers, start=1):
        marker = "→ " if ss[STEP] == i else ""
        st.button(
            f"{marker}{a.question.title}: {a.text}",
            key=f"dw_goto_{a.question.id}",
            on_click=_go,
            args=(i,),
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
            ss[key] = ss[ANSWERS].get(q.id, q.default)
        labels = {o.id: o.label for o in q.options}
        choice = st.radio(q.title, list(labels), format_func=labels.__getitem__, key=key, label_visibility="collapsed")
        ss[ANSWERS][q.id] = choice
        st.caption(q.option(choice).description)
        _param_widget(q, choice)
        with st.container(border=True):
            st.markdown("**Why it matters**")
            for quote in q.why:
                st.markdown(f"> {quote.text}\n>\n> — *{tree.attribution(quote.source)}*")
        back, nxt, skip = st.columns([1, 1, 2])
        back.button("Back", on_click=_go, args=(i - 1,), key="dw_back", width="stretch")
        last = i == n_questions
        nxt.button(
            "Show shortlist" if last else "Next",
            on_click=_go,
            args=(i + 1,),
            type="primary",
            key="dw_next",
            width="stretch",
        )
        if not last:
            skip.button("Skip to the shortlist", on_click=_go, args=(n_questions + 1,), key="dw_skip")
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
    names = {CUSTOM: "Answer every question myself", **{p.id: p.use_case for p in tree.presets}}
    choice = st.radio(
        f"Start from a use case (the decision framework of {RAG_GUIDE.short})",
        list(names),
        format_func=names.__getitem__,
        key="dw_preset_pick",
        index=list(names).index(ss[PRESET]) if ss[PRESET] in names else 0,
    )
    ss[PRESET] = choice
    if choice != CUSTOM:
        p = tree.preset(choice)
        st.caption(
            f"Expert pick ({tree.attribution(p.expert.source)}): **{p.expert.label}** — “{p.expert.reason}”. "
            + (p.note if p.note else "")
        )
    a, b, _ = st.columns([1, 1, 3])
    a.button("Start", type="primary", on_click=_start, args=(tree, choice, 1), key="dw_start", width="stretch")
    b.button("Straight to the shortlist", on_click=_start, args=(tree, choice, n_questions + 1), key="dw_direct")


def _shortlist_table(sl: Shortlist) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for e in sl.entries:
        f = e.facts
        row: dict[str, Any] = {"#": e.rank, "Model": e.model, "Score": e.score * 100}
        for cs in sl.components:
            if len(sl.components) > 1:
                row[cs.component.label] = e.component_scores[cs.component.id] * 100
        row["Params"] = f"{f.n_parameters / 1e6:,.0f}M" if f.n_parameters else "—"
        row["Dims"] = f.embed_dim
        row["Max tokens"] = int(f.max_tokens) if f.max_tokens else None
        row["Price /1M tokens"] = (
            f"${f.price_per_1m:g} ({f.hosting})"
            if f.price_per_1m is not None
            else (
                f"≈${f.selfhost_usd_per_1m:.4f} self-host est.{' ⚠' if f.selfhost_basis.startswith('⚠') else ''}"
                if f.selfhost_usd_per_1m is not None
                else "unknown"
            )
        )
        row["Licence"] = licence_text(f)
        rows.append(row)
    return pd.DataFrame(rows)


def _result_step(tree: DecisionTree) -> None:
    try:
        plan = resolve(tree, ss[ANSWERS], ss[PARAMS])
    except DecisionTreeError as exc:
        st.error(str(exc))
        st.button("Back to the questions", on_click=_go, args=(1,))
        return
    n = int(ss.get(N_KEY, 5))
    try:
        book = load_prices(session_overrides=ss.get(OVERRIDES_KEY) or ())
        sl = build_shortlist(
            tree,
            plan,
            n=n,
            book=book,
            tables=data.summary,
            task_meta=data.benchmark_tasks,
            models_df=data.models(),
        )
    except UserError as exc:
        st.error(str(exc))
        return

    top = st.columns([3, 1])
    top[0].subheader(f"Shortlist{' · ' + sl.use_case if sl.use_case else ''}")
    top[1].number_input("Shortlist length", min_value=1, max_value=20, value=n, key=N_KEY)
    st.caption(
        f"Ranked on **{sl.score_label}** (scores ×100). {len(sl.ranking)} models pass every constraint and have a "
        f"complete score; {sl.n_excluded} scored models were excluded by a constraint; {sl.n_unscored} pass but "
        "lack a complete score and are not ranked."
    )

    if not sl.entries:
        st.warning(
            "No model passes every constraint with a complete score. Relax an answer — the excluded models "
            "below say which constraint removed them."
        )
    else:
        table = _shortlist_table(sl)
        score_cols = [c for c in table.columns if c == "Score" or c in {x.component.label for x in sl.components}]
        config: dict[str, Any] = {c: st.column_config.NumberColumn(c, format="%.2f") for c in score_cols}
        config["#"] = st.column_config.NumberColumn("#", width="small")
        st.dataframe(table, hide_index=True, column_config=config, key="dw_table", width="stretch")

    left, right = st.columns([3, 2], gap="large")
    with left:
        if sl.entries:
            st.markdown("**Why each model**")
        for e in sl.entries:
            lines = "\n".join(f"- **{label}:** {text}" for label, text in e.why_parts)
            st.markdown(f"**{e.rank}. `{e.model}`** — score {e.score * 100:.2f}\n\n{lines}")
    with right:
        with st.container(border=True):
            if sl.expert is None:
                st.markdown(
                    f"**Expert pick:** your answers match no use case of the framework in {RAG_GUIDE.short} exactly."
                )
            else:
                st.markdown(
                    f"**Expert pick ({tree.attribution(sl.expert.source)}) for {sl.use_case}: "
                    f"{sl.expert.label}**  \n“{sl.expert.reason}”"
                )
                for s in sl.expert_status:
                    icon = "✅" if s.agrees else ("⛔" if s.status == "excluded" else "⚠️")
                    rank = f"#{s.rank} of {s.n_ranked}" if s.rank else s.status
                    st.markdown(f"{icon} `{s.model}` — **{rank}**  \n{s.note}")
        with st.container(border=True):
            st.markdown("**Your answers**")
            st.markdown("\n".join(f"- {a.question.title}: {a.text}" for a in plan.answers))
            st.button("Change answers", on_click=_go, args=(1,), key="dw_change")

    st.markdown("#### Strongest models excluded")
    if sl.excluded:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Model": x.model,
                        "Score": x.score * 100,
                        "Rank ignoring constraints": x.rank_unconstrained,
                        "Excluded by": x.constraint.name,
                        "Evidence": x.check.detail,
                    }
                    for x in sl.excluded
                ]
            ),
            hide_index=True,
            column_config={"Score": st.column_config.NumberColumn("Score", format="%.2f")},
            key="dw_excluded",
        )
    else:
        st.caption("No scored model was excluded.")

    with st.expander("Constraints applied, how the score is computed, how prices are estimated"):
        st.markdown("\n".join(f"- **{c.name}** ({c.question}): {c.description}" for c in plan.constraints))
        for cs in sl.components:
            dropped = ", ".join(f"{t} ({s:.0%} of models ran it)" for t, s in cs.dropped_tasks.items())
            st.markdown(
                f"- **{cs.component.label}** (weight {cs.weight:g}): mean of {len(cs.tasks)} "
                f"{cs.component.benchmark} tasks — “{cs.component.why.text}” "
                f"(*{tree.attribution(cs.component.why.source)}*)"
                + (f". Left out as too rarely run: {dropped}" if dropped else "")
            )
        basis = next(
            (e.facts.selfhost_basis.split("; ", 1)[-1] for e in sl.entries if e.facts.selfhost_basis), ""
        )  # the shared part, without a model's own "too big for one GPU" warning
        st.markdown(
            "**How prices are estimated.** A published API or hosted price where `data/pricing.csv` has one; "
            "open-weight models without one are costed as self-hosted"
            + (f" ({basis})" if basis else "")
            + ". The Cost page turns this into monthly costs for your volume. Storage is float32 per vector."
        )

    st.markdown("#### Next steps")
    models = sl.models
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        st.page_link(
            "pages/leaderboard.py",
            label="Open in the leaderboard explorer",
            icon=":material/leaderboard:",
            query_params=dict(sl.explorer_query),
            disabled=not models,
            help=f"Opens `{explorer_url(sl)}`: the scoring benchmark and task type, the shortlist pinned on top.",
            width="stretch",
        )
    with c2:
        if st.button("Send to evaluation", type="primary", disabled=not models, key="dw_send_eval", width="stretch"):
            ss[SHORTLIST_KEY] = models
            if (HERE / "evaluate.py").exists():
                st.switch_page("pages/evaluate.py")
            st.success(f"Shortlist saved ({len(models)} models); the evaluation page will pick it up.")
    with c3:
        if st.button("Include in the report", disabled=not models, key="dw_report", width="stretch"):
            ss[SHORTLIST_KEY] = models
            sections = dict(ss.get(REPORT_KEY) or {})
            sections["decision"] = shortlist_markdown(tree, sl)
            ss[REPORT_KEY] = sections
            st.success("Added to the report.")
    with c4:
        st.download_button(
            "Download as Markdown",
            shortlist_markdown(tree, sl).encode(),
            file_name="shortlist.md",
            mime="text/markdown",
            disabled=not models,
            key="dw_download",
            width="stretch",
        )
    st.info(
        f"Benchmarks are a proxy. {RAG_GUIDE.short}: “Pick the model that maximizes recall on your data, not on MTEB.” "
        "Evaluate this shortlist on 100–200 of your own queries before you commit."
    )
    st.button("Start over", on_click=_start, args=(tree, CUSTOM, 0), key="dw_restart")


step = int(ss[STEP])
if step == 0:
    _start_step(tree)
elif step <= n_questions:
    _question_step(tree, step)
else:
    _result_step(tree)
