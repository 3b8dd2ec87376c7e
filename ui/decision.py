"""Streamlit glue of the Decision wizard: the wizard's session state, its step callbacks and the
result step (the ranked shortlist with its evidence). Questions and answers are ``lib.decision``'s;
the widget keys (``dw_*``) are the page's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from lib.articles import RAG_GUIDE
from lib.decision import DecisionTree, DecisionTreeError, build_shortlist, resolve
from lib.decision import pipelines as lib_pipelines
from lib.decision import preset_choices as lib_preset_choices
from lib.decision.shortlist import excluded_frame, explorer_url, selfhost_basis, shortlist_frame, shortlist_markdown
from lib.errors import UserError
from lib.pricing import load_prices
from ui import data, state

PAGES = Path(__file__).resolve().parent.parent / "pages"
# Wizard state (not widget keys, so it survives steps whose widgets are not drawn).
STEP = "dw_step"
ANSWERS = "dw_answers"
PARAMS = "dw_params"
PRESET = "dw_preset"
N_KEY = "dw_n"
CUSTOM = "__custom__"

ss = st.session_state


def init(tree: DecisionTree) -> None:
    """Give the wizard's state its defaults (step 0, every question's default answer)."""
    ss.setdefault(STEP, 0)
    ss.setdefault(ANSWERS, {q.id: q.default for q in tree.questions})
    ss.setdefault(PARAMS, {})
    ss.setdefault(PRESET, CUSTOM)


def go(step: int, n_questions: int) -> None:
    """Move to ``step`` (0 = start, 1..n = questions, n + 1 = the shortlist)."""
    ss[STEP] = max(0, min(step, n_questions + 1))


def apply_preset(tree: DecisionTree, preset_id: str) -> None:
    """Answer every question as the preset does (or with the defaults for ``CUSTOM``)."""
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


def start(tree: DecisionTree, preset_id: str, step: int) -> None:
    """Apply a preset and go to ``step``."""
    apply_preset(tree, preset_id)
    go(step, len(tree.questions))


def _pipelines(plan: Any, models: list[str]) -> tuple[lib_pipelines.PipelineSuggestion, ...]:
    """The pipelines the answers call for, on the shortlist (or on a model of this machine)."""
    from lib.evaluation.models import local_specs

    try:
        return lib_pipelines.suggest(plan, models, local=local_specs())
    except UserError:
        return ()


def result_step(tree: DecisionTree) -> None:
    """The ranked shortlist with its evidence, the expert pick, exclusions and next steps."""
    try:
        plan = resolve(tree, ss[ANSWERS], ss[PARAMS])
    except DecisionTreeError as exc:
        st.error(str(exc))
        st.button("Back to the questions", on_click=go, args=(1, len(tree.questions)))
        return
    n = int(ss.get(N_KEY, 5))
    try:
        book = load_prices(session_overrides=ss.get(state.PRICE_OVERRIDES) or ())
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
        table = shortlist_frame(sl)
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
            st.button("Change answers", on_click=go, args=(1, len(tree.questions)), key="dw_change")

    suggested = _pipelines(plan, sl.models)
    if suggested:
        st.markdown("#### Pipelines to evaluate")
        st.caption("Teams deploy a retrieval stack, not a model. Your answers call for these systems beside the "
                   "plain models; **Send to evaluation** adds them to the Evaluate page's picker, where each is "
                   "compared with its base model on the same queries (paired test).")
        for p in suggested:
            st.markdown(f"- `{p.spec}` — **{p.label}**: {'; '.join(p.parts)}. Compare with `{p.base}` "
                        f"(*{p.question}*).  \n{p.reason}  \n> {p.why.text} — *{tree.attribution(p.why.source)}*")

    st.markdown("#### Strongest models excluded")
    if sl.excluded:
        st.dataframe(
            excluded_frame(sl),
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
        basis = selfhost_basis(sl)  # the shared part, without a model's own "too big for one GPU" warning
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
            ss[state.SHORTLIST] = models
            ss[state.PIPELINES] = list(dict.fromkeys(x for p in suggested for x in (p.base, p.spec)))
            if (PAGES / "evaluate.py").exists():
                st.switch_page("pages/evaluate.py")
            st.success(f"Shortlist saved ({len(models)} models); the evaluation page will pick it up.")
    with c3:
        if st.button("Include in the report", disabled=not models, key="dw_report", width="stretch"):
            ss[state.SHORTLIST] = models
            sections = dict(ss.get(state.REPORT_SECTIONS) or {})
            sections["decision"] = shortlist_markdown(tree, sl, suggested)
            ss[state.REPORT_SECTIONS] = sections
            st.success("Added to the report.")
    with c4:
        st.download_button(
            "Download as Markdown",
            shortlist_markdown(tree, sl, suggested).encode(),
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
    st.button("Start over", on_click=start, args=(tree, CUSTOM, 0), key="dw_restart")
