"""mteb's leaderboard summary table, recomputed from DuckDB without importing mteb.

This mirrors mteb 2.26.24's ``BenchmarkResults.split_leaderboard_frame`` (the
(task, split, subset) join that scopes rows to a benchmark) followed by
``Benchmark._create_summary_table`` (``mteb/benchmarks/_create_table.py``):

* per (model, experiment, task): the mean score over the benchmark's splits/subsets (and
  over duplicate revisions, which mteb averages too), nulled when the model skipped a
  (subset, split) cell that other models ran (mteb's ``_null_incomplete_scores``);
* ``Mean (Task)``, per-type means and ``Mean (TaskType)``: means that are null when any
  input is missing (``skipna=False``);
* ``Rank (Borda)``: per task, ``n_models - rank`` points (average ranks, from the raw
  per-task means), summed, ranked with ``method="min"``;
* ``Zero-shot``: ``int(100 - 100 * overlap / n_tasks)`` against the model's training
  datasets with similar tasks, -1 when unknown;
* an inner join on mteb's model registry (models without ``ModelMeta`` are dropped after
  ranking, so ranks can have gaps exactly as in mteb).

The tests compare this with mteb's own function on the real data. Column names are
mteb's; scores stay on mteb's 0–1 scale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from lib.errors import UserError
from lib.leaderboard import store as lbstore

RANK_BORDA = "Rank (Borda)"
MEAN_TASK = "Mean (Task)"
MEAN_TASK_TYPE = "Mean (TaskType)"
MEAN_PUBLIC = "Mean (Public)"
MEAN_PRIVATE = "Mean (Private)"
MEAN_SUBSET = "Mean (Subset)"
META_COLS = (
    "Zero-shot",
    "Active Parameters (B)",
    "Total Parameters (B)",
    "Embedding Dimensions",
    "Max Tokens",
)
EXPERIMENT_COL = "_experiment_id"

# BenchmarkAggregation value -> the summary columns it produces (mteb's
# _AGGREGATION_SUMMARY_COLUMNS), in mteb's enum order.
_AGG_COLUMNS: dict[str, tuple[str, ...]] = {
    "mean_task": (MEAN_TASK,),
    "mean_task_type": (MEAN_TASK_TYPE,),
    "task_types": (),
    "public_private": (MEAN_PUBLIC, MEAN_PRIVATE),
    "mean_subset": (MEAN_SUBSET,),
}


class UnknownBenchmarkError(UserError):
    """The benchmark name is not in the database."""


@dataclass(frozen=True)
class BenchmarkInfo:
    """A benchmark's summary configuration, as mteb defines it.

    Attributes:
        name: mteb's benchmark name.
        kind: mteb's class name (Benchmark, RtebBenchmark, HUMEBenchmark, ...).
        aggregations: ``BenchmarkAggregation`` values.
        sort_by: ``summary_sort_column`` (None: rank by Borda).
        rank_column: ``summary_rank_column``.
        public_only: Whether only public tasks count (RTEB).
        join_split: Whether mteb's scope join uses the split column.
        join_subset: Whether it uses the subset column.
        custom_groupings: Names of custom grouping dimensions (not computed here).
    """

    name: str
    kind: str
    aggregations: tuple[str, ...]
    sort_by: tuple[str, ...] | None
    rank_column: str | None
    public_only: bool
    join_split: bool
    join_subset: bool
    custom_groupings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SummaryTable:
    """A benchmark's summary table with pointers to its columns.

    Attributes:
        df: One row per model (and experiment), mteb's column names and order.
        rank_col: The rank column (``Rank (Borda)`` unless the benchmark sorts otherwise).
        primary_metric_col: The column the ranking is built on.
        mean_cols: Mean columns shown.
        type_cols: Per-task-type mean columns shown.
        task_cols: Tasks that had results (the columns mteb pivots on).
        per_task: Wide per-task scores (model, experiment, one column per task), after
            mteb's incompleteness rule; used for uncertainty and drill-down.
    """

    df: pd.DataFrame
    rank_col: str
    primary_metric_col: str
    mean_cols: tuple[str, ...]
    type_cols: tuple[str, ...]
    task_cols: tuple[str, ...]
    per_task: pd.DataFrame = field(repr=False)

    @property
    def is_empty(self) -> bool:
        """True when no model has results for the selection."""
        return self.df.empty


def benchmark_info(name: str, db: str | Path | None = None) -> BenchmarkInfo:
    """Read a benchmark's configuration.

    Args:
        name: mteb's benchmark name (or one of its aliases).
        db: The app database whose leaderboard to read.

    Returns:
        The configuration.

    Raises:
        UnknownBenchmarkError: If the name is not known; the message lists close names.
    """
    with lbstore.connect(db) as cur:
        return _benchmark_info(cur, name)


def _benchmark_info(cur: duckdb.DuckDBPyConnection, name: str) -> BenchmarkInfo:
    row = cur.execute(
        """
        SELECT name, kind, aggregations, sort_by, rank_column, public_only,
               join_split, join_subset, custom_groupings
        FROM benchmarks WHERE name = ? OR list_contains(aliases, ?)
        ORDER BY name = ? DESC LIMIT 1
        """,
        [name, name, name],
    ).fetchone()
    if row is None:
        names = [r[0] for r in cur.execute("SELECT name FROM benchmarks ORDER BY name").fetchall()]
        if not names:
            raise UnknownBenchmarkError(
                "The leaderboard file has no benchmarks: run `python -m lib refresh` "
                "(offline: set EMS_MTEB_RESULTS to a local copy of mteb/results)."
            )
        import difflib

        close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownBenchmarkError(f"Unknown benchmark {name!r}.{hint}")
    return BenchmarkInfo(
        name=row[0],
        kind=row[1],
        aggregations=tuple(row[2]),
        sort_by=tuple(row[3]) if row[3] else None,
        rank_column=row[4],
        public_only=bool(row[5]),
        join_split=bool(row[6]),
        join_subset=bool(row[7]),
        custom_groupings=tuple(row[8] or ()),
    )


def _scope_sql(
    info: BenchmarkInfo, tasks: Sequence[str] | None, languages: Sequence[str] | None
) -> tuple[str, list[object]]:
    """SQL (a CTE body) for the benchmark-scoped rows: mteb's per-benchmark frame.

    The join is mteb's ``split_leaderboard_frame``: rows whose (task, split, subset) is
    one the benchmark expects, duplicates of the scope table included.
    """
    conds = ["s.benchmark = ?"]
    params: list[object] = [info.name]
    if tasks is not None:
        conds.append("list_contains(?, s.task_name)")
        params.append(list(tasks))
    if info.public_only:
        conds.append("r.is_public")
    if languages:
        conds.append("len(list_intersect(r.language, ?)) > 0")
        params.append(list(languages))
    split_on = "r.split = s.split" if info.join_split else "TRUE"
    subset_on = "r.subset = s.subset" if info.join_subset else "TRUE"
    sql = f"""
        SELECT r.row_id, r.model_name, r.experiment_id, r.task_name, r.split, r.subset,
               r.score, r.is_public,
               (r.score IS NOT NULL AND NOT isnan(r.score)) AS scored
        FROM mteb_results r
        JOIN benchmark_scope s ON r.task_name = s.task_name AND {split_on} AND {subset_on}
        WHERE {" AND ".join(conds)}
    """
    return sql, params


# Means add rows in source order (``sum ... ORDER BY row_id``), as mteb's polars group-by
# does: near-ties between models then break the same way in the Borda count.
_PER_TASK_SQL = """
WITH j AS ({scope}),
req AS (
    SELECT task_name, {required} AS required
    FROM j WHERE scored GROUP BY task_name
),
have AS (
    SELECT model_name, experiment_id, task_name, {cell_key}
           count(DISTINCT {have}) AS have
    FROM j WHERE scored GROUP BY ALL
),
agg AS (
    SELECT model_name, experiment_id, task_name, {cell_key}
           sum(score ORDER BY row_id) / nullif(count(score), 0) AS score,
           any_value(is_public) AS is_public
    FROM j GROUP BY ALL
)
SELECT agg.model_name, agg.experiment_id, agg.task_name, {agg_cell}
       CASE WHEN have.have < req.required THEN NULL ELSE agg.score END AS score,
       agg.is_public
FROM agg
LEFT JOIN have USING (model_name, experiment_id, task_name {cell_using})
LEFT JOIN req USING (task_name)
"""

_BORDA_SQL = """
WITH j AS ({scope})
SELECT model_name, task_name, sum(score ORDER BY row_id) / nullif(count(score), 0) AS score
FROM j GROUP BY ALL
"""


def _per_task(cur: duckdb.DuckDBPyConnection, scope: str, params: list[object], by_subset: bool) -> pd.DataFrame:
    """Per (model, experiment, task[, subset]) means, nulled by mteb's incompleteness rule.

    mteb nulls a model's task score when it has fewer scored (subset, split) cells than
    the task's observed subsets × splits (``_incomplete_task_pairs``); per subset, when it
    has fewer splits than observed (``_incomplete_subset_pairs``).
    """
    if by_subset:
        sql = _PER_TASK_SQL.format(
            scope=scope,
            required="count(DISTINCT split)",
            have="split",
            cell_key="subset,",
            agg_cell="agg.subset,",
            cell_using=", subset",
        )
    else:
        sql = _PER_TASK_SQL.format(
            scope=scope,
            required="count(DISTINCT subset) * count(DISTINCT split)",
            have="(subset, split)",
            cell_key="",
            agg_cell="",
            cell_using="",
        )
    return cur.execute(sql, params).df()


def _borda(per_model_task: pd.DataFrame, part: str, n_models: int) -> pd.Series:
    """mteb's ``_borda_rank_from_long``: model -> Borda rank (Int64, 1 = best).

    Each model earns ``n_models - rank`` per partition (average ranks, descending, null
    scores unranked); points are summed and ranked with ``method="min"``.
    """
    r = per_model_task.groupby(part, sort=False)["score"].rank(method="average", ascending=False)
    points = (n_models - r).groupby(per_model_task["model_name"]).sum(min_count=0)
    return points.rank(method="min", ascending=False).astype("Int64").rename(RANK_BORDA)


def _rowmean(frame: pd.DataFrame, cols: Sequence[str]) -> pd.Series:
    if not cols:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return frame[list(cols)].mean(axis=1, skipna=False)


def _model_meta(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return cur.execute(
        """
        SELECT name AS model_name, n_parameters, n_active_parameters, embed_dim,
               max_tokens, release_date, training_datasets_all, in_mteb_registry
        FROM models
        """
    ).df()


def _format_meta(meta: pd.DataFrame, bench_tasks: Sequence[str]) -> pd.DataFrame:
    """mteb's metadata columns, formatted once per benchmark and data version.

    ``_trained_on`` keeps only the benchmark's tasks of each model's training data (None
    when unknown), so the zero-shot share of any task subset is a small set operation.
    """
    m = meta.copy()
    m["Max Tokens"] = m["max_tokens"].map(lambda x: None if pd.isna(x) else int(x)).astype("Int64")
    m["Embedding Dimensions"] = m["embed_dim"].astype("Int64")
    m["Total Parameters (B)"] = m["n_parameters"].map(_format_params).astype("Float64")
    m["Active Parameters (B)"] = m["n_active_parameters"].map(_format_params).astype("Float64")
    m["Release Date"] = m["release_date"].map(lambda d: None if pd.isna(d) else str(pd.Timestamp(d).date()))
    tasks = set(bench_tasks)
    m["_trained_on"] = m["training_datasets_all"].map(
        lambda t: frozenset(tasks.intersection(t)) if isinstance(t, (list, tuple, np.ndarray)) else None
    )
    return m


def _format_params(n: object) -> float | None:
    # mteb's _format_n_parameters: billions rounded to 1M precision.
    if n is None or (isinstance(n, float) and np.isnan(n)) or n is pd.NA:
        return None
    return round(float(n) / 1e9, 3)  # type: ignore[arg-type]


def _zero_shot(trained_on: frozenset[str] | None, task_cols: Sequence[str]) -> int:
    # mteb's _zero_shot_pct_cached; -1 when the model's training data is unknown.
    if not task_cols or trained_on is None:
        return -1
    overlap = trained_on.intersection(task_cols)
    return int(100 - 100 * (len(overlap) / len(task_cols)))


def summary_table(
    benchmark: str,
    db: str | Path | None = None,
    *,
    tasks: Sequence[str] | None = None,
    languages: Sequence[str] | None = None,
    include_unregistered: bool = True,
) -> SummaryTable:
    """mteb's leaderboard summary table for a benchmark (or a subset of its tasks).

    Args:
        benchmark: mteb's benchmark name or alias.
        db: The app database whose leaderboard to read.
        tasks: Restrict to these tasks of the benchmark (ranks are recomputed for the
            subset, as mteb would for a benchmark of those tasks); None for all.
        languages: Keep only result rows whose languages intersect these (mteb's
            leaderboard language filter); None for all.
        include_unregistered: Also list models known only from local result folders
            (mteb drops models without a registry entry; the published data never has
            such models, so this does not change mteb's tables).

    Returns:
        The summary table.
    """
    data = benchmark_data(benchmark, db, languages)
    per_task_long, borda_long, per_subset = data.per_task_long, data.borda_long, data.per_subset
    if tasks is not None:
        keep = set(tasks)
        per_task_long = per_task_long[per_task_long["task_name"].isin(keep)]
        borda_long = borda_long[borda_long["task_name"].isin(keep)]
        if per_subset is not None:
            per_subset = per_subset[per_subset["task_name"].isin(keep)]
    meta = data.meta if include_unregistered else data.meta[data.meta["in_mteb_registry"]]
    return _build(data.info, per_task_long, borda_long, per_subset, data.types, data.order, meta)


@dataclass(frozen=True)
class BenchmarkData:
    """A benchmark's aggregated cells (per-task means, Borda inputs, formatted metadata), read once per data version.

    Public so the explorer's rank bootstrap works on exactly the numbers the rank comes from.
    """

    info: BenchmarkInfo
    per_task_long: pd.DataFrame
    borda_long: pd.DataFrame
    per_subset: pd.DataFrame | None
    types: dict[str, str]
    order: list[str]
    meta: pd.DataFrame


_CACHE_SIZE = 16
_cache: OrderedDict[tuple[object, ...], BenchmarkData] = OrderedDict()
_cache_lock = threading.Lock()


def benchmark_data(benchmark: str, db: str | Path | None, languages: Sequence[str] | None) -> BenchmarkData:
    """The per-(model, task) aggregates of a benchmark, cached per data version.

    Everything a task subset needs is per task (mteb's incompleteness rule and the Borda
    means are computed task by task), so one read serves every subset of the benchmark;
    only a language filter changes the rows and gets its own entry. The key includes the
    latest refresh (id and time) of the leaderboard file, and everything is read through one
    cursor, so the entry is of one file version even when a refresh swaps files meanwhile.
    """
    path = lbstore.resolve_path(db)
    with lbstore.connect(db) as cur:
        row = cur.execute("SELECT id, refreshed_at FROM refreshes ORDER BY id DESC LIMIT 1").fetchone()
        key = (path, tuple(row) if row else None, benchmark, tuple(sorted(languages or ())))
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return hit
        info = _benchmark_info(cur, benchmark)
        scope, params = _scope_sql(info, None, languages)
        per_task_long = _per_task(cur, scope, params, by_subset=False)
        borda_long = cur.execute(_BORDA_SQL.format(scope=scope), params).df()
        per_subset = _per_task(cur, scope, params, by_subset=True) if "mean_subset" in info.aggregations else None
        types = dict(cur.execute("SELECT name, type FROM tasks").fetchall())
        order = [
            r[0]
            for r in cur.execute(
                "SELECT task_name FROM benchmark_tasks WHERE benchmark = ? ORDER BY position",
                [info.name],
            ).fetchall()
        ]
        meta = _format_meta(_model_meta(cur), order)
    data = BenchmarkData(info, per_task_long, borda_long, per_subset, types, order, meta)
    with _cache_lock:
        _cache[key] = data
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return data


def _build(
    info: BenchmarkInfo,
    per_task_long: pd.DataFrame,
    borda_long: pd.DataFrame,
    per_subset: pd.DataFrame | None,
    types: dict[str, str],
    order: list[str],
    meta: pd.DataFrame,
) -> SummaryTable:
    aggs = set(info.aggregations)
    mean_cols = tuple(c for a in _AGG_COLUMNS if a in aggs for c in _AGG_COLUMNS[a])
    primary = next(
        (_AGG_COLUMNS[a][0] for a in ("mean_task", "mean_subset", "mean_task_type", "public_private") if a in aggs),
        RANK_BORDA,
    )
    empty = SummaryTable(
        df=pd.DataFrame(),
        rank_col=RANK_BORDA,
        primary_metric_col=primary,
        mean_cols=mean_cols,
        type_cols=(),
        task_cols=(),
        per_task=pd.DataFrame(),
    )
    if per_task_long.empty:
        return empty

    wide = per_task_long.pivot(index=["model_name", "experiment_id"], columns="task_name", values="score")
    present = set(wide.columns)
    task_cols = [t for t in order if t in present] + sorted(present - set(order))
    wide = wide[task_cols].astype(float)
    wide = wide[wide.notna().any(axis=1)]
    if wide.empty:
        return empty

    public_by_task = per_task_long.groupby("task_name")["is_public"].first().to_dict()
    out = pd.DataFrame(index=wide.index)
    type_tasks: dict[str, list[str]] = {}
    for t in task_cols:
        type_tasks.setdefault(types.get(t, "Unknown"), []).append(t)
    type_cols = list(type_tasks)
    for typ, ts in type_tasks.items():
        out[typ] = _rowmean(wide, ts)
    out[MEAN_TASK] = _rowmean(wide, task_cols)
    out[MEAN_PUBLIC] = _rowmean(wide, [c for c in task_cols if public_by_task.get(c, True) is not False])
    out[MEAN_PRIVATE] = _rowmean(wide, [c for c in task_cols if public_by_task.get(c, True) is False])
    out[MEAN_TASK_TYPE] = _rowmean(out, type_cols)

    n_models = len(wide)
    if per_subset is not None:
        subset_mean = per_subset.groupby(["model_name", "experiment_id"])["score"].agg(
            lambda v: v.mean() if v.notna().all() else np.nan
        )
        out = out.join(subset_mean.rename(MEAN_SUBSET))
        # Borda over the nulled per-subset means, one partition per task::subset.
        keyed = per_subset.assign(_ts=per_subset["task_name"] + "::" + per_subset["subset"])
        keyed = keyed.groupby(["model_name", "_ts"], as_index=False)["score"].mean()
        borda = _borda(keyed, "_ts", n_models)
    else:
        borda = _borda(borda_long, "task_name", n_models)

    out = out.reset_index()
    out = out.merge(borda.reset_index(), on="model_name", how="left")
    drop = [c for a, cols in _AGG_COLUMNS.items() if a not in aggs for c in cols]
    if "task_types" not in aggs:
        drop += type_cols
    out = out.drop(columns=[c for c in drop if c in out.columns])

    # Attach mteb's model metadata (inner join: models without ModelMeta drop out).
    m = meta.copy()
    m["Zero-shot"] = m["_trained_on"].map(lambda t: _zero_shot(t, task_cols)).astype("Int64")
    out = out.merge(
        m[
            [
                "model_name",
                "Zero-shot",
                "Active Parameters (B)",
                "Total Parameters (B)",
                "Embedding Dimensions",
                "Max Tokens",
                "Release Date",
            ]
        ],
        on="model_name",
        how="inner",
    ).rename(columns={"model_name": "Model", "experiment_id": EXPERIMENT_COL})

    rank_col = RANK_BORDA
    trailing: list[str] = []
    if info.sort_by:
        rank_col = info.rank_column or "Rank"
        out = out.sort_values(list(info.sort_by), ascending=False, na_position="last", kind="stable")
        out[rank_col] = np.arange(1, len(out) + 1)
        trailing = [RANK_BORDA]
    elif "mean_subset" in aggs:
        out = out.sort_values(MEAN_SUBSET, ascending=False, na_position="last", kind="stable")
    else:
        out = out.sort_values([RANK_BORDA, "Model"], na_position="last", kind="stable")
    shown_types = type_cols if "task_types" in aggs else []
    ordering = [rank_col, "Model", EXPERIMENT_COL, *META_COLS, *mean_cols, *shown_types, *trailing, "Release Date"]
    out = out[[c for c in ordering if c in out.columns]].reset_index(drop=True)
    per_task = wide.reset_index().rename(columns={"model_name": "Model", "experiment_id": EXPERIMENT_COL})
    per_task = per_task[per_task["Model"].isin(out["Model"])].reset_index(drop=True)
    return SummaryTable(
        df=out,
        rank_col=rank_col,
        primary_metric_col=primary,
        mean_cols=mean_cols,
        type_cols=tuple(shown_types),
        task_cols=tuple(task_cols),
        per_task=per_task,
    )
