"""The leaderboard explorer: mteb's table joined with licence, price and model facts, filtered.

Pipeline (all pure pandas/numpy; the page caches the slow, per-data-version parts):

1. :func:`model_attributes` — once per data version: licence group, price (API price or an
   *estimated* self-host price), memory, MRL sizes, modalities per model.
2. :func:`rank_uncertainty` — once per (benchmark, task subset): bootstrap intervals
   aligned with the summary table's rows.
3. :func:`build_view` — on every filter change: join, per-type means, the user-weighted
   score, model filters, sort, pins on top, not-separable groups. ~10 ms.

Scores in the view are ×100 (as mteb's leaderboard shows them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from lib import cost, csvsafe
from lib.leaderboard import licenses, uncertainty
from lib.leaderboard.filters import LeaderboardFilters, model_mask
from lib.leaderboard.ranking import EXPERIMENT_COL, MEAN_TASK, MEAN_TASK_TYPE, RANK_BORDA, SummaryTable
from lib.pricing import PriceBook, resolve_model_name

SCALE = 100.0
PRICE_COL = "Price ($/1M tok)"
PRICE_KIND_COL = "Price basis"
EST_SELFHOST = "est. self-host"
WEIGHTED_COL = "Weighted score"
WEIGHTED_RANK_COL = "Rank (weighted)"
RANK_CI_COL = "Rank 95% CI"
MEAN_CI_COL = "Mean 95% CI"
GROUP_COL = "Tie group"
PIN_COL = "Pinned"
STORAGE_COL = "GB per 1M vectors"

#: Sort direction of each sortable column when not reversed (True = ascending).
ASCENDING_COLUMNS = {
    RANK_BORDA,
    "Rank (Mean Task)",
    "Rank",
    WEIGHTED_RANK_COL,
    PRICE_COL,
    "Total Parameters (B)",
    "Active Parameters (B)",
    "Embedding Dimensions",
    "Memory (GB)",
    "Model",
}


@dataclass(frozen=True)
class ExplorerView:
    """One rendering of the explorer.

    Attributes:
        table: The rows shown, in order (pins first), scores ×100; also carries helper
            columns (``rank_lo``, ``rank_hi``, ``mean_lo``, ``mean_hi``, ``Dims offered``…).
        rank_col: The benchmark's rank column.
        score_col: The headline score column (``Mean (Task)`` or the benchmark's primary).
        type_cols: Per-task-type mean columns (present types, mteb order).
        shown_cols: Columns to display, in order.
        n_models: Models in the benchmark table before model filters.
        n_tasks: Tasks in the selected subset that have results.
        weights: Normalised weights actually used (type → share), empty when unweighted.
        sort_col: The column sorted by.
    """

    table: pd.DataFrame
    rank_col: str
    score_col: str
    type_cols: tuple[str, ...]
    shown_cols: tuple[str, ...]
    n_models: int
    n_tasks: int
    weights: Mapping[str, float]
    sort_col: str


def _as_list(x: object) -> list[object]:
    if isinstance(x, (list, tuple, np.ndarray)):
        return list(x)
    return []


def selfhost_price_per_1m(params: float | None, a: cost.CostAssumptions | None = None) -> float | None:
    """Estimated USD per 1M tokens to embed on a rented GPU (the cost model's published throughput).

    GPU $/h ÷ (tokens/s × 3600 × utilization) × 1e6, with the cost page's default GPU,
    price and utilization; excludes the fixed ops cost and idle time.

    Args:
        params: Total parameters (absolute); None when unknown (no estimate).
        a: Cost assumptions (default: :class:`lib.cost.CostAssumptions`).

    Returns:
        USD per 1M tokens, or None.
    """
    if params is None or not math.isfinite(params) or params <= 0:
        return None
    a = a or cost.CostAssumptions()
    tp = cost.seed_throughput("model", params / 1e6, a.seed_tokens_per_passage)
    per_hour = tp.tokens_per_second * 3600 * a.gpu_utilization
    return a.gpu_usd_per_hour / per_hour * 1e6


def model_attributes(
    models: pd.DataFrame,
    book: PriceBook | None,
    assumptions: cost.CostAssumptions | None = None,
) -> pd.DataFrame:
    """Per-model facts the explorer filters and shows (one row per mteb model name).

    Args:
        models: :func:`lib.leaderboard.queries.models`.
        book: The price book (None: no prices).
        assumptions: For the self-host estimate.

    Returns:
        Indexed by model name: License, License group, License note, Commercial use,
        Open weights, Price ($/1M tok), Price basis, Price source, Price URL, Price date,
        Price flags, Memory (GB), Instruction-tuned, MRL, Dims offered, Modalities.
    """
    a = assumptions or cost.CostAssumptions()
    effective = book.effective if book is not None else {}
    rows = []
    for r in models.itertuples(index=False):
        open_w = None if pd.isna(r.open_weights) else bool(r.open_weights)
        lic = None if pd.isna(r.license) else str(r.license)
        info = licenses.classify(lic, open_w)
        key = resolve_model_name(r.name, effective) if effective else None
        rec = effective.get(key) if key else None
        price: float | None = None
        basis: str | None = None
        if rec is not None and rec.price_per_1m_tokens is not None:
            price, basis = rec.price_per_1m_tokens, rec.hosting
        elif open_w:
            params = None if pd.isna(r.n_parameters) else float(r.n_parameters)
            est = selfhost_price_per_1m(params, a)
            if est is not None:
                price, basis = est, EST_SELFHOST
        dims = {int(d) for d in _as_list(r.embed_dims)}  # type: ignore[call-overload]
        if not pd.isna(r.embed_dim):
            dims.add(int(r.embed_dim))
        if rec is not None:
            dims |= set(rec.dimension_options)
        rows.append(
            {
                "Model": r.name,
                "License": licenses.short_label(lic) if open_w is not False or lic else "proprietary",
                "License (full)": lic,
                "License group": info.group,
                "License note": info.reason,
                "Commercial use": info.commercial_ok,
                "Open weights": open_w,
                PRICE_COL: price,
                PRICE_KIND_COL: basis,
                "Price source": rec.source_name if rec is not None and basis != EST_SELFHOST else None,
                "Price URL": rec.source_url if rec is not None and basis != EST_SELFHOST else None,
                "Price date": rec.date_checked.isoformat() if rec is not None and basis != EST_SELFHOST else None,
                "Price flags": _flags(rec) if rec is not None and basis != EST_SELFHOST else "",
                "Memory (GB)": None if pd.isna(r.memory_usage_mb) else float(r.memory_usage_mb) / 1024,
                "Instruction-tuned": None if pd.isna(r.use_instructions) else bool(r.use_instructions),
                "MRL": len(dims) > 1,
                "Dims offered": sorted(dims),
                "Modalities": [str(m) for m in _as_list(r.modalities)],
            }
        )
    out = pd.DataFrame(rows)
    out["Open weights"] = out["Open weights"].astype("boolean")
    out["Instruction-tuned"] = out["Instruction-tuned"].astype("boolean")
    out[PRICE_COL] = out[PRICE_COL].astype(float)
    out["Memory (GB)"] = out["Memory (GB)"].astype(float)
    return out.set_index("Model")


def _flags(rec: object) -> str:
    from lib.pricing import flag_text

    return flag_text(rec)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BordaInputs:
    """What mteb's Borda count ranks: every competing model's points per task.

    Attributes:
        models: Competing model names (mteb ranks before dropping unregistered models).
        tasks: Task names (columns of ``points``).
        points: (models, tasks) ``n_models - average rank`` per task, 0 when missing.
    """

    models: list[str]
    tasks: list[str]
    points: np.ndarray


def borda_inputs(
    benchmark: str,
    db: str | Path | None,
    tasks: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
) -> BordaInputs:
    """Per-task Borda points exactly as ``summary_table`` ranks them.

    Reads the cached per-benchmark aggregates of :mod:`lib.leaderboard.ranking` (its
    ``benchmark_data``; no extra database work) so the bootstrap re-ranks on the same
    numbers mteb's rank comes from: raw per-task means of every model that ran the task
    (or per task::subset for ``mean_subset`` benchmarks), ranked among them, with
    ``n_models`` = models with any complete task.

    Args:
        benchmark: mteb benchmark name.
        db: The app database whose leaderboard to read.
        tasks: Task subset (None: all).
        languages: Language filter passed to ``summary_table``.

    Returns:
        The points matrix.
    """
    from lib.leaderboard import ranking

    data = ranking.benchmark_data(benchmark, db, languages)
    keep = set(tasks) if tasks is not None else None
    ptl = data.per_task_long if keep is None else data.per_task_long[data.per_task_long["task_name"].isin(keep)]
    wide = ptl.pivot(index=["model_name", "experiment_id"], columns="task_name", values="score")
    n_models = int(wide.notna().any(axis=1).sum())
    if data.per_subset is not None:
        ps = data.per_subset if keep is None else data.per_subset[data.per_subset["task_name"].isin(keep)]
        keyed = ps.assign(_ts=ps["task_name"] + "::" + ps["subset"])
        long = keyed.groupby(["model_name", "task_name", "_ts"], as_index=False)["score"].mean()
        part = "_ts"
    else:
        long = data.borda_long if keep is None else data.borda_long[data.borda_long["task_name"].isin(keep)]
        part = "task_name"
    if long.empty:
        return BordaInputs([], [], np.zeros((0, 0)))
    r = long.groupby(part, sort=False)["score"].rank(method="average", ascending=False)
    pts = long.assign(points=(n_models - r).fillna(0.0))
    mat = pts.pivot_table(index="model_name", columns="task_name", values="points", aggfunc="sum", fill_value=0.0)
    return BordaInputs(list(mat.index), list(mat.columns), mat.to_numpy(dtype=float))


def rank_uncertainty(
    summary: SummaryTable,
    borda: BordaInputs | None,
    task_types: Mapping[str, str],
    *,
    n_draws: int = uncertainty.N_DRAWS,
) -> pd.DataFrame:
    """Bootstrap intervals aligned with ``summary.df``'s rows.

    Args:
        summary: The summary table of the task subset.
        borda: :func:`borda_inputs` for the same subset (for Borda-ranked benchmarks).
        task_types: Task → type (for benchmarks ranked by the mean of type means).
        n_draws: Bootstrap draws.

    Returns:
        Columns ``mean_lo``, ``mean_hi`` (0–1), ``rank_lo``, ``rank_hi``, index like ``summary.df``.
    """
    df = summary.df
    if summary.is_empty or not summary.task_cols:
        return pd.DataFrame({"mean_lo": [], "mean_hi": [], "rank_lo": [], "rank_hi": []})
    key = [EXPERIMENT_COL, "Model"]
    pt = df[key].merge(summary.per_task, on=key, how="left")
    task_cols = list(summary.task_cols)
    scores = pt[task_cols].to_numpy(dtype=float)
    sort_key = summary.rank_col
    if summary.rank_col == RANK_BORDA and borda is not None and borda.models:
        # Columns of the points matrix follow the scores' task order; rows are all competitors.
        pts = pd.DataFrame(borda.points, index=borda.models, columns=borda.tasks).reindex(
            columns=task_cols, fill_value=0.0
        )
        pos = {m: i for i, m in enumerate(pts.index)}
        rows = np.array([pos.get(m, -1) for m in df["Model"]])
        if (rows < 0).any():  # a shown model that never competed: rank it from its own scores
            extra = [m for m, i in zip(df["Model"], rows, strict=True) if i < 0]
            add = pd.DataFrame(0.0, index=extra, columns=task_cols)
            pts = pd.concat([pts, add])
            pos = {m: i for i, m in enumerate(pts.index)}
            rows = np.array([pos[m] for m in df["Model"]])
        res = uncertainty.bootstrap(scores, points=pts.to_numpy(), point_rows=rows, by="borda", n_draws=n_draws)
    else:
        by = "mean_task_type" if MEAN_TASK_TYPE in sort_key or _sorted_by_type(summary) else "mean"
        res = uncertainty.bootstrap(
            scores, task_types=[task_types.get(t, "Unknown") for t in task_cols], by=by, n_draws=n_draws
        )
    out = res.frame.copy()
    out.index = df.index
    return out


def _sorted_by_type(summary: SummaryTable) -> bool:
    # MIEB ranks by Mean (TaskType): its primary column is that mean.
    return summary.primary_metric_col == MEAN_TASK_TYPE and summary.rank_col != RANK_BORDA


def type_means(summary: SummaryTable, task_types: Mapping[str, str]) -> pd.DataFrame:
    """Per-task-type means of the subset (0–1), for weights and radar charts.

    mteb only shows them for benchmarks with the ``task_types`` aggregation; the explorer
    needs them for every benchmark. Null when a model misses a task of the type (as mteb).

    Args:
        summary: The summary table.
        task_types: Task → type.

    Returns:
        Indexed like ``summary.df``; one column per type in first-appearance order.
    """
    key = [EXPERIMENT_COL, "Model"]
    pt = summary.df[key].merge(summary.per_task, on=key, how="left")
    groups: dict[str, list[str]] = {}
    for t in summary.task_cols:
        groups.setdefault(task_types.get(t, "Unknown"), []).append(t)
    out = pd.DataFrame(index=summary.df.index)
    for typ, ts in groups.items():
        out[typ] = pt[ts].mean(axis=1, skipna=False).to_numpy()
    return out


def normalise_weights(weights: Mapping[str, float], present: Sequence[str]) -> dict[str, float]:
    """Weights over the present task types, summing to 1 (types not mentioned get 0).

    Args:
        weights: Raw weights per type.
        present: Types with results in the subset.

    Returns:
        Type → share; empty when every weight is 0.
    """
    raw = {t: max(float(weights.get(t, 0.0)), 0.0) for t in present}
    total = sum(raw.values())
    return {t: w / total for t, w in raw.items() if w > 0} if total > 0 else {}


def weighted_score(means: pd.DataFrame, shares: Mapping[str, float]) -> pd.Series:
    """Weighted mean of per-type means; null when a weighted type mean is null.

    Args:
        means: Per-type means (columns = types).
        shares: Normalised weights.

    Returns:
        The score per row (same scale as ``means``).
    """
    if not shares:
        return pd.Series(np.nan, index=means.index)
    cols = list(shares)
    w = np.array([shares[c] for c in cols])
    vals = means[cols].to_numpy(dtype=float)
    return pd.Series(vals @ w, index=means.index)  # NaN propagates: skipna=False, as mteb's means


def sort_columns(summary: SummaryTable, type_cols: Sequence[str], *, weighted: bool = False) -> list[str]:
    """Columns the user can sort the explorer by, in the order the *Sort by* box lists them.

    Args:
        summary: mteb's summary table of the task subset (its rank and mean columns come first).
        type_cols: The task types present (their per-type means are sortable).
        weighted: Whether the weighted score and its rank are shown (then they are sortable).

    Returns:
        Column names, without duplicates: rank, weighted rank/score, means, task types, price,
        then the model attributes.
    """
    cols = [
        summary.rank_col,
        *([WEIGHTED_RANK_COL, WEIGHTED_COL] if weighted else []),
        *summary.mean_cols,
        *type_cols,
        PRICE_COL,
        "Embedding Dimensions",
        "Max Tokens",
        "Total Parameters (B)",
        "Memory (GB)",
        "Zero-shot",
        "Release Date",
        "Model",
    ]
    return list(dict.fromkeys(cols))


def build_view(
    summary: SummaryTable,
    attrs: pd.DataFrame,
    unc: pd.DataFrame | None,
    f: LeaderboardFilters,
    task_types: Mapping[str, str],
) -> ExplorerView:
    """Join, score, filter, sort and pin: the rows the explorer shows.

    Args:
        summary: mteb's summary table for the task subset.
        attrs: :func:`model_attributes`.
        unc: :func:`rank_uncertainty` for the same summary (None: no intervals).
        f: The view state.
        task_types: Task → type.

    Returns:
        The view.
    """
    df = summary.df.copy()
    rank_col = summary.rank_col
    score_col = MEAN_TASK if MEAN_TASK in summary.mean_cols else summary.primary_metric_col
    means = type_means(summary, task_types) if not summary.is_empty else pd.DataFrame(index=df.index)
    type_cols = tuple(means.columns)
    for t in type_cols:
        if t not in df.columns:
            df[t] = means[t]
    score_cols = [c for c in (*summary.mean_cols, *type_cols) if c in df.columns]
    df[score_cols] = df[score_cols].astype(float) * SCALE

    shares: dict[str, float] = {}
    if f.weighted:
        shares = normalise_weights(f.weight_map(), type_cols) or {t: 1 / len(type_cols) for t in type_cols}
        df[WEIGHTED_COL] = weighted_score(means, shares) * SCALE
        df[WEIGHTED_RANK_COL] = df[WEIGHTED_COL].rank(method="min", ascending=False).astype("Int64")

    if unc is not None and not unc.empty:
        df = df.join(unc)
        df["mean_lo"] = df["mean_lo"] * SCALE
        df["mean_hi"] = df["mean_hi"] * SCALE
        df[RANK_CI_COL] = [
            "" if pd.isna(lo) else (f"{lo}" if lo == hi else f"{lo}–{hi}")
            for lo, hi in zip(df["rank_lo"], df["rank_hi"], strict=True)
        ]
        df[MEAN_CI_COL] = [
            "" if pd.isna(lo) else f"{lo:.1f}–{hi:.1f}" for lo, hi in zip(df["mean_lo"], df["mean_hi"], strict=True)
        ]

    df = df.join(attrs, on="Model")
    dims = pd.to_numeric(df["Embedding Dimensions"], errors="coerce").astype(float)
    df[STORAGE_COL] = dims * 4 * 1e6 / cost.BYTES_PER_GB  # float32, no index overhead
    for c, default in (("Dims offered", None), ("Modalities", None)):
        df[c] = df[c].map(lambda x, d=default: x if isinstance(x, list) else ([] if d is None else d))
    df["License group"] = df["License group"].fillna(licenses.UNKNOWN)
    n_models = len(df)

    mask = model_mask(df, f)
    pins = [p for p in f.pins if p in set(df["Model"])]
    pinned = df["Model"].isin(pins)
    df = df[mask | pinned].copy()  # pinned models stay visible whatever the filters
    df[PIN_COL] = df["Model"].isin(pins)

    sort_col = f.sort if f.sort in df.columns else rank_col
    ascending = (sort_col in ASCENDING_COLUMNS) != f.sort_reverse
    df = df.sort_values([sort_col, rank_col], ascending=[ascending, True], na_position="last", kind="stable")
    if unc is not None and "rank_lo" in df.columns:
        order = df.sort_values(rank_col, kind="stable", na_position="last")
        groups = uncertainty.separable_groups(list(order["rank_lo"]), list(order["rank_hi"]))
        df[GROUP_COL] = pd.Series(groups, index=order.index, dtype="Int64")
    pin_order = {m: i for i, m in enumerate(pins)}
    df["_pin"] = df["Model"].map(pin_order).fillna(len(pins))
    df = df.sort_values("_pin", kind="stable").drop(columns="_pin").reset_index(drop=True)

    front = [PIN_COL, rank_col]
    if RANK_CI_COL in df.columns:
        front += [RANK_CI_COL, GROUP_COL]
    if f.weighted:
        front += [WEIGHTED_RANK_COL, WEIGHTED_COL]
    front.append("Model")
    mean_first = [c for c in summary.mean_cols if c in df.columns]
    shown = [
        *front,
        *mean_first[:1],
        *([MEAN_CI_COL] if MEAN_CI_COL in df.columns else []),
        *(["Retrieval"] if "Retrieval" in type_cols else []),
        *mean_first[1:],
        *[t for t in type_cols if t != "Retrieval"],
        "License",
        "License group",
        PRICE_COL,
        PRICE_KIND_COL,
        "Embedding Dimensions",
        "Max Tokens",
        "Total Parameters (B)",
        "Active Parameters (B)",
        "Memory (GB)",
        "Zero-shot",
        "Release Date",
    ]
    if EXPERIMENT_COL in df.columns and (df[EXPERIMENT_COL] != "").any():
        shown.insert(shown.index("Model") + 1, EXPERIMENT_COL)
    if rank_col != RANK_BORDA and RANK_BORDA in df.columns:
        shown.append(RANK_BORDA)
    shown = list(dict.fromkeys(c for c in shown if c in df.columns))
    return ExplorerView(
        table=df,
        rank_col=rank_col,
        score_col=score_col,
        type_cols=type_cols,
        shown_cols=tuple(shown),
        n_models=n_models,
        n_tasks=len(summary.task_cols),
        weights=shares,
        sort_col=sort_col,
    )


def export_csv(view: ExplorerView) -> bytes:
    """The current table as CSV (the columns shown, scores ×100 as shown; formulas defused)."""
    cols = [c for c in view.shown_cols if c != PIN_COL]
    out = view.table[cols].copy()
    out.insert(0, PIN_COL, view.table[PIN_COL])
    return csvsafe.to_csv(out, index=False).encode()


def discrepancies(per_task: pd.DataFrame, models: Sequence[str]) -> pd.DataFrame:
    """Per-task scores of 2–4 models, tasks sorted by the largest spread first.

    Args:
        per_task: Wide per-task scores (``Model`` + one column per task, 0–1).
        models: The models to compare.

    Returns:
        One row per task: a column per model (×100), ``Spread`` (max − min, ×100) and
        ``Best``; tasks without a score for every model are last.
    """
    sub = per_task[per_task["Model"].isin(models)].drop_duplicates("Model").set_index("Model")
    cols = [c for c in sub.columns if c != EXPERIMENT_COL]
    t = (sub[cols].T.astype(float) * SCALE).reindex(columns=[m for m in models if m in sub.index])
    t.index.name = "Task"
    t["Spread"] = t.max(axis=1, skipna=False) - t.min(axis=1, skipna=False)
    best = t.drop(columns="Spread").idxmax(axis=1, skipna=True) if len(t) else pd.Series(dtype=str)
    t["Best"] = best.map(lambda m: m.split("/", 1)[-1] if isinstance(m, str) else m)
    return t.sort_values("Spread", ascending=False, na_position="last")


def not_zero_shot_tasks(training: object, tasks: Sequence[str]) -> list[str]:
    """Selected tasks the model was trained on (so its scores there are not zero-shot).

    Args:
        training: The model's ``training_datasets_all`` (with similar tasks; None = unknown).
        tasks: The selected tasks.

    Returns:
        Task names, in the given order.
    """
    have = set(_as_list(training))
    return [t for t in tasks if t in have]


def compare_facts(view: ExplorerView, models: Sequence[str]) -> pd.DataFrame:
    """Side-by-side facts of 2–4 models as display strings (rows = facts, columns = models).

    Args:
        view: The current view (pinned models are always in it).
        models: The models, in column order.

    Returns:
        Strings: scores with 2 decimals, prices with 4, "—" for missing.
    """
    cols = [
        view.rank_col,
        RANK_CI_COL,
        view.score_col,
        *view.type_cols,
        "License",
        "License group",
        PRICE_COL,
        PRICE_KIND_COL,
        "Embedding Dimensions",
        "Max Tokens",
        "Total Parameters (B)",
        "Memory (GB)",
        "Zero-shot",
        "Release Date",
    ]
    t = view.table.drop_duplicates("Model").set_index("Model").reindex(list(models))
    cols = [c for c in dict.fromkeys(cols) if c in t.columns]
    score_like = {view.score_col, *view.type_cols}

    def fmt(col: str, v: object) -> str:
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) or v == "":
            return "—"
        if col in score_like:
            return f"{float(v):.2f}"  # type: ignore[arg-type]
        if col == PRICE_COL:
            return f"${float(v):.4f}"  # type: ignore[arg-type]
        if col == "Memory (GB)":
            return f"{float(v):.1f}"  # type: ignore[arg-type]
        if col == "Zero-shot":
            return "unknown" if int(v) < 0 else f"{int(v)} %"  # type: ignore[call-overload]
        return str(v)

    out = pd.DataFrame({m: [fmt(c, t.at[m, c]) for c in cols] for m in models}, index=cols)
    out.index.name = "Fact"
    return out


def result_language_tags(db: str | Path | None = None) -> list[str]:
    """Every language tag in the result rows (``deu-Latn``, ``cmn-Hans``, ...).

    Args:
        db: The app database whose leaderboard to read.

    Returns:
        Sorted distinct tags.
    """
    from lib.leaderboard import store as lbstore

    with lbstore.connect(db) as cur:
        rows = cur.execute(
            "SELECT DISTINCT tag FROM (SELECT unnest(language) AS tag FROM mteb_results) WHERE tag IS NOT NULL"
        ).fetchall()
    return sorted(str(r[0]) for r in rows)


def expand_languages(languages: Sequence[str], tags: Sequence[str]) -> list[str]:
    """Map ISO 639-3 codes (what task metadata and the filter use) to result-row tags.

    Result rows carry ``lang-Script`` tags; mteb's leaderboard language filter matches on the
    language part, so ``deu`` selects ``deu-Latn`` (and any other script of it).

    Args:
        languages: Selected ISO 639-3 codes.
        tags: :func:`result_language_tags`.

    Returns:
        The matching tags (plus the bare codes, in case rows use them).
    """
    want = set(languages)
    return sorted({t for t in tags if t.split("-")[0] in want} | want)
