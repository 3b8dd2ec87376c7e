"""The architect's report: :func:`build_report` collects runs, shortlist and cost assumptions.

:func:`build_report` gathers the chosen runs, the decision wizard's shortlist and the cost
assumptions into a :class:`Report`; :func:`to_markdown` and :func:`to_html` render it. The
HTML is one self-contained file with interactive plotly charts (plotly.js embedded once, so
it opens offline). All user-supplied text (queries, documents, names, notes) is escaped with
:mod:`lib.fmt`, cells that a spreadsheet would run as formulas are defused, and API keys are
never part of any input, so they cannot appear in a report.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lib import cost, pricing
from lib.errors import UserError
from lib.evaluation import quick, runs
from lib.evaluation.models import display_label
from lib.fmt import html as h
from lib.fmt import md_text, number
from lib.report import analysis

# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class RunInfo:
    """What a reader needs to know about one run in the report.

    Attributes:
        run_id: The id.
        created: When it started (UTC).
        dataset: Dataset name.
        n_docs: Documents.
        n_queries: Queries.
        k: Cut-off.
        models: Model specs.
        wall_time_s: Wall time.
        machine: One-line environment description.
        quick: For a quick estimate, :func:`lib.evaluation.quick.label`; "" for a full run.
    """

    run_id: str
    created: str
    dataset: str
    n_docs: int
    n_queries: int
    k: int
    models: tuple[str, ...]
    wall_time_s: float | None
    machine: str
    quick: str = ""


@dataclass(frozen=True)
class Report:
    """The architect's cost/quality report.

    Attributes:
        title: Report title.
        question: The question the report answers.
        context: Who asked and why (free text).
        created: Date written.
        metric: Headline metric.
        runs: The runs used.
        models: One row per (run, model): metric with CI, tie group, latency, monthly
            cost and price source, MTEB rank, licence.
        metrics_tables: Per run id, :func:`metrics_display`.
        significance: Per run id, :func:`significance_lines`.
        ranks: :func:`rank_vs_mteb` over all models.
        rank_sentence: :func:`rank_agreement`.
        assumptions: (label, value) of the cost assumptions and method.
        price_sources: Rows (model, option, source, url, date, flags).
        recommendation: The recommended model's label ("" when there is nothing to pick).
        data_source: Where the MTEB results compared against come from, with their date.
        data_warning: When those results are older than 90 days, the plain warning; else "".
        cost_arithmetic: The recommended model's cost, step by step.
        backend_deltas: Per run id, :func:`lib.report.analysis.backend_delta_lines` (runtime variants
            such as ``minilm?backend=onnx`` against the same model on torch).
        alpha_sweeps: Per run id, :func:`lib.report.analysis.alpha_sweep_lines` (score-fusion hybrids
            over their fusion weight), always printed with :data:`~lib.report.analysis.ALPHA_SWEEP_WARNING`.
        runner_up: The runner-up's label ("" when none).
        reasons: Why the recommendation, why the runner-up.
        risks: Licence, stale prices, zero-shot and sample-size caveats.
        shortlist: The wizard's shortlist (mteb names).
        decision_markdown: The wizard's report section, if the user added it.
        examples: Queries where the models disagree most (query, per-model score).
        figures: Chart key → plotly figure.
    """

    title: str
    question: str
    context: str
    created: str
    metric: str
    runs: tuple[RunInfo, ...]
    models: pd.DataFrame
    metrics_tables: Mapping[str, pd.DataFrame]
    significance: Mapping[str, tuple[str, ...]]
    ranks: pd.DataFrame
    rank_sentence: str
    assumptions: tuple[tuple[str, str], ...]
    price_sources: pd.DataFrame
    recommendation: str
    runner_up: str
    reasons: tuple[str, ...]
    risks: tuple[str, ...]
    shortlist: tuple[str, ...] = ()
    decision_markdown: str = ""
    examples: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: Mapping[str, go.Figure] = field(default_factory=dict)
    data_source: str = ""
    data_warning: str = ""
    cost_arithmetic: tuple[str, ...] = ()
    backend_deltas: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    alpha_sweeps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


DEFAULT_QUESTION = "Which of these embedding models is best on our data, and what does it cost?"


def _machine(env: Mapping[str, Any]) -> str:
    libs = env.get("libraries") or {}
    return (f"{env.get('cpu_count', '?')} CPU cores, {env.get('machine', '')}, Python {env.get('python', '?')}, "
            f"torch {libs.get('torch', '?')}")


def assumption_rows(
    a: cost.CostAssumptions, speeds: Mapping[str, cost.MeasuredSpeed] | None = None
) -> tuple[tuple[str, str], ...]:
    """The cost assumptions and method as (label, text) lines for reports and pages.

    Args:
        a: The assumptions.
        speeds: The measured speeds used (CPU self-hosting), if any.

    Returns:
        (label, text) rows.
    """
    docs_text = f"{a.documents:,} documents × {a.chunks_per_document:g} chunks × {a.tokens_per_chunk} tokens"
    cpu = cost.CPU_INSTANCE
    billed = "always on" if a.gpu_always_on else "billed per use"
    if speeds:
        where = "; ".join(f"{n.split('/')[-1]}: {sp.docs_per_second:,.1f} documents/s, "
                          f"{sp.tokens_per_second:,.0f} tokens/s in run {sp.run_id} on {sp.machine}"
                          for n, sp in speeds.items())
        cpu_tp = f"measured in this app's runs ({where})"
    else:
        cpu_tp = "no run of this app measured these models on a CPU, so no CPU option"
    rows = [
        ("Corpus", docs_text),
        ("Growth", f"{a.growth_per_month:.0%} per month; full re-embed "
                   + ("never" if not a.reembed_every_months else f"every {a.reembed_every_months} months")),
        ("Queries", f"{a.queries_per_month:,} per month × {a.tokens_per_query} tokens"),
        ("API prices", "batch price" if a.use_batch_price else "standard (non-batch) price, USD per 1M tokens"),
        ("Self-hosting on a GPU", f"one {a.gpu_name} at ${a.gpu_usd_per_hour:g}/h (the articles' $1–2/h; "
                                  f"{cost.GPU_INSTANCE.name} lists ${cost.GPU_INSTANCE.usd_per_hour:g}/h), {billed}; "
                                  "throughput and batch latency from the articles' published figures by model size"),
        ("Self-hosting on a CPU", f"{a.cpu_name} at ${a.cpu_usd_per_hour:g}/h "
                                  f"(default: {cpu.name}, ${cpu.usd_per_hour:g}/h, {cpu.source}, {cpu.date}, "
                                  f"{cpu.kind}), {billed}; throughput and query latency {cpu_tp}"),
        ("Utilisation and operations", f"{a.gpu_utilization:.0%} of the measured or published throughput; "
                                       f"${a.selfhost_ops_usd_per_month:,.0f}/month engineering and operations"),
        ("Latency bound", f"an option is recommended only if its p95 query latency is at most "
                          f"{a.max_query_p95_ms:g} ms (APIs: the published p95 round trip)"),
        ("Storage", f"{a.precision}, dimensions {a.dimensions or 'native'}, index overhead ×{a.index_overhead:g}, "
                    f"{a.replicas} replica(s), ${a.storage_usd_per_gb_month:g}/GB-month"),
        ("Monthly cost", "per model, the cheapest option (API, GPU or CPU self-hosting) that meets the latency "
                         "bound, average month of year 1"),
    ]
    return tuple(rows)


def _licence(meta: Mapping[str, object] | None, kind: str = "") -> str:
    if kind == "bm25":
        return "MIT (bm25s library)"
    if kind == "openai":
        return "proprietary API"
    if not meta:
        return "unknown"
    lic = meta.get("license") or meta.get("licence")
    return str(lic) if lic and str(lic) not in ("None", "nan") else "unknown"


def _training(meta: Mapping[str, object] | None) -> list[str]:
    if not meta:
        return []
    raw = meta.get("training_datasets")
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return [raw] if raw else []
    if isinstance(raw, Mapping):
        return [str(k) for k in raw]
    if isinstance(raw, list | tuple | np.ndarray):
        return [str(x) for x in raw]
    return []


def _recommend(models: pd.DataFrame, metric: str) -> tuple[int | None, int | None, list[str]]:
    """Pick a recommendation and runner-up: the cheapest model that no other model beats.

    "Beats" uses the run's tie groups (paired tests): every model in the best group is a
    defensible choice on quality, so cost decides among them; unknown cost counts last.
    """
    if models.empty or models["mean"].isna().all():
        return None, None, []
    d = models.dropna(subset=["mean"]).copy()
    best_mean = d["mean"].max()
    top_run = d.loc[d["mean"].idxmax(), "run_id"]
    same_run = d[d["run_id"] == top_run]
    if same_run["tie_group"].notna().any():
        top = same_run[same_run["tie_group"] == 1]
    else:
        top = same_run[same_run["mean"] == best_mean]
    top = top.assign(_cost=top["usd_per_month"].fillna(math.inf) if "usd_per_month" in top else math.inf)
    top = top.sort_values(["_cost", "mean"], ascending=[True, False])
    rec = int(top.index[0])
    rest = d.drop(index=rec).sort_values("mean", ascending=False)
    runner = int(rest.index[0]) if not rest.empty else None
    reasons = []
    r = d.loc[rec]
    tied = [str(x) for x in top["label"] if x != r["label"]]
    reasons.append(f"{r['label']}: {metric} {r['mean']:.3f} (95 % CI {r['low']:.3f}–{r['high']:.3f})"
                   + (f", statistically tied with {', '.join(tied)}" if tied else
                      ", in the best group on its own (every other model is significantly worse)"))
    if pd.notna(r.get("usd_per_month", math.nan)):
        reasons.append(f"{r['label']}: about ${r['usd_per_month']:,.2f} per month under the assumptions "
                       f"({r['cost_option']})" + (" — the cheapest of the best group" if tied else ""))
    elif r["kind"] == "bm25":
        reasons.append(f"{r['label']}: no embedding cost — it runs on CPU beside the search index")
    if pd.notna(r.get("latency_p50_ms", math.nan)):
        reasons.append(f"{r['label']}: median query latency {r['latency_p50_ms']:.1f} ms on the evaluation machine")
    if runner is not None:
        u = d.loc[runner]
        line = f"Runner-up {u['label']}: {metric} {u['mean']:.3f} (95 % CI {u['low']:.3f}–{u['high']:.3f})"
        if pd.notna(u.get("usd_per_month", math.nan)):
            line += f", about ${u['usd_per_month']:,.2f} per month"
        if u["label"] in tied:
            line += "; equally good on this data — choose it if its licence, hosting or latency suit you better"
        else:
            line += "; the best of the rest"
        reasons.append(line)
    return rec, runner, reasons


def build_report(
    run_ids: Sequence[str],
    *,
    db_path: str | Path | None = None,
    shortlist: Sequence[str] = (),
    assumptions: cost.CostAssumptions | None = None,
    book: pricing.PriceBook | None = None,
    leaderboard: pd.DataFrame | None = None,
    model_meta: Mapping[str, Mapping[str, object] | None] | None = None,
    decision_markdown: str = "",
    question: str = DEFAULT_QUESTION,
    context: str = "",
    title: str = "Embedding model choice: cost and quality on our data",
    today: dt.date | None = None,
    with_figures: bool = True,
) -> Report:
    """Collect runs, shortlist and cost assumptions into a :class:`Report`.

    Args:
        run_ids: Runs to include (``done`` runs only).
        db_path: DuckDB file.
        shortlist: The wizard's shortlist (mteb names), shown as context.
        assumptions: Cost assumptions (default :class:`lib.cost.CostAssumptions`).
        book: Price book (default :func:`lib.pricing.load_prices`).
        leaderboard: The ``MTEB(eng, v2)`` summary table, or None (no rank comparison).
        model_meta: mteb name → leaderboard metadata (licence, training data), or None.
        decision_markdown: The wizard's Markdown section to include verbatim (escaped in HTML).
        question: The question answered.
        context: Who asks and why.
        title: Report title.
        today: Report date (default today).
        with_figures: Build the charts (the Markdown renderer does not need them).

    Returns:
        The report.

    Raises:
        UserError: If no run id is given, a run does not exist or is not ``done``.
    """
    from lib.charts import evaluation as charts

    if not run_ids:
        raise UserError("choose at least one evaluation run for the report")
    a = assumptions or cost.CostAssumptions()
    book = book or pricing.load_prices()
    stored = []
    for rid in dict.fromkeys(run_ids):
        s = runs.load_run(rid, db_path)
        if s.run["status"] != "done":
            raise UserError(f"run {rid} is {s.run['status']}, not done; only finished runs go into a report")
        stored.append(s)
    k = int(stored[0].run["k"])
    metric = f"nDCG@{k}"
    frames, infos, tables, sig, deltas = [], [], {}, {}, {}
    alphas: dict[str, tuple[str, ...]] = {}
    latency = analysis.api_latency_figures()
    all_speeds: dict[str, cost.MeasuredSpeed] = {}
    for s in stored:
        # Self-hosting on CPU costed from this run's timings.
        speeds = analysis.measured_speeds(s, analysis.run_dataset(s))
        all_speeds.update(speeds)
        mt = analysis.model_table(s, metric)
        mt = analysis.add_costs(mt, book, a, speeds, latency)
        frames.append(mt)
        r = s.run
        infos.append(RunInfo(
            run_id=str(r["run_id"]), created=pd.Timestamp(r["created_at"]).strftime("%Y-%m-%d %H:%M UTC"),
            dataset=str(r["dataset_name"]), n_docs=int(r["n_docs"]), n_queries=int(r["n_queries"]),
            k=int(r["k"]), models=tuple(r["models"]),
            wall_time_s=float(r["wall_time_s"]) if pd.notna(r.get("wall_time_s")) else None,
            machine=_machine(r.get("environment") or {}),
            quick=quick.label(qi) if (qi := quick.info_of(r.get("config"))) is not None else "",
        ))
        tables[str(r["run_id"])] = analysis.metrics_display(s)
        sig[str(r["run_id"])] = tuple(analysis.significance_lines(s, metric))
        deltas[str(r["run_id"])] = tuple(analysis.backend_delta_lines(s, metric))
        alphas[str(r["run_id"])] = tuple(analysis.alpha_sweep_lines(s, metric))
    models = pd.concat(frames, ignore_index=True)
    if len(stored) > 1:
        dup = models["label"].duplicated(keep=False)
        models.loc[dup, "label"] = models.loc[dup, "label"] + " · " + models.loc[dup, "run_id"].str[-8:]
    meta = dict(model_meta or {})
    models["licence"] = [_licence(meta.get(n), k) for n, k in zip(models["mteb_name"], models["kind"], strict=True)]
    ranks = analysis.rank_vs_mteb(models, leaderboard)
    models["mteb_retrieval"] = ranks["mteb_retrieval"].to_numpy()
    models["mteb_position"] = ranks["mteb_position"].to_numpy()

    rec, runner, reasons = _recommend(models, metric)
    risks = _risks(models, rec, meta, leaderboard, book, infos, ranks)
    prices = models[models["cost_option"].astype(bool)][
        ["label", "cost_option", "price_source", "price_url", "price_date", "price_flags"]
    ].rename(columns={"label": "model", "cost_option": "option", "price_source": "source", "price_url": "url",
                      "price_date": "date checked", "price_flags": "flags"})
    examples = pd.DataFrame()
    first = stored[0]
    dis = analysis.disagreement(first, metric)
    if not dis.empty and len(first.models) > 1:
        qt = analysis.query_texts(analysis.run_dataset(first))
        top = dis[dis["spread"] > 0].head(5)
        examples = pd.DataFrame({
            "query_id": top["query_id"],
            "query": [qt.get(q, "") for q in top["query_id"]],
            **{display_label(str(m)): top[m].round(3) for m in first.models["model"] if m in top.columns},
            "spread": top["spread"].round(3),
        })
    figs: dict[str, go.Figure] = {}
    if with_figures:
        labels = dict(zip(models["model"], models["label"], strict=False))
        # The sweep chart shows the first run only: lines from different data would not compare.
        figs = charts.figures(models, stored[0].sweep, ranks, metric, labels)
    from lib.leaderboard import queries

    prov = queries.provenance(db_path)
    fresh = queries.freshness(prov, today) if prov is not None else None
    arith: tuple[str, ...] = ()
    if rec is not None and str(models.loc[rec, "cost_arithmetic"] or ""):
        arith = (f"{models.loc[rec, 'label']} — {models.loc[rec, 'cost_option']} "
                 f"({models.loc[rec, 'cost_why']}):", *str(models.loc[rec, "cost_arithmetic"]).splitlines())
    return Report(
        title=title, question=question, context=context, created=(today or dt.date.today()).isoformat(),
        metric=metric, runs=tuple(infos), models=models, metrics_tables=tables, significance=sig,
        ranks=ranks, rank_sentence=analysis.rank_agreement(ranks),
        assumptions=assumption_rows(a, all_speeds), price_sources=prices,
        recommendation=str(models.loc[rec, "label"]) if rec is not None else "",
        runner_up=str(models.loc[runner, "label"]) if runner is not None else "",
        reasons=tuple(reasons), risks=tuple(risks), shortlist=tuple(shortlist),
        decision_markdown=decision_markdown, examples=examples, figures=figs,
        data_source=fresh.line if fresh else "No MTEB results are loaded: the comparison with MTEB is left out.",
        data_warning=fresh.warning if fresh else "", cost_arithmetic=arith,
        backend_deltas={rid: lines for rid, lines in deltas.items() if lines},
        alpha_sweeps={rid: lines for rid, lines in alphas.items() if lines},
    )


def _risks(
    models: pd.DataFrame, rec: int | None, meta: Mapping[str, Mapping[str, object] | None],
    leaderboard: pd.DataFrame | None, book: pricing.PriceBook, infos: Sequence[RunInfo], ranks: pd.DataFrame,
) -> list[str]:
    out: list[str] = []
    if rec is not None:
        r = models.loc[rec]
        lic = r["licence"]
        if r["kind"] == "bm25":
            out.append("Licence: BM25 (bm25s) is open source (MIT); no model weights involved.")
        elif r["kind"] == "openai":
            out.append(f"Licence / hosting: {r['label']} is a proprietary API — documents and queries leave your "
                       "network, prices and model versions can change, and vectors cannot be recomputed if the "
                       "model is retired.")
        elif lic == "unknown":
            out.append(f"Licence: unknown for {r['label']} — check the model card before production use.")
        else:
            out.append(f"Licence: {r['label']} is published under {lic}; confirm it allows your use.")
    for rec_row in (models.loc[[rec]] if rec is not None else models.iloc[0:0]).itertuples(index=False):
        train = _training(meta.get(str(rec_row.mteb_name)))
        if leaderboard is not None and "Zero-shot" in leaderboard.columns:
            z = leaderboard.loc[leaderboard["Model"] == rec_row.mteb_name, "Zero-shot"]
            if not z.empty and pd.notna(z.iloc[0]):
                zs = int(z.iloc[0])
                if zs < 0:
                    out.append(f"Zero-shot: {rec_row.label}'s training data is not declared, so its MTEB scores may "
                               "include tasks it was trained on.")
                elif zs < 100:
                    out.append(f"Zero-shot: only {zs} % of MTEB(eng, v2) is zero-shot for {rec_row.label} "
                               f"(training data overlaps MTEB tasks: {', '.join(train[:5]) or 'see model card'}); "
                               "its leaderboard rank is optimistic.")
    stale = models[models["price_stale"].astype(bool)]
    for r in stale.itertuples(index=False):
        out.append(f"Stale price: {r.label} — {r.price_flags}; source {r.price_source}. Re-check before deciding.")
    conflict = models[models["price_conflict"].astype(bool)]
    for r in conflict.itertuples(index=False):
        out.append(f"Conflicting prices: published sources disagree for {r.label}.")
    if "truncated_docs_share" in models.columns:
        for r in models[models["truncated_docs_share"].fillna(0).astype(float) >= 0.05].itertuples(index=False):
            out.append(f"Truncation: at its input limit {r.label} cuts off {r.truncation_detail} — text past the "
                       "limit is never searched; evaluate the model chunked too (spec option ?chunk=auto, each "
                       "document scored by its best chunk).")
    for i in infos:
        if i.quick:
            out.append(f"Quick estimate: run {i.run_id} — {i.quick}. {quick.CAVEAT}: confirm the decision with a "
                       "full run.")
    small = [i for i in infos if i.n_queries < 100]
    if small:
        out.append("Small sample: " + ", ".join(f"{i.dataset} has {i.n_queries} queries" for i in small)
                   + " — confidence intervals are wide; differences inside them are not evidence.")
    out.append("Zero-shot caveat: results hold for this data only; a different document mix, language or query "
               "style can change the order (see the rank comparison with MTEB).")
    out.append("Latency was measured on the evaluation machine (" + (infos[0].machine if infos else "?")
               + "); production hardware and batching will differ.")
    if ranks["mteb_rank"].notna().sum() >= 2 and (ranks["mteb_rank"] != ranks["your_rank"]).any():
        out.append("Leaderboard vs your data: MTEB's retrieval order did not hold here — do not extrapolate from "
                   "leaderboard scores to models you have not tested on your data.")
    return out


# --------------------------------------------------------------------------- rendering


def _md_table(df: pd.DataFrame, floats: int = 3) -> str:
    if df.empty:
        return "_none_\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(md_text(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if v is pd.NA:
                cells.append("")
            elif isinstance(v, float):
                cells.append("" if math.isnan(v) else f"{v:.{floats}f}")
            else:
                cells.append(md_text("" if v is None or (not isinstance(v, str) and pd.isna(v)) else v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _runs_frame(rep: Report) -> pd.DataFrame:
    frame = pd.DataFrame([{
        "Run": i.run_id, "Date": i.created, "Dataset": i.dataset, "Documents": i.n_docs, "Queries": i.n_queries,
        "k": i.k, "Models": ", ".join(i.models), "Wall time (s)": number(i.wall_time_s, "{:.1f}"),
        "Machine": i.machine, "Quick estimate": i.quick,
    } for i in rep.runs])
    return frame if any(i.quick for i in rep.runs) else frame.drop(columns=["Quick estimate"], errors="ignore")


def _results_frame(rep: Report) -> pd.DataFrame:
    m = rep.models
    return pd.DataFrame({
        "Model": m["label"],
        rep.metric: m["mean"],
        "95 % CI": [f"{lo:.3f}–{hi:.3f}" for lo, hi in zip(m["low"], m["high"], strict=True)],
        "Group": [int(g) if g is not None and pd.notna(g) else None for g in m["tie_group"]],
        "Latency p50 (ms)": [number(v, "{:,.1f}") for v in m["latency_p50_ms"]],
        "Cut off at input limit": m["truncation"] if "truncation" in m.columns else "n/a",
        "USD / month": [number(v, "${:,.2f}") for v in m["usd_per_month"]],
        "Option": m["cost_option"],
        "MTEB retrieval": m["mteb_retrieval"].astype(float).round(3),
        "Licence": m["licence"],
        "Run": m["run_id"],
    })


def to_markdown(rep: Report) -> str:
    """Render the report as Markdown (tables, no charts; user text escaped).

    Args:
        rep: The report.

    Returns:
        Markdown text.
    """
    out = [f"# {md_text(rep.title)}", "", f"_Written {rep.created} with the Embedding Model Selection app._", ""]
    out += [f"_{md_text(rep.data_source)}_", ""]
    out += [f"**{md_text(rep.data_warning)}**", ""] if rep.data_warning else []
    out += ["## Question and context", "", f"**Question:** {md_text(rep.question)}", ""]
    if rep.context:
        out += [md_text(rep.context), ""]
    if rep.shortlist:
        out += ["**Shortlist (decision wizard):** " + ", ".join(f"`{md_text(s)}`" for s in rep.shortlist), ""]
    out += ["## Recommendation", ""]
    if rep.recommendation:
        out += [f"**Recommended: {md_text(rep.recommendation)}**"
                + (f" · runner-up: **{md_text(rep.runner_up)}**" if rep.runner_up else ""), ""]
        out += [f"- {md_text(r)}" for r in rep.reasons] + [""]
        if rep.cost_arithmetic:
            out += ["**How its cost is computed:** " + md_text(rep.cost_arithmetic[0]), ""]
            out += [f"1. {md_text(x)}" for x in rep.cost_arithmetic[1:]] + [""]
    else:
        out += ["No finished results to recommend from.", ""]
    out += ["## Evaluation runs", ""]
    out.append(_md_table(_runs_frame(rep)))
    out += ["## Results", "", f"Headline metric **{rep.metric}**, mean over queries with a 95 % bootstrap confidence "
            "interval. Models in the same *group* cannot be separated by a paired test at α = 0.05 (group 1 = best).",
            ""]
    out += [f"**Quick estimate — run {md_text(i.run_id)}:** {md_text(i.quick)}. {md_text(quick.CAVEAT)}."
            for i in rep.runs if i.quick] + ([""] if any(i.quick for i in rep.runs) else [])
    out.append(_md_table(_results_frame(rep)))
    for rid, table in rep.metrics_tables.items():
        out += [f"### All headline metrics — run {md_text(rid)}", ""]
        out.append(_md_table(table.drop(columns=["Spec"], errors="ignore")))
        lines = rep.significance.get(rid, ())
        if lines:
            out += ["Paired comparisons:", ""] + [f"- {md_text(x)}" for x in lines] + [""]
        runtime = rep.backend_deltas.get(rid, ())
        if runtime:
            out += ["Runtime variants against the same model on torch (paired test on the same queries):", ""]
            out += [f"- {md_text(x)}" for x in runtime] + [""]
        swept = rep.alpha_sweeps.get(rid, ())
        if swept:
            out += ["Fusion weight α swept on these queries:", ""] + [f"- {md_text(x)}" for x in swept]
            out += ["", f"**Caution:** {md_text(analysis.ALPHA_SWEEP_WARNING)}", ""]
    out += ["## Your data vs MTEB", "", md_text(rep.rank_sentence), ""]
    ranks = rep.ranks.rename(columns={"label": "Model", "mean": rep.metric, "your_rank": "Rank on your data",
                                      "mteb_retrieval": "MTEB(eng, v2) Retrieval", "mteb_rank": "Rank on MTEB",
                                      "mteb_position": "Position among all MTEB models"})
    out.append(_md_table(ranks.drop(columns=["mteb_name"])))
    if not rep.examples.empty:
        out += ["## Where the models disagree", "", "Queries with the largest spread in per-query "
                f"{rep.metric} between models:", ""]
        out.append(_md_table(rep.examples))
    out += ["## Cost assumptions", ""] + [f"- **{md_text(k)}:** {md_text(v)}" for k, v in rep.assumptions] + [""]
    out += ["## Price sources", ""]
    out.append(_md_table(rep.price_sources))
    out += ["## Risks and caveats", ""] + [f"- {md_text(r)}" for r in rep.risks] + [""]
    if rep.decision_markdown:
        # The wizard's section is our own Markdown (built from data, not typed by users).
        out += ["---", "", rep.decision_markdown.strip(), ""]
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;
color:#0f172a;line-height:1.5}
h1{font-size:1.8rem;margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #e2e8f0;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.6rem 0 1.2rem;font-size:.9rem;width:100%}
th,td{border:1px solid #e2e8f0;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f8fafc}td.num{text-align:right;font-variant-numeric:tabular-nums}
.rec{background:#eff6ff;border-left:4px solid #2563eb;padding:.8rem 1rem;margin:1rem 0}
.muted{color:#64748b;font-size:.9rem}.risk li{margin:.3rem 0}.chart{margin:1rem 0}
"""


def _html_table(df: pd.DataFrame, floats: int = 3) -> str:
    if df.empty:
        return "<p class='muted'>none</p>"
    head = "".join(f"<th>{h(c)}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            if v is pd.NA:
                cells.append("<td></td>")
            elif isinstance(v, float | np.floating):
                cells.append("<td class='num'></td>" if math.isnan(v) else f"<td class='num'>{v:.{floats}f}</td>")
            elif isinstance(v, int | np.integer) and not isinstance(v, bool):
                cells.append(f"<td class='num'>{v}</td>")
            else:
                blank = v is None or (not isinstance(v, str) and pd.isna(v))
                cells.append(f"<td>{'' if blank else h(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _md_to_html(text: str) -> str:
    """Our own Markdown (the wizard's section) to HTML with raw HTML disabled (escaped)."""
    from markdown_it import MarkdownIt

    return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))


_CHART_TITLES = {
    "metric": "Metric by model",
    "latency": "Quality vs measured latency",
    "cost": "Quality vs monthly cost",
    "dimensions": "Quality vs dimensions and precision",
    "ranks": "Your data vs MTEB",
}


def to_html(rep: Report) -> str:
    """Render the report as one self-contained HTML file with interactive charts.

    plotly.js is embedded inline once (no CDN), so the file works offline; every piece of
    user text is escaped.

    Args:
        rep: The report (build it with ``with_figures=True``).

    Returns:
        The HTML document.
    """
    charts_html: dict[str, str] = {}
    first = True
    for key, fig in rep.figures.items():
        charts_html[key] = fig.to_html(full_html=False, include_plotlyjs=first, config={"displaylogo": False},
                                       default_width="100%")
        first = False
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{h(rep.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{h(rep.title)}</h1><p class='muted'>Written {h(rep.created)} with the Embedding Model Selection app "
        f"· runs {h(', '.join(i.run_id for i in rep.runs))}</p>",
        f"<p class='muted'>{h(rep.data_source)}</p>",
        *([f"<p><strong>{h(rep.data_warning)}</strong></p>"] if rep.data_warning else []),
        "<h2>Question and context</h2>",
        f"<p><strong>Question:</strong> {h(rep.question)}</p>",
    ]
    if rep.context:
        parts.append(f"<p>{h(rep.context)}</p>")
    if rep.shortlist:
        parts.append("<p><strong>Shortlist (decision wizard):</strong> "
                     + ", ".join(f"<code>{h(s)}</code>" for s in rep.shortlist) + "</p>")
    parts.append("<h2>Recommendation</h2>")
    if rep.recommendation:
        parts.append(f"<div class='rec'><p><strong>Recommended: {h(rep.recommendation)}</strong>"
                     + (f" · runner-up: <strong>{h(rep.runner_up)}</strong>" if rep.runner_up else "") + "</p><ul>"
                     + "".join(f"<li>{h(r)}</li>" for r in rep.reasons) + "</ul>"
                     + (f"<p><strong>How its cost is computed:</strong> {h(rep.cost_arithmetic[0])}</p><ol>"
                        + "".join(f"<li>{h(x)}</li>" for x in rep.cost_arithmetic[1:]) + "</ol>"
                        if rep.cost_arithmetic else "")
                     + "</div>")
    else:
        parts.append("<p>No finished results to recommend from.</p>")
    parts.append("<h2>Evaluation runs</h2>")
    parts.append(_html_table(_runs_frame(rep)))
    parts.append(f"<h2>Results</h2><p>Headline metric <strong>{h(rep.metric)}</strong>, mean over queries with a "
                 "95 % bootstrap confidence interval. Models in the same <em>group</em> cannot be separated by a "
                 "paired test at α = 0.05 (group 1 = best).</p>")
    parts += [f"<p class='rec'><strong>Quick estimate — run {h(i.run_id)}:</strong> {h(i.quick)}. "
              f"{h(quick.CAVEAT)}.</p>" for i in rep.runs if i.quick]
    parts.append(_html_table(_results_frame(rep)))
    for key in ("metric", "latency", "cost", "dimensions"):
        if key in charts_html:
            parts.append(f"<div class='chart' aria-label='{h(_CHART_TITLES[key])}'>{charts_html[key]}</div>")
    for rid, table in rep.metrics_tables.items():
        parts.append(f"<h3>All headline metrics — run {h(rid)}</h3>")
        parts.append(_html_table(table.drop(columns=["Spec"], errors="ignore")))
        lines = rep.significance.get(rid, ())
        if lines:
            parts.append("<p>Paired comparisons:</p><ul>" + "".join(f"<li>{h(x)}</li>" for x in lines) + "</ul>")
        runtime = rep.backend_deltas.get(rid, ())
        if runtime:
            parts.append("<p>Runtime variants against the same model on torch (paired test on the same queries):</p>"
                         "<ul>" + "".join(f"<li>{h(x)}</li>" for x in runtime) + "</ul>")
        swept = rep.alpha_sweeps.get(rid, ())
        if swept:
            parts.append("<p>Fusion weight α swept on these queries:</p><ul>"
                         + "".join(f"<li>{h(x)}</li>" for x in swept) + "</ul>"
                         f"<p class='risk'><strong>Caution:</strong> {h(analysis.ALPHA_SWEEP_WARNING)}</p>")
    parts.append(f"<h2>Your data vs MTEB</h2><p>{h(rep.rank_sentence)}</p>")
    if "ranks" in charts_html:
        parts.append(f"<div class='chart'>{charts_html['ranks']}</div>")
    ranks = rep.ranks.rename(columns={"label": "Model", "mean": rep.metric, "your_rank": "Rank on your data",
                                      "mteb_retrieval": "MTEB(eng, v2) Retrieval", "mteb_rank": "Rank on MTEB",
                                      "mteb_position": "Position among all MTEB models"})
    parts.append(_html_table(ranks.drop(columns=["mteb_name"])))
    if not rep.examples.empty:
        parts.append(f"<h2>Where the models disagree</h2><p>Queries with the largest spread in per-query "
                     f"{h(rep.metric)}:</p>")
        parts.append(_html_table(rep.examples))
    parts.append("<h2>Cost assumptions</h2><ul>"
                 + "".join(f"<li><strong>{h(k)}:</strong> {h(v)}</li>" for k, v in rep.assumptions) + "</ul>")
    parts.append("<h2>Price sources</h2>")
    parts.append(_html_table(rep.price_sources))
    parts.append("<h2>Risks and caveats</h2><ul class='risk'>" + "".join(f"<li>{h(r)}</li>" for r in rep.risks)
                 + "</ul>")
    if rep.decision_markdown:
        parts.append("<hr>" + _md_to_html(rep.decision_markdown))
    parts.append("</body></html>")
    return "\n".join(parts)
