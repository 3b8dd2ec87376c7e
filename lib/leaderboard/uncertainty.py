"""Rank uncertainty: how much a leaderboard position depends on which tasks were picked.

No MTEB leaderboard shows this (mteb issue #5208). A benchmark is a sample of tasks; we
resample the selected tasks with replacement (a nonparametric bootstrap over tasks),
recompute every model's mean and rank on each resampled benchmark, and report the 2.5 and
97.5 percentiles: a 95 % interval for the mean and for the rank.

* The rank is recomputed the way the table ranks: for a Borda benchmark each task gives a
  model ``n_models - rank_in_task`` points (mteb's ``_borda_rank_from_long``; a model
  without a score on a task gets none), a resampled benchmark sums the points of the
  drawn tasks (a task drawn twice counts twice) and ranks the sums with ``method="min"``.
  For benchmarks ranked by a mean (ViDoRe v3, MIEB) the rank is by the resampled mean.
* The mean interval exists only for models with a score on every selected task (mteb's
  mean is null otherwise).
* "Not separable" groups: walk the models in rank order; the first model not yet in a
  group leads a new group, and every later model whose best plausible rank (2.5
  percentile) is at or above the leader's worst plausible rank (97.5 percentile) joins it.
  So a group is "the leader and everyone whose rank interval overlaps the leader's".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

N_DRAWS = 1000
SEED = 20261125
EXPLANATION = (
    "95 % intervals come from re-drawing the selected tasks with replacement 1,000 times and "
    "re-ranking; models in the same group have overlapping rank intervals with the group's "
    "leader, so the task sample cannot tell them apart."
)


@dataclass(frozen=True)
class RankUncertainty:
    """Bootstrap intervals for one summary table.

    Attributes:
        frame: One row per input row (same order): ``mean_lo``, ``mean_hi`` (0–1 scale,
            NaN when the model misses a task), ``rank_lo``, ``rank_hi`` (best/worst
            plausible rank, integers).
        n_draws: Bootstrap draws.
        n_tasks: Tasks resampled.
        by: ``"borda"`` or ``"mean"``: what the rank is recomputed from.
    """

    frame: pd.DataFrame
    n_draws: int
    n_tasks: int
    by: str


def borda_points(scores: np.ndarray) -> np.ndarray:
    """Per-task Borda points as mteb gives them.

    Args:
        scores: (models, tasks) scores; NaN for missing.

    Returns:
        (models, tasks) points ``n_models - average_rank`` (descending scores), 0 where
        the score is missing (mteb's sum skips the null points).
    """
    n = scores.shape[0]
    frame = pd.DataFrame(scores)
    ranks = frame.rank(method="average", ascending=False, axis=0).to_numpy()
    points = n - ranks
    return np.where(np.isnan(points), 0.0, points)


def min_rank_rows(values: np.ndarray) -> np.ndarray:
    """Rank each row's values descending with ties sharing the best rank (``method="min"``).

    Args:
        values: (draws, models); NaN ranks last.

    Returns:
        (draws, models) integer ranks, 1 = best.
    """
    v = np.where(np.isnan(values), -np.inf, values)
    # Ties are resolved from the sorted values below, so the sort need not be stable:
    # introsort is several times faster than the stable sort on (1000 draws x 400 models).
    order = np.argsort(-v, axis=1)  # best first
    s = np.take_along_axis(v, order, axis=1)
    n_rows, n = v.shape
    # In each sorted row a tie run shares the position of its first element.
    new_value = np.ones((n_rows, n), dtype=bool)
    new_value[:, 1:] = s[:, 1:] != s[:, :-1]
    idx = np.broadcast_to(np.arange(n, dtype=np.int32), (n_rows, n))
    start = np.maximum.accumulate(np.where(new_value, idx, 0), axis=1)
    # Scatter back through flat indices (cheaper than put_along_axis).
    ranks = np.empty((n_rows, n), dtype=np.int32)
    flat = (order + (np.arange(n_rows, dtype=np.intp)[:, None] * n)).ravel()
    ranks.ravel()[flat] = (start + 1).ravel()
    return ranks


@functools.lru_cache(maxsize=32)
def draw_counts(n_tasks: int, n_draws: int = N_DRAWS, seed: int = SEED) -> np.ndarray:
    """How often each task is drawn in each resampled benchmark (read-only, cached).

    Sampling ``n_tasks`` tasks with replacement is a multinomial draw of the counts.

    Args:
        n_tasks: Tasks in the benchmark.
        n_draws: Resampled benchmarks.
        seed: RNG seed.

    Returns:
        (n_draws, n_tasks) float counts, each row summing to ``n_tasks``.
    """
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_tasks, np.full(n_tasks, 1.0 / n_tasks), size=n_draws).astype(float)
    counts.flags.writeable = False
    return counts


def bootstrap(
    scores: np.ndarray,
    *,
    points: np.ndarray | None = None,
    point_rows: np.ndarray | None = None,
    task_types: Sequence[str] | None = None,
    by: str = "borda",
    n_draws: int = N_DRAWS,
    seed: int = SEED,
) -> RankUncertainty:
    """Bootstrap the task sample of a (models × tasks) score matrix.

    Args:
        scores: (models, tasks) per-task scores (mteb's nulled per-task means), NaN missing.
        points: (models, tasks) Borda points per task (see :func:`borda_points`); when
            None they are computed from ``scores``. mteb ranks tasks on the raw means of
            every model that ran them, so pass :func:`lib.leaderboard.explorer`'s exact
            matrix to reproduce the table's rank. Its rows are every model that competes
            in the ranking (mteb ranks before dropping models without metadata).
        point_rows: For each row of ``scores``, its row in ``points`` (default: same order).
        task_types: Type of each task, for ``by="mean_task_type"``.
        by: ``"borda"`` (sum of points), ``"mean"`` (mean over tasks) or
            ``"mean_task_type"`` (mean of per-type means): what the rank is computed from.
        n_draws: Number of resampled benchmarks.
        seed: RNG seed (fixed, so the table does not flicker between reruns).

    Returns:
        The intervals, one row per model in input order.
    """
    # The matrix products here are small: OpenBLAS's second thread only spins, doubling the
    # CPU time of an explorer rerun for no gain in wall time on a server shared by sessions
    # (measured on MTEB(Multilingual, v2): 82 ms wall either way, CPU 161 → 82 ms). The limit
    # is process-wide for these ~30 ms; other sessions' BLAS work at that moment runs on one
    # thread, which costs them at most that long.
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _bootstrap(
            scores, points=points, point_rows=point_rows, task_types=task_types, by=by, n_draws=n_draws, seed=seed
        )


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()  # scans the loaded BLAS libraries once per process


def _bootstrap(
    scores: np.ndarray,
    *,
    points: np.ndarray | None,
    point_rows: np.ndarray | None,
    task_types: Sequence[str] | None,
    by: str,
    n_draws: int,
    seed: int,
) -> RankUncertainty:
    n_models, n_tasks = scores.shape
    empty = pd.DataFrame(
        {"mean_lo": np.nan, "mean_hi": np.nan, "rank_lo": pd.NA, "rank_hi": pd.NA}, index=range(n_models)
    ).astype({"rank_lo": "Int64", "rank_hi": "Int64"})
    if n_models == 0 or n_tasks == 0:
        return RankUncertainty(empty, n_draws, n_tasks, by)
    counts = draw_counts(n_tasks, n_draws, seed)
    complete = ~np.isnan(scores).any(axis=1)
    filled = np.where(np.isnan(scores), 0.0, scores)
    means = (counts @ filled.T) / n_tasks  # (draws, models)
    means[:, ~complete] = np.nan
    if by == "borda":
        pts = borda_points(scores) if points is None else points
        stat = counts @ pts.T
    elif by == "mean_task_type" and task_types is not None:
        types = np.asarray(task_types)
        per_type = []
        for typ in dict.fromkeys(types.tolist()):
            sel = types == typ
            c = counts[:, sel]
            drawn = c.sum(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                per_type.append((c @ filled[:, sel].T) / drawn)  # NaN when the type was not drawn
        stack = np.stack(per_type)  # (types, draws, models)
        with np.errstate(invalid="ignore"):
            stat = np.nanmean(stack, axis=0)
        stat[:, ~complete] = np.nan
    else:
        stat = means
    ranks = min_rank_rows(stat)
    if by == "borda" and points is not None:
        ranks = ranks[:, np.arange(n_models) if point_rows is None else point_rows]
    if complete.any():
        # Incomplete models' columns are NaN-free placeholders (masked below): plain
        # percentile is several times faster than nanpercentile's per-column loop.
        filled_means = np.where(complete, means, 0.0)
        lo_hi = np.percentile(filled_means, [2.5, 97.5], axis=0)
        mean_lo = np.where(complete, lo_hi[0], np.nan)
        mean_hi = np.where(complete, lo_hi[1], np.nan)
    else:
        mean_lo = mean_hi = np.full(n_models, np.nan)
    # Percentiles of an integer rank: "lower" for the best end and "higher" for the worst so
    # the interval only ever contains ranks that actually occurred.
    rank_lo = np.percentile(ranks, 2.5, axis=0, method="lower").astype(float)
    rank_hi = np.percentile(ranks, 97.5, axis=0, method="higher").astype(float)
    if by != "borda":
        # A model without a mean has no mean rank.
        rank_lo = np.where(complete, rank_lo, np.nan)
        rank_hi = np.where(complete, rank_hi, np.nan)
    frame = pd.DataFrame(
        {
            "mean_lo": mean_lo,
            "mean_hi": mean_hi,
            "rank_lo": pd.array([None if np.isnan(x) else int(x) for x in rank_lo], dtype="Int64"),
            "rank_hi": pd.array([None if np.isnan(x) else int(x) for x in rank_hi], dtype="Int64"),
        }
    )
    return RankUncertainty(frame, n_draws, n_tasks, by)


def separable_groups(rank_lo: Sequence[object], rank_hi: Sequence[object]) -> list[int | None]:
    """Group models whose rank interval overlaps their group leader's.

    Input must be in rank order (best first). The first ungrouped model leads a group;
    each later model with ``rank_lo <= leader.rank_hi`` joins it. Models without an
    interval get None.

    Args:
        rank_lo: Best plausible rank per model, in rank order.
        rank_hi: Worst plausible rank per model.

    Returns:
        Group number per model (1 = the top group), or None.
    """
    out: list[int | None] = [None] * len(rank_lo)
    group = 0
    leader_hi: float | None = None
    for i, (lo, hi) in enumerate(zip(rank_lo, rank_hi, strict=True)):
        if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
            continue
        if leader_hi is None or float(lo) > leader_hi:  # type: ignore[arg-type]
            group += 1
            leader_hi = float(hi)  # type: ignore[arg-type]
        out[i] = group
    return out
