"""Our summary tables against mteb's own code on the real data."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import store
from lib.leaderboard.ranking import UnknownBenchmarkError, summary_table
from tests.reference.mteb_tables import mteb_summary


def assert_same_table(ours: pd.DataFrame, theirs: pd.DataFrame, rank_col: str, *, rank_nulls: bool = True) -> None:
    assert set(ours["Model"]) == set(theirs["Model"])
    assert len(ours) == len(theirs)
    o = ours.set_index("Model")
    t = theirs.set_index("Model")
    for col in t.columns:
        if col in ("_experiment_id", "Release Date"):
            continue
        assert col in o.columns, f"missing column {col}"
        a = pd.to_numeric(t[col], errors="coerce").astype(float)
        b = pd.to_numeric(o.loc[t.index, col], errors="coerce").astype(float)
        if col == rank_col and not rank_nulls:
            # mteb orders models with no primary score arbitrarily (unstable sort).
            keep = o.loc[t.index, ours.columns[ours.columns.str.startswith("Mean")][0]].notna()
            a, b = a[keep], b[keep]
        both_nan = a.isna() & b.isna()
        same = (a == b) if col.startswith("Rank") else ((a - b).abs() <= 1e-9)
        bad = ~(same | both_nan)
        example = pd.DataFrame({"mteb": a[bad], "ours": b[bad]}).head()
        assert not bad.any(), f"{col}: {int(bad.sum())} mismatches, e.g. {example}"


@pytest.mark.parametrize("benchmark", ["MTEB(eng, v2)", "MTEB(Multilingual, v2)"])
def test_identical_to_mteb(benchmark: str, lb_db: Path, results_parquet: list[Path]) -> None:
    theirs = mteb_summary(benchmark, results_parquet)
    ours = summary_table(benchmark, lb_db).df
    assert_same_table(ours, theirs, "Rank (Borda)")


def test_reference_figures(lb_db: Path) -> None:
    # ../shared/mteb-results/SOURCE.md
    df = summary_table("MTEB(eng, v2)", lb_db).df
    assert len(df) == 317
    top = df.set_index("Rank (Borda)")
    assert top.loc[1, "Model"] == "jcorners/ingot-8b-r3"
    assert round(top.loc[1, "Mean (Task)"], 4) == 0.7598
    assert top.loc[4, "Model"] == "Qwen/Qwen3-Embedding-8B"
    assert round(top.loc[4, "Mean (Task)"], 4) == 0.7523


def test_task_subset_ranks_like_mteb(lb_db: Path, results_parquet: list[Path]) -> None:
    tasks = ["ArguAna", "SCIDOCS", "TRECCOVID", "STS12", "Banking77Classification"]
    ours = summary_table("MTEB(eng, v2)", lb_db, tasks=tasks)
    theirs = mteb_summary("MTEB(eng, v2)", results_parquet, tasks=tasks)
    assert set(ours.task_cols) == set(tasks)
    assert_same_table(ours.df, theirs, "Rank (Borda)")
    # And the subset really changes the ranking.
    full = summary_table("MTEB(eng, v2)", lb_db).df.set_index("Model")["Rank (Borda)"]
    sub = ours.df.set_index("Model")["Rank (Borda)"]
    assert (full.reindex(sub.index) != sub).any()


def test_structure(lb_db: Path) -> None:
    t = summary_table("MTEB(eng, v2)", lb_db)
    assert list(t.df.columns[:2]) == ["Rank (Borda)", "Model"]
    assert t.primary_metric_col == "Mean (Task)"
    assert "Retrieval" in t.type_cols
    assert len(t.task_cols) == 41
    # Mean (Task) is null exactly when a task score is missing (mteb's skipna=False).
    wide = t.per_task.set_index("Model")[list(t.task_cols)]
    means = t.df.set_index("Model")["Mean (Task)"]
    assert (wide.isna().any(axis=1) == means.reindex(wide.index).isna()).all()
    complete = wide.dropna()
    np.testing.assert_allclose(complete.mean(axis=1), means.reindex(complete.index), atol=1e-12)


def test_unknown_benchmark_suggests_names(lb_db: Path) -> None:
    with pytest.raises(UnknownBenchmarkError, match=r"MTEB\(eng, v2\)"):
        summary_table("MTEB(eng v2)", lb_db)


def test_empty_database_says_how_to_load(tmp_path: Path) -> None:
    from lib.leaderboard.store import NoLeaderboardError

    with pytest.raises(NoLeaderboardError, match=r"No leaderboard loaded yet .*python -m lib refresh"):
        summary_table("MTEB(eng, v2)", tmp_path / "empty.duckdb")


def test_cli_csv_has_mteb_columns_and_full_precision(lb_db: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "leaderboard", "MTEB(eng, v2)", "--format", "csv", "--db", str(lb_db)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 0, proc.stderr
    from io import StringIO

    df = pd.read_csv(StringIO(proc.stdout))
    assert list(df.columns[:2]) == ["Rank (Borda)", "Model"]
    assert {"Mean (Task)", "Mean (TaskType)", "Retrieval", "STS"} <= set(df.columns)
    ours = summary_table("MTEB(eng, v2)", lb_db).df.set_index("Model")["Mean (Task)"]
    got = df.set_index("Model")["Mean (Task)"]
    assert np.allclose(got, ours.reindex(got.index), atol=1e-15, equal_nan=True)
    assert df["Mean (Task)"].max() < 1.0  # mteb's 0-1 scale


def test_cli_unknown_benchmark_exit_2(lb_db: Path) -> None:
    store.close(lb_db)
    proc = subprocess.run(
        [sys.executable, "-m", "lib", "leaderboard", "nope", "--db", str(lb_db)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.returncode == 2
    assert "Unknown benchmark" in proc.stderr


@pytest.mark.slow
def test_every_benchmark_matches_mteb(lb_db: Path, results_parquet: list[Path]) -> None:
    from lib.leaderboard import queries

    checked = 0
    for name in queries.benchmarks(lb_db)["name"]:
        theirs = mteb_summary(name, results_parquet)
        ours = summary_table(name, lb_db)
        if "No results" in theirs.columns:
            assert ours.is_empty, name
            continue
        # Custom groupings (LongEmbed's context lengths, ...) are not computed here.
        theirs = theirs[[c for c in theirs.columns if not c.startswith("__cg__")]]
        assert_same_table(ours.df, theirs, ours.rank_col, rank_nulls=ours.rank_col == "Rank (Borda)")
        checked += 1
    assert checked >= 70
