"""A ranked, defensible shortlist from a :class:`~lib.decision.tree.Plan` and the real data.

How the ranking works (every step is shown to the user):

1. **Scores.** Each weighted score component is the mean of a model's per-task scores
   over the component's tasks (a benchmark's tasks of given types), exactly as mteb's
   ``Mean (Task)``: null when a task is missing. A task that fewer than
   ``min_task_coverage`` of the component's models ran is left out and listed, so one
   rarely-run task does not make most models unscorable. The combined score is the
   weighted mean of the components; a model needs every component to be ranked.
2. **Constraints.** Base constraints, then each answer's, in question order; a model is
   excluded by the first that fails, and that constraint is reported with its evidence.
3. **Ranking.** Models that pass everything, by combined score (ties by name).

Beside it: the articles' expert pick with its rank in the same list (or the constraint that
excluded it, or the tasks it lacks), and the strongest excluded models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lib import cost
from lib.articles import RAG_GUIDE
from lib.decision.constraints import Check, Constraint, ModelFacts
from lib.decision.pipelines import PipelineSuggestion
from lib.decision.pipelines import markdown as pipeline_markdown
from lib.decision.tree import DecisionTree, ExpertPick, Plan, ScoreComponent
from lib.leaderboard import licenses, queries
from lib.leaderboard.filters import LeaderboardFilters
from lib.leaderboard.ranking import EXPERIMENT_COL, SummaryTable, summary_table
from lib.pricing import PriceBook, flag_text, load_prices, price_for

DEFAULT_N = 5
#: Memory of the articles' reference GPU (one A10G, 24 GB).
A10G_MEMORY_BYTES = 24e9
#: How many of the strongest excluded models to report.
DEFAULT_N_EXCLUDED = 8
#: Where the explorer lives (Streamlit's URL path of pages/leaderboard.py).
EXPLORER_PATH = "leaderboard"

TableLoader = Callable[[str], SummaryTable]
TaskLoader = Callable[[str], pd.DataFrame]


@dataclass(frozen=True)
class ComponentScores:
    """One score component computed on the data.

    Attributes:
        component: Its definition.
        weight: Its weight in the combined score.
        tasks: Tasks averaged.
        dropped_tasks: Tasks left out because too few models ran them (task → share).
        scores: Model → mean over ``tasks`` (only models that ran all of them).
        ran: Model → the tasks of ``tasks`` it ran (models with at least one).
        partial: Model → mean over the tasks it ran (for notes on unscored models).
    """

    component: ScoreComponent
    weight: float
    tasks: tuple[str, ...]
    dropped_tasks: Mapping[str, float]
    scores: Mapping[str, float]
    ran: Mapping[str, tuple[str, ...]]
    partial: Mapping[str, float]


@dataclass(frozen=True)
class ShortlistEntry:
    """One shortlisted model.

    Attributes:
        rank: 1-based rank among models that pass every constraint.
        model: mteb name.
        score: Combined score (0–1).
        component_scores: Component id → score.
        checks: (constraint, its check) for every constraint the answers apply.
        facts: What is known about the model.
        why_parts: (label, text) for: answers satisfied, scores, price, storage, licence.
    """

    rank: int
    model: str
    score: float
    component_scores: Mapping[str, float]
    checks: tuple[tuple[Constraint, Check], ...]
    facts: ModelFacts
    why_parts: tuple[tuple[str, str], ...]

    @property
    def why(self) -> str:
        """The "why" line: which answers it satisfies, its scores, price, dims, licence."""
        return " · ".join(f"{label}: {text}" for label, text in self.why_parts)


@dataclass(frozen=True)
class Exclusion:
    """A scored model that a constraint removed.

    Attributes:
        model: mteb name.
        score: Its combined score.
        rank_unconstrained: Its rank among all scored models, constraints ignored.
        constraint: The first constraint it failed.
        check: The evidence.
    """

    model: str
    score: float
    rank_unconstrained: int
    constraint: Constraint
    check: Check


@dataclass(frozen=True)
class ExpertStatus:
    """Where one of the articles' expert models lands in the data-driven list.

    Attributes:
        model: mteb name.
        status: ``ranked``, ``excluded``, ``unscored`` or ``missing``.
        rank: Rank in the shortlist's ranking (``ranked`` only).
        n_ranked: Size of that ranking.
        score: Combined score, when it has one.
        rank_unconstrained: Rank among all scored models, constraints ignored.
        in_shortlist: Whether it is in the top ``n``.
        agrees: Whether the data backs the pick (ranked within the shortlist).
        note: Honest one-paragraph note.
    """

    model: str
    status: str
    rank: int | None
    n_ranked: int
    score: float | None
    rank_unconstrained: int | None
    in_shortlist: bool
    agrees: bool
    note: str


@dataclass(frozen=True)
class Shortlist:
    """The wizard's result.

    Attributes:
        plan: The answers, constraints and weights.
        components: Scores computed per component.
        entries: The top ``n``.
        ranking: Every model that passes, (model, combined score), best first.
        excluded: The strongest excluded models (best first).
        n_candidates: Models with a result on any component.
        n_unscored: Models that pass the constraints but lack a complete score.
        n_excluded: Scored models removed by a constraint.
        expert: The matching use case's expert pick (None when no preset matches).
        use_case: The matching use case's name.
        expert_status: One per expert model.
        explorer_query: Query parameters opening the explorer on this shortlist.
    """

    plan: Plan
    components: tuple[ComponentScores, ...]
    entries: tuple[ShortlistEntry, ...]
    ranking: tuple[tuple[str, float], ...]
    excluded: tuple[Exclusion, ...]
    n_candidates: int
    n_unscored: int
    n_excluded: int
    expert: ExpertPick | None = None
    use_case: str | None = None
    expert_status: tuple[ExpertStatus, ...] = ()
    explorer_query: Mapping[str, str | list[str]] = field(default_factory=dict)

    @property
    def models(self) -> list[str]:
        """The shortlisted model names, in rank order (``ems_shortlist``)."""
        return [e.model for e in self.entries]

    @property
    def score_label(self) -> str:
        """What the combined score is, in words (``English retrieval`` or a weighted mix)."""
        parts = [c.component.label for c in self.components]
        if len(parts) == 1:
            return parts[0]
        total = sum(c.weight for c in self.components)
        return " + ".join(f"{c.weight / total:.0%} {c.component.label}" for c in self.components)


# --- scores ------------------------------------------------------------------------------


def component_scores(
    component: ScoreComponent,
    weight: float,
    table: SummaryTable,
    tasks_meta: pd.DataFrame,
    min_task_coverage: float,
) -> ComponentScores:
    """Score every model on one component.

    Args:
        component: The component.
        weight: Its weight.
        table: The benchmark's summary table (its ``per_task`` frame is used).
        tasks_meta: ``queries.benchmark_tasks(benchmark)``.
        min_task_coverage: Drop tasks run by fewer than this share of the models.

    Returns:
        The component's scores.
    """
    types = component.task_types
    wanted = [
        t
        for t, ty in zip(tasks_meta["task_name"], tasks_meta["type"], strict=True)
        if (types is None or ty in types) and t in table.task_cols
    ]
    pt = table.per_task
    if EXPERIMENT_COL in pt.columns:
        # One row per model: the default experiment (mteb's leaderboard shows the same).
        pt = pt[pt[EXPERIMENT_COL].fillna("") == ""]
    pt = pt.drop_duplicates("Model").set_index("Model")
    frame = pt[wanted] if wanted else pd.DataFrame(index=pt.index)
    frame = frame[frame.notna().any(axis=1)]
    share = frame.notna().mean() if len(frame) else pd.Series(dtype=float)
    kept = [t for t in wanted if share.get(t, 0.0) >= min_task_coverage]
    dropped = {t: float(share.get(t, 0.0)) for t in wanted if t not in kept}
    sub = frame[kept]
    complete = sub.notna().all(axis=1) if kept else pd.Series(False, index=sub.index)
    means = sub.mean(axis=1, skipna=True)
    ran = {m: tuple(t for t in kept if pd.notna(sub.at[m, t])) for m in sub.index}
    return ComponentScores(
        component=component,
        weight=weight,
        tasks=tuple(kept),
        dropped_tasks=dropped,
        scores={m: float(means[m]) for m in sub.index if complete[m]},
        ran={m: r for m, r in ran.items() if r},
        partial={m: float(means[m]) for m in sub.index if ran[m]},
    )


# --- facts -------------------------------------------------------------------------------


def _none(x: Any) -> Any:
    if x is None:
        return None
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass  # arrays: not a scalar NA
    return x


def _seq(x: Any) -> tuple[Any, ...]:
    """A list-like metadata cell (numpy array, list, NA) as a tuple without missing items."""
    if isinstance(x, str):
        return (x,)
    if x is None or not hasattr(x, "__iter__"):
        return ()
    return tuple(v for v in x if _none(v) is not None)


def _too_big_for_a10g(n_parameters: float | None) -> bool:
    """Whether 16-bit weights alone exceed the articles' single 24 GB A10G (the estimate is then too low)."""
    return bool(n_parameters and n_parameters * 2 > A10G_MEMORY_BYTES)


def selfhost_usd_per_1m(name: str, n_parameters: float | None) -> tuple[float, str]:
    """Estimated self-host cost per 1M tokens on one GPU, from the articles' published figures.

    Uses the Cost page's defaults (``lib.cost.CostAssumptions``: A10G at $1.5/h, 50 %
    utilisation) and the articles' latency per size class; it ignores idle time and
    engineering, which the Cost page adds for a real volume.

    Args:
        name: Model name.
        n_parameters: Its parameter count (None: treated as medium, as lib.cost does).

    Returns:
        (USD per 1M tokens, how it was computed).
    """
    a = cost.CostAssumptions()
    params_m = n_parameters / 1e6 if n_parameters else None
    tp = cost.seed_throughput(name, params_m, a.seed_tokens_per_passage)
    usd = a.gpu_usd_per_hour / (tp.tokens_per_second * 3600 * a.gpu_utilization) * 1e6
    basis = (
        f"one {a.gpu_name} at ${a.gpu_usd_per_hour:g}/h, {a.gpu_utilization:.0%} utilised, "
        f"{cost.size_class(params_m)} size class latency from the articles; excludes idle GPU time and engineering"
    )
    if n_parameters is not None and _too_big_for_a10g(n_parameters):
        # 16-bit weights alone exceed the articles' single 24 GB A10G: the estimate is too low.
        too_big = f"⚠ {n_parameters / 1e9:.0f}B params do not fit one 24 GB {a.gpu_name} in 16-bit, so this is too low"
        basis = f"{too_big}; {basis}"
    return usd, basis


def model_facts(
    row: Mapping[str, Any],
    *,
    book: PriceBook,
    zero_shot: int | None,
    api_latency: Mapping[str, tuple[float, float]],
) -> ModelFacts:
    """Collect what the wizard knows about one model.

    Args:
        row: The model's ``models`` row (mteb ModelMeta fields).
        book: Prices.
        zero_shot: mteb's Zero-shot on the scoring benchmark(s), None when unknown.
        api_latency: The API p95 figures of KnowledgeSDK's guide.

    Returns:
        The facts.
    """
    name = str(row["name"])
    n_params = _none(row.get("n_parameters"))
    n_params = float(n_params) if n_params is not None and float(n_params) > 0 else None
    open_w = _none(row.get("open_weights"))
    open_weights = bool(open_w) if open_w is not None else None
    license_raw = _none(row.get("license"))
    lic = licenses.classify(str(license_raw) if license_raw is not None else None, open_weights)
    embed_dim = _none(row.get("embed_dim"))
    price = price_for(name, book)
    dims = {int(d) for d in _seq(row.get("embed_dims"))}
    if embed_dim is not None:
        dims.add(int(embed_dim))
    if price is not None:
        dims.update(price.dimension_options)
    langs = {str(x).split("-")[0] for x in _seq(row.get("languages"))}
    est, basis = (None, "")
    if open_weights:
        est, basis = selfhost_usd_per_1m(name, n_params)
    mem = _none(row.get("memory_usage_mb"))
    max_tok = _none(row.get("max_tokens"))
    return ModelFacts(
        name=name,
        n_parameters=n_params,
        memory_mb=float(mem) if mem is not None else None,
        max_tokens=float(max_tok) if max_tok is not None else None,
        embed_dim=int(embed_dim) if embed_dim is not None else None,
        dims_options=tuple(sorted(dims)),
        license=lic.license,
        license_group=lic.group,
        license_reason=lic.reason,
        open_weights=open_weights,
        languages=tuple(sorted(langs)) or None,
        modalities=tuple(str(x) for x in _seq(row.get("modalities"))),
        model_types=tuple(str(x) for x in _seq(row.get("model_type"))),
        zero_shot=zero_shot,
        price_per_1m=price.price_per_1m_tokens if price is not None else None,
        hosting=price.hosting if price is not None else ("self-host" if open_weights else "unknown"),
        price_source=price.source_label if price is not None else "",
        price_flags=flag_text(price) if price is not None else "",
        selfhost_usd_per_1m=est,
        selfhost_basis=basis,
        api_latency_ms=api_latency.get(name),
    )


# --- display helpers ---------------------------------------------------------------------


def price_text(f: ModelFacts, *, with_basis: bool = False) -> str:
    """Price with its source and flags, or the self-host estimate marked as such.

    Args:
        f: The model's facts.
        with_basis: Spell out how a self-host estimate was made (long).

    Returns:
        E.g. ``$0.02/1M tokens (api; OpenAI model page (official, checked ...))``.
    """
    if f.price_per_1m is not None:
        flags = f" {f.price_flags}" if f.price_flags else ""
        return f"${f.price_per_1m:g}/1M tokens ({f.hosting}; {f.price_source}){flags}"
    if f.selfhost_usd_per_1m is not None:
        basis = f": {f.selfhost_basis}" if with_basis else ", see how prices are estimated"
        if not with_basis and _too_big_for_a10g(f.n_parameters):
            basis += "; ⚠ too big for one A10G, so too low"
        return f"self-host ≈${f.selfhost_usd_per_1m:.4f}/1M tokens (estimate{basis})"
    return "price unknown"


def dims_text(f: ModelFacts) -> str:
    """Dimensions with storage per vector (float32) and MRL sizes."""
    if f.embed_dim is None:
        return "dims unknown"
    kb = f.embed_dim * 4 / 1000
    per_100m = cost.storage_gb(100e6, f.embed_dim)
    text = f"{f.embed_dim:,} dims ({kb:.1f} KB/vector float32, {per_100m:,.0f} GB per 100M vectors)"
    if "late-interaction" in f.model_types:
        text += ", multi-vector: one per token"
    smaller = [d for d in f.dims_options if d < f.embed_dim]
    if smaller:
        text += f"; MRL down to {min(smaller):,}"
    return text


def licence_text(f: ModelFacts) -> str:
    """Licence string and its use group."""
    label = licenses.short_label(f.license) if f.license else "—"
    return f"{label} ({f.license_group})"


def _why_parts(
    f: ModelFacts, checks: Sequence[tuple[Constraint, Check]], comps: Sequence[ComponentScores]
) -> tuple[tuple[str, str], ...]:
    satisfied = [
        f"{'⚠ ' if chk.unknown else ''}{c.name}" + (f" ({chk.detail})" if chk.detail != c.name else "")
        for c, chk in checks
        if c.question != "base"
    ]
    scores = [f"{cs.component.label} {cs.scores[f.name]:.3f} ({len(cs.tasks)} tasks)" for cs in comps]
    return (
        ("Satisfies", "; ".join(satisfied) if satisfied else "no constraints applied"),
        ("Scores", "; ".join(scores)),
        ("Price", price_text(f)),
        ("Storage", dims_text(f)),
        ("Licence", licence_text(f)),
    )


def _pct(x: float) -> str:
    return f"{x:.3f}"


# --- the shortlist -----------------------------------------------------------------------


def matching_preset(tree: DecisionTree, plan: Plan) -> tuple[str | None, ExpertPick | None]:
    """The framework use case whose answers equal the plan's (defaults filled in).

    Returns:
        (use case, expert pick), or (None, None) when the answers match no preset.
    """
    choices = plan.choices
    for p in tree.presets:
        full = {q.id: p.answers.get(q.id, q.default) for q in tree.questions}
        if full == choices:
            return p.use_case, p.expert
    return None, None


def _expert_status(
    model: str,
    *,
    known: set[str],
    ranking: Sequence[tuple[str, float]],
    n: int,
    first_fail: Mapping[str, tuple[Constraint, Check]],
    combined_all: Mapping[str, float],
    rank_all: Mapping[str, int],
    comps: Sequence[ComponentScores],
) -> ExpertStatus:
    pos = {m: i + 1 for i, (m, _) in enumerate(ranking)}
    n_ranked = len(ranking)
    if model not in known:
        return ExpertStatus(
            model, "missing", None, n_ranked, None, None, False, False,
            f"{model} is not in mteb's model registry in this data, so the guide's pick cannot be checked against it.",
        )  # fmt: skip
    score = combined_all.get(model)
    if model in pos:
        r = pos[model]
        top_model, top_score = ranking[0]
        if r <= n:
            note = f"The data agrees: {model} is #{r} of {n_ranked} with {_pct(score or 0)}"
            note += f" (#1 {top_model}: {_pct(top_score)})." if r > 1 else "."
            if n_ranked <= n:
                note += f" Only {n_ranked} models pass every constraint, so being listed is a weak endorsement."
        else:
            note = (
                f"The data disagrees: {model} is #{r} of {n_ranked} with {_pct(score or 0)}; "
                f"#1 {top_model} scores {_pct(top_score)} (+{top_score - (score or 0):.3f})."
            )
        return ExpertStatus(model, "ranked", r, n_ranked, score, rank_all.get(model), r <= n, r <= n, note)
    if model in first_fail:
        c, chk = first_fail[model]
        note = f"Your answers exclude it: {c.name} — {chk.detail}."
        if score is not None:
            note += f" Ignoring every constraint it would be #{rank_all[model]} of {len(rank_all)} ({_pct(score)})."
        else:
            note += " It also has no complete score here."
        return ExpertStatus(model, "excluded", None, n_ranked, score, rank_all.get(model), False, False, note)
    gaps = []
    for cs in comps:
        if model in cs.scores:
            continue
        ran = cs.ran.get(model, ())
        missing = [t for t in cs.tasks if t not in ran]
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4 else "")
        partial = f"; its mean over the {len(ran)} it ran is {_pct(cs.partial[model])}, not comparable" if ran else ""
        gaps.append(f"it ran {len(ran)} of {len(cs.tasks)} {cs.component.label} tasks (missing {shown}){partial}")
    note = "No complete score, so it cannot be ranked honestly: " + "; ".join(gaps) + "."
    return ExpertStatus(model, "unscored", None, n_ranked, None, None, False, False, note)


def build_shortlist(
    tree: DecisionTree,
    plan: Plan,
    *,
    db: str | Path | None = None,
    n: int = DEFAULT_N,
    n_excluded: int = DEFAULT_N_EXCLUDED,
    book: PriceBook | None = None,
    tables: TableLoader | None = None,
    task_meta: TaskLoader | None = None,
    models_df: pd.DataFrame | None = None,
) -> Shortlist:
    """Rank the models that satisfy a plan on the plan's weighted scores.

    Args:
        tree: The decision tree (components, presets, published latency figures).
        plan: From :func:`lib.decision.tree.resolve`.
        db: The DuckDB file (default: the app's).
        n: Shortlist length.
        n_excluded: How many of the strongest excluded models to report.
        book: Prices (default: :func:`lib.pricing.load_prices`).
        tables: Benchmark → summary table (pages pass a cached loader).
        task_meta: Benchmark → task metadata (pages pass a cached loader).
        models_df: ``queries.models()`` (pages pass a cached frame).

    Returns:
        The shortlist with its evidence.
    """
    book = book or load_prices()
    tables = tables or (lambda b: summary_table(b, db))
    task_meta = task_meta or (lambda b: queries.benchmark_tasks(b, db))
    meta = models_df if models_df is not None else queries.models(db)
    by_name = {str(r["name"]): r for r in meta.to_dict("records")}

    comps: list[ComponentScores] = []
    zero_shots: list[dict[str, int]] = []
    for cid, w in plan.weights.items():
        comp = tree.components[cid]
        table = tables(comp.benchmark)
        comps.append(component_scores(comp, w, table, task_meta(comp.benchmark), tree.min_task_coverage))
        df = table.df
        zero_shots.append(dict(zip(df["Model"], df["Zero-shot"].astype(int), strict=True)))

    total_w = sum(c.weight for c in comps)
    candidates = sorted({m for c in comps for m in c.ran} & by_name.keys())
    combined_all = {
        m: sum(c.weight * c.scores[m] for c in comps) / total_w for m in candidates if all(m in c.scores for c in comps)
    }
    order_all = sorted(combined_all, key=lambda m: (-combined_all[m], m))
    rank_all = {m: i + 1 for i, m in enumerate(order_all)}

    def zs(m: str) -> int | None:
        vals = [z.get(m, -1) for z in zero_shots]
        return None if any(v < 0 for v in vals) else min(vals)

    facts: dict[str, ModelFacts] = {}
    first_fail: dict[str, tuple[Constraint, Check]] = {}
    passed_checks: dict[str, tuple[tuple[Constraint, Check], ...]] = {}
    expert_models = {m for p in tree.presets for m in p.expert.models}
    for m in sorted(set(candidates) | (expert_models & by_name.keys())):
        f = model_facts(by_name[m], book=book, zero_shot=zs(m), api_latency=tree.api_latency_p95_ms)
        facts[m] = f
        checks = []
        for c in plan.constraints:
            chk = c.check(f)
            if not chk.passed:
                first_fail[m] = (c, chk)
                break
            checks.append((c, chk))
        else:
            passed_checks[m] = tuple(checks)

    ranking = tuple((m, combined_all[m]) for m in order_all if m in passed_checks)
    entries = tuple(
        ShortlistEntry(
            rank=i + 1,
            model=m,
            score=s,
            component_scores={c.component.id: c.scores[m] for c in comps},
            checks=passed_checks[m],
            facts=facts[m],
            why_parts=_why_parts(facts[m], passed_checks[m], comps),
        )
        for i, (m, s) in enumerate(ranking[:n])
    )
    excluded_all = [m for m in order_all if m in first_fail]
    excluded = tuple(
        Exclusion(m, combined_all[m], rank_all[m], first_fail[m][0], first_fail[m][1])
        for m in excluded_all[:n_excluded]
    )
    use_case, expert = matching_preset(tree, plan)
    statuses: tuple[ExpertStatus, ...] = ()
    if expert is not None:
        statuses = tuple(
            _expert_status(
                m,
                known=set(by_name),
                ranking=ranking,
                n=n,
                first_fail=first_fail,
                combined_all=combined_all,
                rank_all=rank_all,
                comps=comps,
            )
            for m in expert.models
        )
    main = max(comps, key=lambda c: c.weight)
    view = LeaderboardFilters(
        benchmark=main.component.benchmark,
        task_types=main.component.task_types or (),
        pins=tuple(e.model for e in entries),
    )
    return Shortlist(
        plan=plan,
        components=tuple(comps),
        entries=entries,
        ranking=ranking,
        excluded=excluded,
        n_candidates=len(candidates),
        n_unscored=sum(1 for m in passed_checks if m not in combined_all and m in candidates),
        n_excluded=len(excluded_all),
        expert=expert,
        use_case=use_case,
        expert_status=statuses,
        explorer_query=view.to_query_params(),
    )


def explorer_url(sl: Shortlist, base: str = "") -> str:
    """A link to the leaderboard explorer showing the shortlist pinned on top.

    Args:
        sl: The shortlist.
        base: Prefix (e.g. the app's URL); relative by default.

    Returns:
        ``leaderboard?lb_benchmark=...&lb_types=Retrieval&lb_pins=a&lb_pins=b``.
    """
    from urllib.parse import urlencode

    return f"{base.rstrip('/') + '/' if base else ''}{EXPLORER_PATH}?{urlencode(sl.explorer_query, doseq=True)}"


def shortlist_markdown(tree: DecisionTree, sl: Shortlist, pipelines: Sequence[PipelineSuggestion] = ()) -> str:
    """The shortlist as a self-contained Markdown section for a report.

    Args:
        tree: The decision tree (for source titles).
        sl: The shortlist.
        pipelines: Pipelines the answers suggest (:func:`lib.decision.pipelines.suggest`), listed after
            the ranking.

    Returns:
        Markdown: answers, constraints, method, ranked list with why-lines, expert pick,
        strongest exclusions.
    """
    lines = ["## Decision wizard shortlist", ""]
    if sl.use_case:
        lines.append(f"Use case: **{sl.use_case}** (preset from the decision framework of {RAG_GUIDE.short}).")
        lines.append("")
    lines.append("### Answers")
    lines += [f"- **{a.question.title}:** {a.text}" for a in sl.plan.answers]
    lines += ["", "### Constraints applied"]
    lines += [f"- **{c.name}** ({c.question}): {c.description}" for c in sl.plan.constraints]
    lines += ["", f"### Ranking: {sl.score_label}"]
    for cs in sl.components:
        dropped = (
            f"; left out (run by too few models): {', '.join(f'{t} ({s:.0%})' for t, s in cs.dropped_tasks.items())}"
            if cs.dropped_tasks
            else ""
        )
        lines.append(f"- {cs.component.label}: mean of {len(cs.tasks)} {cs.component.benchmark} tasks{dropped}")
    lines.append(
        f"- {len(sl.ranking)} models pass every constraint and have a complete score; "
        f"{sl.n_excluded} scored models were excluded; {sl.n_unscored} pass but lack a complete score."
    )
    lines += ["", "| # | Model | Score | Why |", "|---|---|---|---|"]
    lines += [f"| {e.rank} | `{e.model}` | {e.score:.3f} | {e.why.replace('|', '/')} |" for e in sl.entries]
    if pipelines:
        names = {k: tree.attribution(k) for k in tree.sources}
        lines += ["", pipeline_markdown(pipelines, names).rstrip("\n")]
    if sl.expert is not None:
        src = tree.sources.get(sl.expert.source, sl.expert.source)
        lines += ["", f"### Expert pick ({tree.attribution(sl.expert.source)}: {src})"]
        lines.append(f"**{sl.expert.label}** — “{sl.expert.reason}”.")
        lines += [f"- {s.note}" for s in sl.expert_status]
    if sl.excluded:
        lines += ["", "### Strongest excluded models", "| Model | Score | Excluded by |", "|---|---|---|"]
        lines += [f"| `{x.model}` | {x.score:.3f} | {x.constraint.name}: {x.check.detail} |" for x in sl.excluded]
    lines += [
        "",
        f"Benchmarks are a proxy ({RAG_GUIDE.short}: “Pick the model that maximizes recall on your data, "
        "not on MTEB.”): "
        "evaluate this shortlist on your own queries before you commit.",
    ]
    return "\n".join(lines) + "\n"


def shortlist_frame(sl: Shortlist) -> pd.DataFrame:
    """The shortlist as the wizard's table: rank, model, score (×100), components, facts.

    Args:
        sl: A built shortlist.

    Returns:
        One row per entry; a column per score component when there are several.
    """
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


def excluded_frame(sl: Shortlist) -> pd.DataFrame:
    """The strongest models a constraint excluded, with the constraint and its evidence.

    Args:
        sl: A built shortlist.

    Returns:
        One row per excluded model (score ×100, rank ignoring constraints).
    """
    return pd.DataFrame(
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
    )


def selfhost_basis(sl: Shortlist) -> str:
    """The self-hosting price basis the entries share, without a model's own warning.

    Args:
        sl: A built shortlist.

    Returns:
        E.g. the GPU price and throughput source; "" when no entry is costed as self-hosted.
    """
    return next((e.facts.selfhost_basis.split("; ", 1)[-1] for e in sl.entries if e.facts.selfhost_basis), "")
