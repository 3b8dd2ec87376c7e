"""Turn stored evaluation runs into answers: tables, drill-down, run comparison, the report.

Two layers:

* Analysis of stored runs (used by the Evaluate, Runs and Report pages and the CLI):
  :func:`model_table` (one row per model: metric with CI, tie group, latency, size),
  :func:`metrics_display`, :func:`rank_vs_mteb` ("your data vs MTEB"),
  :func:`add_costs` (monthly cost from :mod:`lib.cost`), :func:`run_dataset` (the texts
  behind a run, for the drill-down), :func:`disagreement` and :func:`drilldown`
  (per-query view), :func:`compare_runs` (what changed between two runs).
* The architect's report: :func:`build_report` collects chosen runs, the shortlist and the
  cost assumptions into a :class:`Report`; :func:`to_markdown` and :func:`to_html` render
  it. The HTML is one self-contained file with interactive plotly charts (plotly.js
  embedded once, so it opens offline). All user-supplied text (queries, documents, names,
  notes) is escaped, cells that a spreadsheet would run as formulas are defused, and API
  keys are never part of any input, so they cannot appear in a report.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lib import cost, csvsafe, pricing, store
from lib.errors import UserError
from lib.evaluation import runs
from lib.evaluation.datasets import Dataset, DatasetError, load_dataset
from lib.evaluation.metrics import paired_comparison
from lib.evaluation.models import display_label, mteb_name

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
        ``docs_per_s``, ``index_bytes``, ``api_cost_usd``, ``run_id``; run order.
    """
    summ = stored.summary[stored.summary["metric"] == metric].set_index("model")
    rows = []
    for m in stored.models.itertuples(index=False):
        s = summ.loc[m.model] if m.model in summ.index else None
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
                "run_id": stored.run["run_id"],
            }
        )
    return pd.DataFrame(rows)


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
        ``price_date``, ``price_flags``, ``cost_note`` (why a model has no cost), ``cost_why``,
        ``cost_measured`` (throughput from a run), ``query_p95_ms_option``, ``meets_latency`` and
        ``cost_arithmetic`` (the steps, one per line). BM25 has no embedding cost in the cost
        model and stays unpriced.
    """
    out = models.copy()
    api_latency = api_latency_figures() if api_latency is None else api_latency
    names = ("usd_per_month", "cost_option", "price_source", "price_url", "price_date", "price_flags", "cost_note",
             "cost_why", "cost_measured", "query_p95_ms_option", "meets_latency", "cost_arithmetic")
    cols: dict[str, list[Any]] = {c: [] for c in names}
    for r in models.itertuples(index=False):
        key = pricing.resolve_model_name(str(r.mteb_name), book.effective)
        est = pd.DataFrame()
        if key is not None:
            sp = {key: speeds[str(r.mteb_name)]} if speeds and str(r.mteb_name) in speeds else None
            est = cost.estimate_models([key], book.effective, assumptions, speeds=sp, api_latency=api_latency)
        best, why = cost.cheapest_meeting_latency(est)
        if best is None:
            note = ("BM25 runs on CPU next to the search index: no embedding cost in the cost model"
                    if r.kind == "bm25" else "no price or self-host data for this model")
            for c in cols:
                cols[c].append(math.nan if c in ("usd_per_month", "query_p95_ms_option") else "")
            cols["cost_note"][-1] = note
            cols["cost_measured"][-1] = False
            cols["meets_latency"][-1] = None
            continue
        rec = book.effective[str(key)]
        cols["usd_per_month"].append(float(best["usd_per_month"]))
        cols["cost_option"].append(str(best["option"]))
        cols["price_source"].append(str(best["price_source"]) if best["deployment"] == "api"
                                    else f"self-host: {best['price_source']}")
        cols["price_url"].append(rec.source_url if best["deployment"] == "api" else "")
        cols["price_date"].append(rec.date_checked.isoformat() if best["deployment"] == "api" else "")
        cols["price_flags"].append(str(best["price_flags"]))
        cols["cost_note"].append(str(best["notes"]))
        cols["cost_why"].append(why)
        cols["cost_measured"].append(bool(best["throughput_measured"]))
        p95 = best["query_p95_ms"]
        cols["query_p95_ms_option"].append(float(p95) if p95 is not None and pd.notna(p95) else math.nan)
        cols["meets_latency"].append(best["meets_latency"])
        cols["cost_arithmetic"].append("\n".join(cost.arithmetic(best, assumptions)))
    for c, v in cols.items():
        out[c] = v
    return out


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
    for m in stored.models.itertuples(index=False):
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
            ORDER BY r.created_at DESC, m.position
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
        drill-down can show ids only).
    """
    source = str(stored.run.get("dataset_source") or "")
    if not source or not Path(source).exists():
        return None
    try:
        ds = load_dataset(source, split=str(stored.run.get("dataset_split") or "test"))
    except (DatasetError, UserError, OSError):
        return None
    return ds if ds.fingerprint == stored.run.get("dataset_fingerprint") else None


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


# --------------------------------------------------------------------------- escaping


def defuse(text: object) -> str:
    """Text safe to paste into a spreadsheet: a leading formula character gets a quote.

    Args:
        text: Any value.

    Returns:
        The text, prefixed with ``'`` when it starts like a formula (``=HYPERLINK(...)``);
        the rule is :func:`lib.csvsafe.defuse`'s, applied to the value as text.
    """
    return str(csvsafe.defuse("" if text is None else str(text)))


# Characters that change Markdown rendering anywhere in a line (links need "[", so "(" is
# harmless once "[" is escaped; "#" only matters at the start and is escaped there).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>~])")


def md_text(text: object) -> str:
    """User text for Markdown: formulas defused, Markdown and HTML characters escaped.

    Args:
        text: Any value.

    Returns:
        Text that renders literally in Markdown (and inside a table cell).
    """
    s = defuse(text).replace("\r", " ").replace("\n", " ")
    s = s.replace("&", "&amp;")
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return "\\" + s if s.startswith(("#", "+", "-", "=")) else s


def h(text: object) -> str:
    """User text for HTML: formulas defused, then HTML-escaped."""
    return html.escape(defuse(text), quote=True)


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
    frames, infos, tables, sig = [], [], {}, {}
    latency = api_latency_figures()
    all_speeds: dict[str, cost.MeasuredSpeed] = {}
    for s in stored:
        speeds = measured_speeds(s, run_dataset(s))  # self-hosting on CPU costed from this run's timings
        all_speeds.update(speeds)
        mt = model_table(s, metric)
        mt = add_costs(mt, book, a, speeds, latency)
        frames.append(mt)
        r = s.run
        infos.append(RunInfo(
            run_id=str(r["run_id"]), created=pd.Timestamp(r["created_at"]).strftime("%Y-%m-%d %H:%M UTC"),
            dataset=str(r["dataset_name"]), n_docs=int(r["n_docs"]), n_queries=int(r["n_queries"]),
            k=int(r["k"]), models=tuple(r["models"]),
            wall_time_s=float(r["wall_time_s"]) if pd.notna(r.get("wall_time_s")) else None,
            machine=_machine(r.get("environment") or {}),
        ))
        tables[str(r["run_id"])] = metrics_display(s)
        sig[str(r["run_id"])] = tuple(significance_lines(s, metric))
    models = pd.concat(frames, ignore_index=True)
    if len(stored) > 1:
        dup = models["label"].duplicated(keep=False)
        models.loc[dup, "label"] = models.loc[dup, "label"] + " · " + models.loc[dup, "run_id"].str[-8:]
    meta = dict(model_meta or {})
    models["licence"] = [_licence(meta.get(n), k) for n, k in zip(models["mteb_name"], models["kind"], strict=True)]
    ranks = rank_vs_mteb(models, leaderboard)
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
    dis = disagreement(first, metric)
    if not dis.empty and len(first.models) > 1:
        qt = query_texts(run_dataset(first))
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
        ranks=ranks, rank_sentence=rank_agreement(ranks),
        assumptions=assumption_rows(a, all_speeds), price_sources=prices,
        recommendation=str(models.loc[rec, "label"]) if rec is not None else "",
        runner_up=str(models.loc[runner, "label"]) if runner is not None else "",
        reasons=tuple(reasons), risks=tuple(risks), shortlist=tuple(shortlist),
        decision_markdown=decision_markdown, examples=examples, figures=figs,
        data_source=fresh.line if fresh else "No MTEB results are loaded: the comparison with MTEB is left out.",
        data_warning=fresh.warning if fresh else "", cost_arithmetic=arith,
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
    stale = models[models["price_flags"].astype(str).str.contains("stale")]
    for r in stale.itertuples(index=False):
        out.append(f"Stale price: {r.label} — {r.price_flags}; source {r.price_source}. Re-check before deciding.")
    conflict = models[models["price_flags"].astype(str).str.contains("disagree")]
    for r in conflict.itertuples(index=False):
        out.append(f"Conflicting prices: published sources disagree for {r.label}.")
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


def _num(v: object, fmt: str) -> str:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(x) else fmt.format(x)


def _runs_frame(rep: Report) -> pd.DataFrame:
    return pd.DataFrame([{
        "Run": i.run_id, "Date": i.created, "Dataset": i.dataset, "Documents": i.n_docs, "Queries": i.n_queries,
        "k": i.k, "Models": ", ".join(i.models), "Wall time (s)": _num(i.wall_time_s, "{:.1f}"),
        "Machine": i.machine,
    } for i in rep.runs])


def _results_frame(rep: Report) -> pd.DataFrame:
    m = rep.models
    return pd.DataFrame({
        "Model": m["label"],
        rep.metric: m["mean"],
        "95 % CI": [f"{lo:.3f}–{hi:.3f}" for lo, hi in zip(m["low"], m["high"], strict=True)],
        "Group": [int(g) if g is not None and pd.notna(g) else None for g in m["tie_group"]],
        "Latency p50 (ms)": [_num(v, "{:,.1f}") for v in m["latency_p50_ms"]],
        "USD / month": [_num(v, "${:,.2f}") for v in m["usd_per_month"]],
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
    out.append(_md_table(_results_frame(rep)))
    for rid, table in rep.metrics_tables.items():
        out += [f"### All headline metrics — run {md_text(rid)}", ""]
        out.append(_md_table(table.drop(columns=["Spec"], errors="ignore")))
        lines = rep.significance.get(rid, ())
        if lines:
            out += ["Paired comparisons:", ""] + [f"- {md_text(x)}" for x in lines] + [""]
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


# --------------------------------------------------------------------------- run history


def runs_overview(db_path: str | Path | None = None) -> pd.DataFrame:
    """Every run with its headline metrics, newest first (for the Runs page).

    Args:
        db_path: DuckDB file.

    Returns:
        ``run_id``, ``status`` (``interrupted`` for a run that stopped without finishing:
        the page was left, or the app's process was killed; ``error`` says which), ``created_at``,
        ``dataset``, ``models``, ``k``, ``queries``, ``wall_time_s``, ``best_model``,
        ``best_ndcg``, ``best_recall``, ``error``.
    """
    from lib import store

    listing = runs.list_runs(db_path)
    if listing.empty:
        return pd.DataFrame(columns=["run_id", "status", "created_at", "dataset", "models", "k", "queries",
                                     "wall_time_s", "best_model", "best_ndcg", "best_recall", "error"])
    with store.connect(db_path) as cur:
        summ = cur.execute(
            "SELECT s.run_id, s.model, s.metric, s.mean FROM eval_summary s JOIN eval_runs r USING (run_id)"
            " WHERE s.metric IN ('nDCG@' || r.k, 'Recall@' || r.k)"
        ).df()
    rows = []
    for r in listing.itertuples(index=False):
        sub = summ[summ["run_id"] == r.run_id]
        nd = sub[sub["metric"].str.startswith("nDCG@")].sort_values("mean", ascending=False)
        best = str(nd.iloc[0]["model"]) if not nd.empty else ""
        rec = sub[(sub["model"] == best) & sub["metric"].str.startswith("Recall@")]
        error = "" if r.error is None or (isinstance(r.error, float) and math.isnan(r.error)) else str(r.error)
        status = str(r.status)
        if r.interrupted:
            status = "interrupted"
            if not error.startswith(runs.INTERRUPTED):
                # Stored before the engine wrote a reason: only the exception's name.
                error = runs.INTERRUPTED + "the evaluation was stopped before it finished (the page was left or rerun)."
        models = r.models if isinstance(r.models, list) else json.loads(str(r.models))
        rows.append({
            "run_id": r.run_id, "status": status, "created_at": r.created_at, "dataset": r.dataset_name,
            "models": ", ".join(models), "k": int(r.k), "queries": int(r.n_queries),
            "wall_time_s": r.wall_time_s, "best_model": best,
            "best_ndcg": float(nd.iloc[0]["mean"]) if not nd.empty else math.nan,
            "best_recall": float(rec.iloc[0]["mean"]) if not rec.empty else math.nan,
            "error": error,
        })
    return pd.DataFrame(rows)
