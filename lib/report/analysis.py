"""Analysis of stored evaluation runs (used by the Evaluate, Runs and Report pages and the CLI).

:func:`model_table` (one row per model: metric with CI, tie group, latency, size, what its input
limit cuts off), :func:`truncation_caption`, :func:`metrics_display`, :func:`significance_lines`,
:func:`rank_vs_mteb` ("your data vs MTEB"), :func:`add_costs` (monthly cost from :mod:`lib.cost`),
:func:`measured_speeds` / :func:`latest_speeds` (self-hosting speeds measured by runs), :func:`run_dataset` (the texts
behind a run, for the drill-down), :func:`disagreement` and :func:`drilldown` (per-query
view), :func:`compare_runs` (what changed between two runs), :func:`backend_deltas` (an
ONNX / OpenVINO / int8 variant against the same model on torch, from the run's paired tests).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lib import cost, pricing, store
from lib.errors import UserError
from lib.evaluation import chunking, fusion, quick, runs
from lib.evaluation.datasets import Dataset, DatasetError, load_dataset
from lib.evaluation.metrics import paired_comparison
from lib.evaluation.models import display_label, hybrid, mteb_name, parse_spec
from lib.evaluation.models.hybrid import is_hybrid

#: The benchmark whose Retrieval mean stands for "the leaderboard" in rank comparisons.
MTEB_BENCHMARK = "MTEB(eng, v2)"
#: Characters per token for the rough token estimate of a corpus (English text, BPE).
CHARS_PER_TOKEN = 4.0


# --------------------------------------------------------------------------- tables


def model_table(stored: runs.StoredRun, metric: str) -> pd.DataFrame:
    """One row per model of a run: the metric with CI and tie group, and cost of use.

    Args:
        stored: A loaded run.
        metric: E.g. ``nDCG@10``.

    Returns:
        Columns ``model`` (spec), ``label``, ``kind``, ``name``, ``mteb_name``, ``mean``,
        ``low``, ``high``, ``tie_group``, ``dim``, ``latency_p50_ms``, ``latency_p95_ms``,
        ``docs_per_s``, ``index_bytes``, ``api_cost_usd``, ``truncated_docs_share``,
        ``truncated_tokens_share``, ``n_chunks``, ``truncation`` (the two shares in words, or
        ``n/a``), ``truncation_detail`` (with limit, document lengths, chunks), ``run_id``; run order.
    """
    summ = stored.summary[stored.summary["metric"] == metric].set_index("model")
    rows = []
    for m in stored.models.itertuples(index=False):
        s = summ.loc[m.model] if m.model in summ.index else None
        cut = chunking.from_row(m._asdict())
        rows.append(
            {
                "model": m.model,
                "label": display_label(str(m.model)),
                "kind": m.kind,
                "name": m.name,
                "mteb_name": mteb_name(str(m.kind), str(m.name)),
                "mean": float(s["mean"]) if s is not None else math.nan,
                "low": float(s["ci_low"]) if s is not None else math.nan,
                "high": float(s["ci_high"]) if s is not None else math.nan,
                "tie_group": s["tie_group"] if s is not None and pd.notna(s["tie_group"]) else None,
                "dim": m.dim if pd.notna(m.dim) else None,
                "latency_p50_ms": m.latency_p50_ms,
                "latency_p95_ms": m.latency_p95_ms,
                "docs_per_s": m.docs_per_s,
                "index_bytes": m.index_bytes,
                "api_cost_usd": m.api_cost_usd,
                "truncated_docs_share": cut.truncated_docs_share,
                "truncated_tokens_share": cut.truncated_tokens_share,
                "n_chunks": cut.n_chunks,
                "truncation": chunking.describe(cut, detail=False) if cut.known else "n/a",
                "truncation_detail": chunking.describe(cut),
                "pipeline": _pipeline_parts(str(m.kind), getattr(m, "identity", None)),
                "run_id": stored.run["run_id"],
            }
        )
    return pd.DataFrame(rows)


def _pipeline_parts(kind: str, identity: object) -> dict[str, Any] | None:
    """A hybrid's or reranked system's parts, for costing it as its parts (None: a plain model).

    Returns:
        ``{"parts": [(mteb name, kind), …], "rerank": {…} | None}``: the embedding/BM25 parts
        (a reranked system's first stage, itself possibly a hybrid) and the second stage's measured
        figures. None for a plain model, or a run stored before the parts were recorded.
    """
    if kind not in ("hybrid", "rerank") or not isinstance(identity, str):
        return None
    try:
        opts = json.loads(identity).get("options") or {}
    except (ValueError, AttributeError):
        return None

    def parts_of(prefix: str) -> list[tuple[str, str]] | None:
        names, kinds = opts.get(f"{prefix}component_mteb_names"), opts.get(f"{prefix}component_kinds")
        if not names or not kinds:
            return None
        return list(zip(json.loads(names), json.loads(kinds), strict=True))

    if kind == "hybrid":
        parts = parts_of("")
        return {"parts": parts, "rerank": None} if parts else None
    first_kind = str(opts.get("first_stage_kind", ""))
    if first_kind == "hybrid":
        parts = parts_of("first_stage_")
        if not parts:
            return None
    else:
        parts = [(mteb_name(first_kind, str(opts.get("first_stage_name", ""))), first_kind)]

    def num(key: str) -> float | None:
        try:
            return float(opts[key]) if key in opts else None
        except (TypeError, ValueError):
            return None

    second = {"reranker": str(opts.get("reranker", "")), "api": opts.get("reranker_kind") == "rerank-api",
              "p95_ms": num("rerank_p95_ms"), "seconds_per_query": num("rerank_s_per_query"),
              "tokens_per_query": num("rerank_tokens_per_query"), "price_per_mtok": num("reranker_price_per_mtok")}
    return {"parts": parts, "rerank": second}


def truncation_caption(stored: runs.StoredRun) -> str | None:
    """One line on what each model's input limit cuts off, counted with its own tokenizer.

    Args:
        stored: A loaded run.

    Returns:
        E.g. ``Cut off at the model's input limit — all-MiniLM-L6-v2: 71 % of documents, 29 % of
        tokens (limit 256 tokens; …) · BM25: n/a: BM25 reads whole documents …``; None for a run
        stored before this was measured.
    """
    cuts = [(str(m["model"]), chunking.from_row(m)) for m in stored.models.to_dict(orient="records")]
    if not any(t.truncation_note for _, t in cuts):
        return None
    return "Cut off at the model's input limit — " + " · ".join(
        f"{display_label(spec)}: {chunking.describe(t)}" for spec, t in cuts) + "."


def headline_metrics(k: int) -> list[str]:
    """The metrics shown first for a run with cut-off ``k`` (engine names)."""
    out = [f"nDCG@{k}", f"Recall@{k}", "MRR@10"]
    return list(dict.fromkeys(out))


def metrics_display(stored: runs.StoredRun, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """The metrics table for people: mean, 95 % CI as text, tie group of the headline metric.

    Args:
        stored: A loaded run.
        metrics: Metrics to show (default :func:`headline_metrics` plus Recall@100).

    Returns:
        One row per model (``Model`` column first), numeric means, ``<metric> 95 % CI``
        strings and ``Group`` (1 = best; models sharing a group are statistically tied).
    """
    k = int(stored.run["k"])
    wanted = list(metrics or [*headline_metrics(k), "Recall@100"])
    have = set(stored.summary["metric"])
    wanted = [m for m in wanted if m in have]
    wide = stored.summary_table(wanted)
    head = wanted[0] if wanted else None
    groups = (
        stored.summary[stored.summary["metric"] == head].set_index("model")["tie_group"]
        if head else pd.Series(dtype=float)
    )
    rows = []
    for model, r in wide.iterrows():
        row: dict[str, Any] = {"Model": display_label(str(model)), "Spec": model}
        for m in wanted:
            row[m] = r.get(m)
            row[f"{m} 95 % CI"] = f"{r.get(f'{m} low'):.3f} – {r.get(f'{m} high'):.3f}"
        g = groups.get(model)
        row["Group"] = int(g) if g is not None and pd.notna(g) else None
        rows.append(row)
    out = pd.DataFrame(rows)
    if head and not out.empty:
        out = out.sort_values(head, ascending=False).reset_index(drop=True)
    return out


def significance_lines(stored: runs.StoredRun, metric: str) -> list[str]:
    """Plain-language lines for the paired tests of one metric.

    Args:
        stored: A loaded run.
        metric: The metric.

    Returns:
        E.g. ``"minilm beats bm25 by 0.203 (95 % CI 0.097 to 0.312, p = 0.0006)"``.
    """
    out = []
    p = stored.pairs[stored.pairs["metric"] == metric]
    for r in p.itertuples(index=False):
        a, b = display_label(str(r.model_a)), display_label(str(r.model_b))
        if r.mean_diff < 0:
            a, b = b, a
        diff, lo, hi = r.mean_diff, r.ci_low, r.ci_high
        if r.mean_diff < 0:  # state it as "winner vs loser": flip the difference and its CI
            diff, lo, hi = -r.mean_diff, -r.ci_high, -r.ci_low
        verdict = "beats" if r.p_value < 0.05 else "is not distinguishable from"
        out.append(f"{a} {verdict} {b}: difference {diff:.3f} (95 % CI {lo:.3f} to {hi:.3f}, p = {r.p_value:.4f})")
    return out


# --------------------------------------------------------------------------- MTEB ranks


def rank_vs_mteb(models: pd.DataFrame, leaderboard: pd.DataFrame | None) -> pd.DataFrame:
    """Each model's rank on your data beside its rank on MTEB retrieval.

    Args:
        models: :func:`model_table` rows (``label``, ``mteb_name``, ``mean``).
        leaderboard: The ``MTEB(eng, v2)`` summary table (``Model``, ``Retrieval``), or None.

    Returns:
        ``label``, ``mteb_name``, ``mean``, ``your_rank`` (1 = best, ties share),
        ``mteb_retrieval`` (0–1 or NaN), ``mteb_rank`` (rank among these models with a
        score), ``mteb_position`` (position among all models with a Retrieval score).
    """
    d = models[["label", "mteb_name", "mean"]].copy()
    d["your_rank"] = d["mean"].rank(ascending=False, method="min")
    d["mteb_retrieval"] = math.nan
    d["mteb_position"] = math.nan
    if leaderboard is not None and not leaderboard.empty and "Retrieval" in leaderboard.columns:
        lb = leaderboard.dropna(subset=["Retrieval"]).drop_duplicates("Model")
        lb = lb.assign(position=lb["Retrieval"].rank(ascending=False, method="min"))
        by_name = lb.set_index("Model")
        d["mteb_retrieval"] = [
            float(by_name.at[n, "Retrieval"]) if n in by_name.index else math.nan for n in d["mteb_name"]
        ]
        d["mteb_position"] = [
            float(by_name.at[n, "position"]) if n in by_name.index else math.nan for n in d["mteb_name"]
        ]
    d["mteb_rank"] = d["mteb_retrieval"].rank(ascending=False, method="min")
    # Rank on your data among the same models that MTEB ranks, so the two columns compare.
    scored = d["mteb_retrieval"].notna()
    if scored.sum() >= 2:
        d.loc[scored, "your_rank"] = d.loc[scored, "mean"].rank(ascending=False, method="min")
    for c in ("your_rank", "mteb_rank", "mteb_position"):
        d[c] = d[c].round().astype("Int64")
    return d


def rank_agreement(ranks: pd.DataFrame) -> str:
    """One sentence on whether MTEB's order predicted the order on your data."""
    d = ranks.dropna(subset=["mteb_rank"])
    if len(d) < 2:
        return "MTEB has a Retrieval score for fewer than two of these models, so the orders cannot be compared."
    moved = d[d["mteb_rank"] != d["your_rank"]]
    if moved.empty:
        return "On this data the models come out in the same order as on MTEB retrieval."
    parts = [f"{r.label} #{int(r.mteb_rank)} → #{int(r.your_rank)}" for r in moved.itertuples(index=False)]
    return ("The order on your data differs from MTEB retrieval (" + "; ".join(parts)
            + "): leaderboard averages do not predict your domain — which is why you test on your own data.")


# --------------------------------------------------------------------------- costs


def assumptions_from(value: object) -> cost.CostAssumptions:
    """The cost page's assumptions if present and valid, else the defaults."""
    return value if isinstance(value, cost.CostAssumptions) else cost.CostAssumptions()


def api_latency_figures() -> dict[str, tuple[float, float]]:
    """Published API p95 round trips (low, high) per mteb name, from the decision tree data."""
    from lib.decision.tree import load_tree

    return dict(load_tree().api_latency_p95_ms)


def add_costs(
    models: pd.DataFrame,
    book: pricing.PriceBook,
    assumptions: cost.CostAssumptions,
    speeds: Mapping[str, cost.MeasuredSpeed] | None = None,
    api_latency: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Add each model's cheapest option that meets the p95 latency bound, with its arithmetic.

    Options per model: its API (published price and p95), self-hosting on one GPU (the
    articles' published throughput and batch latency), and self-hosting on a CPU instance where
    one of this app's runs measured the model on a CPU (documents/s and query p95 from the run).

    Args:
        models: :func:`model_table` rows.
        book: Loaded prices (with the user's overrides).
        assumptions: Cost assumptions (volumes, instance prices, the p95 bound, storage).
        speeds: Measured speed per mteb name (:func:`measured_speeds`).
        api_latency: Published API p95 per mteb name (default :func:`api_latency_figures`).

    Returns:
        ``models`` plus ``usd_per_month``, ``cost_option``, ``price_source``, ``price_url``,
        ``price_date``, ``price_flags`` (marks for display) with ``price_stale`` / ``price_conflict``
        (the same as booleans), ``cost_note`` (why a model has no cost), ``cost_why``,
        ``cost_measured`` (throughput from a run), ``query_p95_ms_option``, ``meets_latency`` and
        ``cost_arithmetic`` (the steps, one per line). BM25 has no embedding cost in the cost
        model and stays unpriced.
    """
    out = models.copy()
    api_latency = api_latency_figures() if api_latency is None else api_latency
    cols: dict[str, list[Any]] = {c: [] for c in _COST_COLUMNS}
    for r in models.itertuples(index=False):
        pipe = getattr(r, "pipeline", None)
        if isinstance(pipe, dict):
            row = _pipeline_cost(pipe, book, assumptions, speeds, api_latency)
        else:
            row = _model_cost(str(r.mteb_name), str(r.kind), book, assumptions, speeds, api_latency)
        for c in cols:
            cols[c].append(row[c])
    for c, v in cols.items():
        out[c] = v
    return out


_COST_COLUMNS = ("usd_per_month", "cost_option", "price_source", "price_url", "price_date", "price_flags",
                 "price_stale", "price_conflict", "cost_note", "cost_why", "cost_measured", "query_p95_ms_option",
                 "meets_latency", "cost_arithmetic")


def _unpriced(note: str) -> dict[str, Any]:
    nan_cols = ("usd_per_month", "query_p95_ms_option")
    row: dict[str, Any] = {c: (math.nan if c in nan_cols else "") for c in _COST_COLUMNS}
    row.update(price_stale=False, price_conflict=False, cost_note=note, cost_measured=False, meets_latency=None)
    return row


def _model_cost(name: str, kind: str, book: pricing.PriceBook, assumptions: cost.CostAssumptions,
                speeds: Mapping[str, cost.MeasuredSpeed] | None,
                api_latency: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """One model's cheapest option meeting the latency bound, as :func:`add_costs` columns."""
    key = pricing.resolve_model_name(name, book.effective)
    est = pd.DataFrame()
    if key is not None:
        sp = {key: speeds[name]} if speeds and name in speeds else None
        est = cost.estimate_models([key], book.effective, assumptions, speeds=sp, api_latency=api_latency)
    best, why = cost.cheapest_meeting_latency(est)
    if best is None:
        return _unpriced("BM25 runs on CPU next to the search index: no embedding cost in the cost model"
                         if kind == "bm25" else "no price or self-host data for this model")
    rec = book.effective[str(key)]
    api = best["deployment"] == "api"
    p95 = best["query_p95_ms"]
    return {
        "usd_per_month": float(best["usd_per_month"]), "cost_option": str(best["option"]),
        "price_source": str(best["price_source"]) if api else f"self-host: {best['price_source']}",
        "price_url": rec.source_url if api else "", "price_date": rec.date_checked.isoformat() if api else "",
        "price_flags": str(best["price_flags"]), "price_stale": bool(best["price_stale"]),
        "price_conflict": bool(best["price_conflict"]), "cost_note": str(best["notes"]), "cost_why": why,
        "cost_measured": bool(best["throughput_measured"]),
        "query_p95_ms_option": float(p95) if p95 is not None and pd.notna(p95) else math.nan,
        "meets_latency": best["meets_latency"], "cost_arithmetic": "\n".join(cost.arithmetic(best, assumptions)),
    }


def _pipeline_cost(pipe: Mapping[str, Any], book: pricing.PriceBook, assumptions: cost.CostAssumptions,
                   speeds: Mapping[str, cost.MeasuredSpeed] | None,
                   api_latency: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """A hybrid or reranked system costed as its parts.

    Each embedding part at its cheapest option, summed, plus the reranking second stage;
    latencies add up (the parts run one after the other).
    """
    dense = [(n, k) for n, k in pipe["parts"] if k != "bm25"]
    rows = [(n, _model_cost(n, k, book, assumptions, speeds, api_latency)) for n, k in dense]
    missing = [n for n, r in rows if math.isnan(r["usd_per_month"])]
    if missing:
        return _unpriced(f"not priced: no price or self-host data for its part {', '.join(missing)}")
    lexical = len(dense) < len(pipe["parts"])
    second = pipe.get("rerank")
    rerank_usd, rerank_line = (None, "")
    if second is not None:
        rerank_usd, rerank_line = cost.rerank_usd_per_month(
            assumptions, api=bool(second["api"]), seconds_per_query=second["seconds_per_query"],
            tokens_per_query=second["tokens_per_query"], price_per_mtok=second["price_per_mtok"])
    usd = sum(float(r["usd_per_month"]) for _, r in rows) + (rerank_usd or 0.0)
    p95s = [r["query_p95_ms_option"] for _, r in rows]
    if second is not None:
        p95s.append(second["p95_ms"] if second["p95_ms"] is not None else math.nan)
    p95 = math.nan if any(math.isnan(float(x)) for x in p95s) else float(sum(p95s))
    options = [f"{n.split('/')[-1]}: {r['cost_option']}" for n, r in rows]
    if lexical:
        options.append("BM25: on the search index's CPU (no embedding cost)")
    if second is not None:
        options.append(f"rerank by {second['reranker']}: " + (f"${rerank_usd:,.2f}/month" if rerank_usd is not None
                                                             else "not priced"))
    notes = [str(r["cost_note"]) for _, r in rows if r["cost_note"]]
    if second is not None and rerank_usd is None:
        notes.append("the reranker is not priced: the total excludes it")
    arithmetic = []
    for n, r in rows:
        arithmetic.append(f"[{n}]")
        arithmetic += str(r["cost_arithmetic"]).splitlines()
    if rerank_line:
        arithmetic.append(rerank_line)
    arithmetic.append(f"System total (sum of its parts): ${usd:,.2f}/month" + ("" if rerank_usd is not None
                                                                               or second is None
                                                                               else ", reranker not included"))
    if not math.isnan(p95):
        verdict = "meets" if p95 <= assumptions.max_query_p95_ms else "misses"
        arithmetic.append(f"System query latency: p95 ≤ {p95:,.1f} ms (its stages one after the other) — {verdict} "
                          f"the bound p95 ≤ {assumptions.max_query_p95_ms:g} ms")
    return {
        "usd_per_month": usd, "cost_option": " + ".join(options),
        "price_source": "; ".join(str(r["price_source"]) for _, r in rows),
        "price_url": " ".join(str(r["price_url"]) for _, r in rows if r["price_url"]),
        "price_date": min((str(r["price_date"]) for _, r in rows if r["price_date"]), default=""),
        "price_flags": " ".join(str(r["price_flags"]) for _, r in rows if r["price_flags"]),
        "price_stale": any(bool(r["price_stale"]) for _, r in rows),
        "price_conflict": any(bool(r["price_conflict"]) for _, r in rows),
        "cost_note": "; ".join(notes), "cost_why": "sum of its parts, each at its cheapest option that meets the bound",
        "cost_measured": all(bool(r["cost_measured"]) for _, r in rows),
        "query_p95_ms_option": p95,
        "meets_latency": None if math.isnan(p95) else bool(p95 <= assumptions.max_query_p95_ms),
        "cost_arithmetic": "\n".join(arithmetic),
    }


def _machine_words(env: Mapping[str, Any]) -> str:
    device = str(env.get("device") or "cpu")
    where = f"{env.get('cpu_count', '?')} CPU cores ({env.get('machine', '?')}, {env.get('platform', '?')})"
    threads = f", torch on {env['torch_threads']} threads" if env.get("torch_threads") else ""
    return (f"{device}: " if device.startswith("cuda") else "") + where + threads


def _tokens_per_document(dataset: Dataset | None) -> float | None:
    if dataset is None or not dataset.doc_texts:
        return None
    return sum(len(t) for t in dataset.doc_texts) / len(dataset.doc_texts) / CHARS_PER_TOKEN


def _speed(name: str, run_id: str, created: object, env: Mapping[str, Any], docs_per_s: float,
           p95: object, tokens_per_doc: float) -> cost.MeasuredSpeed:
    return cost.MeasuredSpeed(
        model=name, run_id=run_id, measured_at=pd.Timestamp(created).strftime("%Y-%m-%d"),
        docs_per_second=float(docs_per_s), tokens_per_document=tokens_per_doc,
        tokens_basis=f"≈ characters ÷ {CHARS_PER_TOKEN:g} on its corpus",
        query_p95_ms=float(p95) if p95 is not None and pd.notna(p95) else None,  # type: ignore[arg-type]
        device=str(env.get("device") or "cpu"), machine=_machine_words(env),
    )


def measured_speeds(stored: runs.StoredRun, dataset: Dataset | None) -> dict[str, cost.MeasuredSpeed]:
    """This run's measured speed of each local dense model, for costing self-hosting.

    Documents/s and the p95 query latency come from the run; tokens per document from the
    run's corpus (characters ÷ :data:`CHARS_PER_TOKEN`), which needs its dataset.

    Args:
        stored: A loaded run.
        dataset: The run's dataset (for tokens per document), or None.

    Returns:
        mteb name → measured speed, for models the run encoded locally (not APIs, not BM25).
    """
    tpd = _tokens_per_document(dataset)
    if tpd is None:
        return {}
    env = stored.run.get("environment") or {}
    out = {}
    rows = list(stored.models.itertuples(index=False))
    # A model's own speed is its unchunked row's when the run has one (chunked rows count chunk overhead):
    # later rows overwrite earlier ones, so chunked rows go first.
    rows.sort(key=lambda m: pd.notna(getattr(m, "chunk_tokens", None)), reverse=True)
    for m in rows:
        if m.kind in ("openai", "bm25") or not m.docs_per_s or pd.isna(m.docs_per_s):
            continue
        name = mteb_name(str(m.kind), str(m.name))
        out[name] = _speed(name, str(stored.run["run_id"]), stored.run["created_at"], env, float(m.docs_per_s),
                           m.latency_p95_ms, tpd)
    return out


def runs_version(db_path: str | Path | None = None) -> str:
    """A token that changes whenever a run finishes or is deleted (for caches of run-derived facts)."""
    with store.connect(db_path) as cur:
        row = cur.execute("SELECT count(*), max(finished_at) FROM eval_runs WHERE status = 'done'").fetchone()
    return f"{row[0]}:{row[1]}" if row else "0"


def latest_speeds(db_path: str | Path | None = None) -> dict[str, cost.MeasuredSpeed]:
    """The newest measured speed of each locally encoded model over this app's finished runs.

    Args:
        db_path: DuckDB file.

    Returns:
        mteb name → the newest run's measurement (runs whose dataset is gone or changed are
        skipped: their tokens per document cannot be known).
    """
    with store.connect(db_path) as cur:
        rows = cur.execute(
            """
            SELECT r.run_id, r.created_at, r.environment, r.dataset_source, r.dataset_split,
                   r.dataset_fingerprint, m.kind, m.name, m.docs_per_s, m.latency_p95_ms
            FROM eval_runs r JOIN eval_run_models m USING (run_id)
            WHERE r.status = 'done' AND m.kind NOT IN ('openai', 'bm25') AND m.docs_per_s > 0
            ORDER BY r.created_at DESC, m.chunk_tokens IS NOT NULL, m.position
            """
        ).fetchall()
    out: dict[str, cost.MeasuredSpeed] = {}
    tokens: dict[str, float | None] = {}
    for run_id, created, env_json, source, split, fingerprint, kind, name, dps, p95 in rows:
        key = mteb_name(str(kind), str(name))
        if key in out:
            continue
        if run_id not in tokens:
            ds = None
            if source and Path(source).exists():
                try:
                    ds = load_dataset(source, split=str(split or "test"))
                except (DatasetError, UserError, OSError):
                    ds = None
            tokens[run_id] = _tokens_per_document(ds) if ds is not None and ds.fingerprint == fingerprint else None
        tpd = tokens[run_id]
        if tpd is not None:
            out[key] = _speed(key, str(run_id), created, json.loads(env_json or "{}"), float(dps), p95, tpd)
    return out


# --------------------------------------------------------------------------- per query


def run_dataset(stored: runs.StoredRun) -> Dataset | None:
    """The dataset a run was computed on, re-read from its source if it is unchanged.

    Args:
        stored: A loaded run.

    Returns:
        The dataset, or None when the source is gone or its content changed (then the
        drill-down can show ids only). For a quick estimate, the full dataset it was reduced from.
    """
    source = str(stored.run.get("dataset_source") or "")
    if not source or not Path(source).exists():
        return None
    try:
        ds = load_dataset(source, split=str(stored.run.get("dataset_split") or "test"))
    except (DatasetError, UserError, OSError):
        return None
    # A quick estimate ran on part of the corpus: its source holds the whole, a superset of its texts.
    info = quick.info_of(stored.run.get("config"))
    expected = info.original_fingerprint if info is not None and info.depth else stored.run.get("dataset_fingerprint")
    return ds if ds.fingerprint == expected else None


def disagreement(stored: runs.StoredRun, metric: str) -> pd.DataFrame:
    """Per query: every model's score, how much they disagree, and who fails.

    Args:
        stored: A loaded run.
        metric: The metric (e.g. ``nDCG@10``).

    Returns:
        One row per query: ``query_id``, one column per model spec, ``spread``
        (max − min), ``best``/``worst`` (model specs), ``failures`` (models scoring 0),
        ``mean``. Sorted by spread, then failures (both descending).
    """
    pq = stored.per_query
    if pq.empty or metric not in pq.columns:
        return pd.DataFrame(columns=["query_id", "spread", "best", "worst", "failures", "mean"])
    wide = pq.pivot_table(index="query_id", columns="model", values=metric, aggfunc="first")
    order = [m for m in stored.models["model"] if m in wide.columns]
    wide = wide[order]
    out = wide.copy()
    out.columns = list(order)
    out["spread"] = wide.max(axis=1) - wide.min(axis=1)
    out["best"] = wide.idxmax(axis=1)
    out["worst"] = wide.idxmin(axis=1)
    out["failures"] = (wide <= 0).sum(axis=1)
    out["mean"] = wide.mean(axis=1)
    out = out.reset_index().sort_values(["spread", "failures", "query_id"], ascending=[False, False, True])
    return out.reset_index(drop=True)


def sort_queries(table: pd.DataFrame, how: str) -> pd.DataFrame:
    """Order a :func:`disagreement` table: ``disagree``, ``failures`` or ``id``."""
    if table.empty:
        return table
    if how == "failures":
        return table.sort_values(["failures", "mean", "query_id"], ascending=[False, True, True]).reset_index(drop=True)
    if how == "id":
        return table.sort_values("query_id").reset_index(drop=True)
    return table.sort_values(["spread", "failures", "query_id"], ascending=[False, False, True]).reset_index(drop=True)


@dataclass(frozen=True)
class QueryView:
    """One query with its judged documents and every model's top-k.

    Attributes:
        query_id: The id.
        text: Query text ("" when the dataset is unavailable).
        relevant: Rows (``doc_id``, ``relevance``, ``text``) of judged documents.
        topk: Rows (``model``, ``rank``, ``doc_id``, ``score``, ``relevance``, ``hit``,
            ``text``) for each model's first ``k`` results.
        missed: Model spec → judged documents not in its top-k.
    """

    query_id: str
    text: str
    relevant: pd.DataFrame
    topk: pd.DataFrame
    missed: Mapping[str, tuple[str, ...]]


def _snippet(text: str, n: int = 220) -> str:
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 1].rstrip() + "…"


def drilldown(stored: runs.StoredRun, dataset: Dataset | None, query_id: str, k: int | None = None) -> QueryView:
    """Everything needed to judge one query by eye.

    Args:
        stored: A loaded run.
        dataset: The run's dataset (texts and judgements), or None (ids only; judgements
            then come from the stored hits: a document counts as relevant when recall
            metrics saw it — unavailable, so ``relevance`` is left empty).
        query_id: The query.
        k: How many results per model (default the run's k).

    Returns:
        The :class:`QueryView`.
    """
    k = int(k or stored.run["k"])
    texts: dict[str, str] = {}
    qrels: Mapping[str, int] = {}
    qtext = ""
    if dataset is not None:
        texts = dict(zip(dataset.doc_ids, dataset.doc_texts, strict=True))
        qrels = dataset.qrels.get(query_id, {})
        qtext = dict(zip(dataset.query_ids, dataset.query_texts, strict=True)).get(query_id, "")
    relevant = pd.DataFrame(
        [{"doc_id": d, "relevance": int(r), "text": _snippet(texts.get(d, ""), 400)}
         for d, r in sorted(qrels.items(), key=lambda x: (-x[1], x[0]))],
        columns=["doc_id", "relevance", "text"],
    )
    rows = []
    missed: dict[str, tuple[str, ...]] = {}
    sub = stored.topk[stored.topk["query_id"] == query_id]
    for model in stored.models["model"]:
        hit = sub[sub["model"] == model]
        if hit.empty:
            continue
        ids = list(hit.iloc[0]["doc_ids"])[:k]
        scores = list(hit.iloc[0]["scores"])[:k]
        for i, (d, s) in enumerate(zip(ids, scores, strict=True), start=1):
            rel = int(qrels.get(d, 0))
            rows.append({"model": model, "rank": i, "doc_id": d, "score": float(s), "relevance": rel,
                         "hit": rel > 0, "text": _snippet(texts.get(d, ""))})
        missed[str(model)] = tuple(d for d in qrels if qrels[d] > 0 and d not in ids)
    topk = pd.DataFrame(rows, columns=["model", "rank", "doc_id", "score", "relevance", "hit", "text"])
    return QueryView(query_id, qtext, relevant, topk, missed)


def query_texts(dataset: Dataset | None) -> dict[str, str]:
    """Query id → text (empty without a dataset)."""
    return {} if dataset is None else dict(zip(dataset.query_ids, dataset.query_texts, strict=True))


# --------------------------------------------------------------------------- comparing runs


@dataclass(frozen=True)
class RunComparison:
    """What changed between two runs.

    Attributes:
        changes: Lines about the set-up (dataset, k, models added/removed).
        table: Per model: ``model``, ``status`` (kept/added/removed), ``mean_a``,
            ``mean_b``, ``delta``, ``ci_low``, ``ci_high``, ``p_value``, ``significant``,
            ``test`` (how significance was judged).
        same_data: Whether both runs used identical data (fingerprint).
    """

    changes: tuple[str, ...]
    table: pd.DataFrame
    same_data: bool


def compare_runs(a: runs.StoredRun, b: runs.StoredRun, metric: str, *, alpha: float = 0.05) -> RunComparison:
    """Compare run ``b`` (newer) against run ``a`` on one metric.

    On identical data the change per model is tested with a paired randomisation test over
    the same queries; on different data only the CIs can be compared (overlap = no claim).

    Args:
        a: The baseline run.
        b: The run compared with it.
        metric: The metric.
        alpha: Significance level.

    Returns:
        The :class:`RunComparison`.
    """
    ra, rb = a.run, b.run
    same = ra["dataset_fingerprint"] == rb["dataset_fingerprint"] and ra["dataset_split"] == rb["dataset_split"]
    changes: list[str] = []
    if same:
        fp = str(ra["dataset_fingerprint"])[:12]
        changes.append(f"Same data ({ra['dataset_name']}, {ra['n_queries']} queries, fingerprint {fp}).")
    else:
        changes.append(
            f"Different data: {ra['dataset_name']} ({ra['n_queries']} queries) → {rb['dataset_name']} "
            f"({rb['n_queries']} queries); changes are compared by CI overlap only."
        )
    if int(ra["k"]) != int(rb["k"]):
        changes.append(f"k changed: {ra['k']} → {rb['k']}.")
    ma, mb = list(a.models["model"]), list(b.models["model"])
    added = [m for m in mb if m not in ma]
    removed = [m for m in ma if m not in mb]
    if added:
        changes.append("Models added: " + ", ".join(added) + ".")
    if removed:
        changes.append("Models removed: " + ", ".join(removed) + ".")
    sa = a.summary[a.summary["metric"] == metric].set_index("model")
    sb = b.summary[b.summary["metric"] == metric].set_index("model")
    rows = []
    for m in list(dict.fromkeys(ma + mb)):
        row: dict[str, Any] = {"model": m, "status": "added" if m in added else "removed" if m in removed else "kept"}
        row["mean_a"] = float(sa.at[m, "mean"]) if m in sa.index else math.nan
        row["mean_b"] = float(sb.at[m, "mean"]) if m in sb.index else math.nan
        row["delta"] = row["mean_b"] - row["mean_a"]
        row.update(ci_low=math.nan, ci_high=math.nan, p_value=math.nan, significant=None, test="")
        if m in sa.index and m in sb.index:
            if same:
                qa = a.per_query[a.per_query["model"] == m].set_index("query_id")[metric]
                qb = b.per_query[b.per_query["model"] == m].set_index("query_id")[metric]
                common = sorted(set(qa.index) & set(qb.index))
                if common:
                    res = paired_comparison(qb.loc[common].to_numpy(), qa.loc[common].to_numpy(), metric=metric,
                                            n_resamples=5000, seed=0)
                    row.update(ci_low=res.low, ci_high=res.high, p_value=res.p_value,
                               significant=bool(res.p_value < alpha), test="paired test on the same queries")
            else:
                overlap = not (sb.at[m, "ci_low"] > sa.at[m, "ci_high"] or sb.at[m, "ci_high"] < sa.at[m, "ci_low"])
                row.update(significant=not overlap, test="CI overlap (different data)")
        rows.append(row)
    return RunComparison(tuple(changes), pd.DataFrame(rows), same)


# --------------------------------------------------------------------------- runtime variants

_RUNTIME_OPTS = ("backend", "quantize")
BACKEND_DELTA_COLUMNS = ["variant", "base", "metric", "mean", "base_mean", "delta", "ci_low", "ci_high",
                         "p_value", "n_queries"]


def _runtime_key(spec: str) -> tuple[str, tuple[tuple[str, str], ...], str, str] | None:
    """(name, other options, backend, quantize) of a spec, or None for a hybrid or a malformed spec."""
    if is_hybrid(spec):
        return None
    try:
        name, opts = parse_spec(spec)
    except UserError:
        return None
    rest = tuple(sorted((k, v) for k, v in opts.items() if k not in _RUNTIME_OPTS))
    return name, rest, opts.get("backend", "torch"), opts.get("quantize", "")


def backend_deltas(summary: pd.DataFrame, pairs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Each runtime variant (``X?backend=…``) of a run against the same model on torch (``X``).

    A variant and its torch run are the same model name with the same other options; only
    ``backend`` and ``quantize`` differ. The difference comes from the run's own paired test
    on the same queries (the engine stores every pair in ``eval_pairs`` as ``model_a − model_b``;
    it is turned round here so that the delta is always variant − torch).

    Args:
        summary: The run's long summary (``model``, ``metric``, ``mean``).
        pairs: The run's paired comparisons (``metric``, ``model_a``, ``model_b``, ``mean_diff``,
            ``ci_low``, ``ci_high``, ``p_value``, ``n_queries``).
        metric: The metric, e.g. ``nDCG@10``.

    Returns:
        One row per variant whose torch model is in the run, in summary order: ``variant``, ``base``
        (specs), ``metric``, ``mean``, ``base_mean``, ``delta`` (variant − torch), ``ci_low``,
        ``ci_high`` (95 % CI of the delta), ``p_value``, ``n_queries``; empty when there is no such pair.
    """
    sub = summary[summary["metric"] == metric] if not summary.empty else summary
    means = dict(zip(sub["model"], sub["mean"], strict=True)) if not sub.empty else {}
    keys = {m: _runtime_key(str(m)) for m in means}
    torch_of: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    for m, k in keys.items():  # the first torch run of a model (``X`` and ``X?backend=torch`` are the same)
        if k is not None and k[2] == "torch" and not k[3]:
            torch_of.setdefault((k[0], k[1]), m)
    p = pairs[pairs["metric"] == metric] if not pairs.empty else pairs
    rows = []
    for variant, key in keys.items():
        if key is None or (key[2] == "torch" and not key[3]):
            continue
        base = torch_of.get((key[0], key[1]))
        if base is None:
            continue
        row: dict[str, Any] = {"variant": variant, "base": base, "metric": metric, "mean": float(means[variant]),
                               "base_mean": float(means[base]),
                               "delta": float(means[variant]) - float(means[base]),
                               "ci_low": math.nan, "ci_high": math.nan, "p_value": math.nan, "n_queries": None}
        fwd = p[(p["model_a"] == variant) & (p["model_b"] == base)] if not p.empty else p
        back = p[(p["model_a"] == base) & (p["model_b"] == variant)] if not p.empty else p
        if not fwd.empty:
            r = fwd.iloc[0]
            row.update(delta=float(r["mean_diff"]), ci_low=float(r["ci_low"]), ci_high=float(r["ci_high"]))
        elif not back.empty:
            r = back.iloc[0]
            row.update(delta=-float(r["mean_diff"]), ci_low=-float(r["ci_high"]), ci_high=-float(r["ci_low"]))
        else:
            r = None
        if r is not None:
            row.update(p_value=float(r["p_value"]), n_queries=int(r["n_queries"]))
        rows.append(row)
    return pd.DataFrame(rows, columns=BACKEND_DELTA_COLUMNS)


def backend_delta_lines(stored: runs.StoredRun, metric: str) -> list[str]:
    """Plain-language lines for :func:`backend_deltas` of a stored run.

    Args:
        stored: A loaded run.
        metric: The metric.

    Returns:
        E.g. ``"all-MiniLM-L6-v2 (onnx int8) vs torch: nDCG@10 −0.0031 (95 % CI −0.0070 to 0.0004,
        p = 0.09) — not distinguishable"``; empty when the run has no variant with its torch model.
    """
    out = []
    for r in backend_deltas(stored.summary, stored.pairs, metric).itertuples(index=False):
        line = f"{display_label(str(r.variant))} vs torch: {metric} {r.delta:+.4f}"
        if not math.isnan(r.p_value):
            verdict = "a significant change" if r.p_value < 0.05 else "not distinguishable from torch"
            line += f" (95 % CI {r.ci_low:+.4f} to {r.ci_high:+.4f}, p = {r.p_value:.4f}) — {verdict}"
        out.append(line)
    return out


# --------------------------------------------------------------------------- fusion weight sweep

#: Said wherever a fusion weight sweep is shown (defined with the sweep itself).
ALPHA_SWEEP_WARNING = fusion.ALPHA_SWEEP_WARNING


def alpha_sweep_lines(stored: runs.StoredRun, metric: str) -> list[str]:
    """Plain-language lines for the run's fusion weight sweeps (one per score-fusion hybrid).

    Args:
        stored: A loaded run.
        metric: The metric (e.g. ``nDCG@10``).

    Returns:
        E.g. ``"BM25 + all-MiniLM-L6-v2 (min-max fusion α=0.5): nDCG@10 0.655 at the run's α = 0.5;
        best α on these queries 0.3 → 0.662 (95 % CI 0.62–0.70); cross-validated 0.650 (0.61–0.69;
        α picked on half A: 0.3, on half B: 0.4)"``; empty when the run swept nothing.
    """
    sw = stored.fusion_sweep
    if sw is None or sw.empty:
        return []
    out = []
    for model, sub in sw[sw["metric"] == metric].groupby("model", sort=False):
        grid = sub[sub["kind"] == "alpha"].sort_values("alpha")
        if grid.empty:
            continue
        best = grid.loc[grid["mean"].idxmax()]
        spec = hybrid.parse(str(model))
        own = grid[np.isclose(grid["alpha"].to_numpy(dtype=float), spec.weights[0])]
        line = f"{display_label(str(model))}: {metric}"
        if not own.empty:
            line += f" {float(own['mean'].iloc[0]):.3f} at the run's α = {spec.weights[0]:g};"
        line += (f" best α on these queries {float(best['alpha']):g} → {float(best['mean']):.3f} "
                 f"(95 % CI {float(best['ci_low']):.3f}–{float(best['ci_high']):.3f})")
        cv = sub[sub["kind"] == "cross-validated"]
        if not cv.empty:
            c = cv.iloc[0]
            line += (f"; cross-validated {float(c['mean']):.3f} ({float(c['ci_low']):.3f}–{float(c['ci_high']):.3f}; "
                     f"{c['note']})")
        out.append(line)
    return out
