"""Bootstrap rank intervals and not-separable groups (mteb issue #5208)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.leaderboard import explorer, queries
from lib.leaderboard.ranking import summary_table
from lib.leaderboard.uncertainty import bootstrap, borda_points, min_rank_rows, separable_groups


def test_min_rank_rows_matches_pandas_min_rank() -> None:
    rng = np.random.default_rng(1)
    v = rng.integers(0, 4, size=(200, 9)).astype(float)
    v[rng.random(v.shape) < 0.1] = np.nan
    want = pd.DataFrame(np.where(np.isnan(v), -np.inf, v)).rank(axis=1, method="min", ascending=False)
    assert (min_rank_rows(v) == want.to_numpy()).all()


def test_dominant_model_is_always_first_and_equal_models_share_intervals() -> None:
    rng = np.random.default_rng(2)
    base = rng.random((5, 30))
    scores = np.vstack([base.max(axis=0) + 0.1, base, base[0]])  # row 0 dominates; rows 1 and 6 equal
    res = bootstrap(scores, n_draws=300)
    f = res.frame
    assert (f.loc[0, "rank_lo"], f.loc[0, "rank_hi"]) == (1, 1)
    assert f.loc[1, ["rank_lo", "rank_hi"]].tolist() == f.loc[6, ["rank_lo", "rank_hi"]].tolist()
    assert f.loc[0, "mean_lo"] <= scores[0].mean() <= f.loc[0, "mean_hi"]
    # Deterministic: same seed, same intervals.
    assert bootstrap(scores, n_draws=300).frame.equals(f)


def test_model_with_missing_task_has_rank_but_no_mean_interval() -> None:
    scores = np.array([[0.9, 0.8, 0.7], [0.5, np.nan, 0.4]])
    f = bootstrap(scores, n_draws=100).frame
    assert np.isnan(f.loc[1, "mean_lo"]) and pd.notna(f.loc[1, "rank_lo"])
    assert (borda_points(scores) == np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])).all()
    by_mean = bootstrap(scores, by="mean", n_draws=100).frame
    assert pd.isna(by_mean.loc[1, "rank_lo"])


def test_separable_groups_definition() -> None:
    # Leader 1 spans ranks 1-3: models whose best rank is <= 3 join it; the next opens group 2.
    lo = [1, 1, 3, 4, 4, None, 9]
    hi = [3, 4, 6, 7, 5, None, 10]
    assert separable_groups(lo, hi) == [1, 1, 1, 2, 2, None, 3]
    assert separable_groups([], []) == []


@pytest.mark.parametrize("tasks", [None, ["ArguAna", "SCIDOCS", "STS12", "Banking77Classification"]])
def test_borda_points_reproduce_mtebs_rank_exactly(lb_db: Path, tasks: list[str] | None) -> None:
    table = summary_table("MTEB(eng, v2)", lb_db, tasks=tasks)
    b = explorer.borda_inputs("MTEB(eng, v2)", lb_db, tasks)
    points = pd.Series(b.points.sum(axis=1), index=b.models).rank(method="min", ascending=False)
    assert (table.df["Model"].map(points) == table.df["Rank (Borda)"]).all()


def test_intervals_on_a_real_benchmark(lb_db: Path) -> None:
    table = summary_table("MTEB(eng, v2)", lb_db)
    tasks = queries.benchmark_tasks("MTEB(eng, v2)", lb_db)
    unc = explorer.rank_uncertainty(
        table, explorer.borda_inputs("MTEB(eng, v2)", lb_db), dict(tasks[["task_name", "type"]].to_numpy())
    )
    df = table.df.join(unc)
    assert len(df) == 317 and df["rank_lo"].notna().all()
    assert (df["rank_lo"] <= df["rank_hi"]).all()
    # The point rank lies in its interval for nearly every model (percentile intervals need not always).
    inside = (df["rank_lo"] <= df["Rank (Borda)"]) & (df["Rank (Borda)"] <= df["rank_hi"])
    assert inside.mean() > 0.95
    complete = df["Mean (Task)"].notna()
    assert (
        (df.loc[complete, "mean_lo"] <= df.loc[complete, "Mean (Task)"] + 1e-12)
        & (df.loc[complete, "Mean (Task)"] <= df.loc[complete, "mean_hi"] + 1e-12)
    ).all()
    assert df.loc[~complete, "mean_lo"].isna().all()
