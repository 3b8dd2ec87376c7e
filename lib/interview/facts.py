"""Computed results → the formatted facts that fill the walkthrough and quiz templates.

Each result is optional: a fact whose demonstration has not run yet is simply absent,
and :func:`lib.interview.content.fill` shows ``…`` in its place. Numbers are formatted
here once, so the model answers and the quiz quote exactly what the tables show.
"""

from __future__ import annotations

import math

from lib import cost, fmt
from lib.interview.finetune import FineTuneCosts, FineTuneResult
from lib.interview.ranks import DomainRanking, OwnDataRanks, RankGap
from lib.interview.tradeoffs import ApiVsSelfHost, MigrationCosts
from lib.interview.vectors import CrossModelResult, EncoderDemo, MigrationCurve, SweepResult


def storage_quiz() -> dict[str, str]:
    """The storage question's options and explanation, from the cost model.

    Returns:
        ``storage_opt_a`` … ``storage_opt_d`` (the right one is ``c``), ``storage_1536_gb``,
        ``storage_256_gb``.
    """
    right = cost.storage_gb(100e6, 1536)
    return {
        "storage_opt_a": fmt.gb(right / 10),
        "storage_opt_b": fmt.gb(cost.storage_gb(100e6, 1536, "int8")),
        "storage_opt_c": fmt.gb(right),
        "storage_opt_d": fmt.gb(right * 10),
        "storage_1536_gb": f"{right:,.1f}",
        "storage_256_gb": f"{cost.storage_gb(100e6, 256):,.1f}",
    }


def build(
    *,
    gap: RankGap | None = None,
    domain: DomainRanking | None = None,
    own: OwnDataRanks | None = None,
    cross: CrossModelResult | None = None,
    migration: MigrationCurve | None = None,
    sweep: SweepResult | None = None,
    encoder: EncoderDemo | None = None,
    migration_costs: MigrationCosts | None = None,
    api: ApiVsSelfHost | None = None,
    ft_costs: FineTuneCosts | None = None,
    ft_run: FineTuneResult | None = None,
) -> dict[str, str]:
    """Format every available result as template facts.

    Args:
        gap: Overall vs retrieval rank.
        domain: Legal vs general rank.
        own: A stored run's ranks.
        cross: The cross-model demo.
        migration: The migration curve.
        sweep: The dimension sweep.
        encoder: The encoder demo.
        migration_costs: Shadow-index costs.
        api: API vs self-hosting.
        ft_costs: Fine-tuning costs.
        ft_run: A live fine-tune.

    Returns:
        Fact name → formatted text.
    """
    f: dict[str, str] = storage_quiz()
    if gap is not None:
        f.update(
            leader=gap.leader, leader_retrieval_rank=str(gap.leader_task_rank), spearman=f"{gap.spearman:.2f}",
            retrieval_leader=gap.task_leader, retrieval_leader_overall_rank=str(gap.task_leader_overall_rank),
            gap_models=str(gap.n_models),
        )
    if domain is not None:
        f.update(
            general_leader=domain.general_leader,
            general_leader_on_domain=(
                f"is not ranked on {domain.domain} at all (never evaluated there)"
                if domain.general_leader_domain_rank is None
                else f"ranks #{domain.general_leader_domain_rank} on {domain.domain}"
            ),
            domain_leader=domain.domain_leader,
            domain_leader_on_general=(
                f"is not ranked on {domain.general} at all"
                if domain.domain_leader_general_rank is None
                else f"ranks #{domain.domain_leader_general_rank} on {domain.general}"
            ),
            domain_top_overlap=str(domain.overlap), top_n=str(domain.top_n), domain_tasks=str(domain.n_domain_tasks),
            domain_specialised=str(int(domain.table["specialised"].sum())),
        )
        if not domain.common.empty:
            c = domain.common.iloc[0]
            f.update(common_leader=str(c["model"]), common_leader_general_rank=str(int(c["general_rank"])),
                     common_leader_domain_rank=str(int(c["domain_rank"])))
    if own is not None:
        f.update(own_run=f"{own.run_id} ({own.dataset}, {own.n_queries} queries)", own_n_queries=str(own.n_queries),
                 own_agreement=own.agreement)
        if not math.isnan(own.ci_halfwidth):
            f["own_ci_halfwidth"] = f"{own.ci_halfwidth:.3f}"
        if own.by_kind.empty:
            f["own_by_kind"] = own.agreement
        else:
            parts = []
            for kind, winner in own.kind_winners.items():
                col = own.by_kind[kind]
                runner = col.drop(winner).max() if len(col) > 1 else math.nan
                nxt = "" if math.isnan(runner) else f", next best {runner:.3f}"
                parts.append(f"{kind} — {winner} {col[winner]:.3f}{nxt}")
            f["own_by_kind"] = (f"the best model differs by kind of question ({own.metric}): " + "; ".join(parts)
                                + ". " + own.agreement)
    if cross is not None:
        f.update(
            index_model=cross.index_model, query_model=cross.query_model, dim=str(cross.dim),
            same_recall=f"{cross.same_index.recall:.3f}", cross_recall=f"{cross.crossed.recall:.3f}",
            fixed_recall=f"{cross.same_query.recall:.3f}", chance_recall=f"{cross.chance:.3f}",
            same_text_cosine=f"{cross.same_text_cosine:.3f}", same_ndcg=f"{cross.same_index.ndcg:.3f}",
            cross_ndcg=f"{cross.crossed.ndcg:.3f}",
        )
    if migration is not None:
        f.update(mixed_recall_50=f"{migration.at(0.5):.3f}", new_recall=f"{migration.at(1.0):.3f}",
                 old_recall=f"{migration.at(0.0, 'in_place_old_queries'):.3f}")
    if sweep is not None:
        full = sweep.cell(sweep.full_dim)
        small = sweep.cell(min(sweep.table["dim"]))
        int8 = sweep.cell(sweep.full_dim, "int8")
        f["sweep_summary"] = (
            f"on the demo data {sweep.model} keeps {small['relative']:.0%} of its nDCG@10 at {int(small['dim'])} "
            f"of {sweep.full_dim} dimensions, and {int8['relative']:.0%} as int8 at full size "
            f"(nDCG@10 {full['ndcg']:.3f} at full size, float32)."
        )
    if encoder is not None:
        n_tok = encoder.lengths["tokens"]
        f.update(min_tokens=str(int(n_tok.min())), max_tokens=str(int(n_tok.max())),
                 paraphrase_cos=f"{encoder.mean_cosine('paraphrase'):.2f}",
                 unrelated_cos=f"{encoder.mean_cosine('unrelated'):.2f}")
        f.setdefault("dim", str(encoder.lengths["vector"].iloc[0]).strip("(,)"))
    if migration_costs is not None:
        m = migration_costs
        f.update(vectors=fmt.tokens_rounded(m.vectors), tokens_per_chunk=str(m.tokens_per_chunk),
                 reembed_tokens=fmt.tokens_rounded(m.tokens),
                 reembed_api_usd=fmt.usd(m.reembed_api_usd, millions=False),
                 reembed_gpu_hours=f"{m.reembed_gpu_hours:,.1f}",
                 old_gb=f"{m.old_gb:,.1f}", new_gb=f"{m.new_gb:,.1f}")
    if api is not None:
        f["break_even_tokens"] = "never" if api.break_even_tokens is None else fmt.tokens_rounded(api.break_even_tokens)
    if ft_costs is not None:
        f.setdefault("reembed_tokens", fmt.tokens_rounded(ft_costs.corpus_tokens))
    if ft_run is not None:
        f.update(ft_pairs=str(ft_run.n_pairs), ft_seconds=f"{ft_run.train_seconds:.0f}",
                 ft_before=f"{ft_run.before.ndcg:.3f}", ft_after=f"{ft_run.after.ndcg:.3f}",
                 ft_p=f"{ft_run.paired.p_value:.3f}")
    return f
