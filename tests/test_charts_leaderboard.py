"""Explorer charts: Pareto frontiers, SVG-only traces, labels that do not pile up."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.charts import leaderboard as charts


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Model": ["a/small", "b/mid", "c/big", "d/bad", "e/api", "f/nodata"],
            "Mean (Task)": [50.0, 60.0, 70.0, 40.0, 65.0, np.nan],
            "Total Parameters (B)": [0.03, 0.3, 7.0, 1.0, np.nan, 0.1],
            "Price ($/1M tok)": [0.0005, 0.001, 0.003, 0.003, 0.02, np.nan],
            "Price basis": ["est. self-host"] * 4 + ["api", None],
            "Embedding Dimensions": [384, 1024, 4096, 2048, 1536, 768],
            "Release Date": ["2022-01-01", "2023-01-01", "2025-01-01", "2024-01-01", "2024-06-01", None],
            "Pinned": [False, True, False, False, True, False],
        }
    )


def test_pareto_front() -> None:
    x = [1, 2, 3, 4, 2, np.nan]
    y = [1, 3, 2, 5, 3, 9]
    assert charts.pareto_front(x, y).tolist() == [True, True, False, True, True, False]
    assert charts.pareto_front([], []).tolist() == []


def test_frontier_trace_holds_exactly_the_frontier_models() -> None:
    fig = charts.score_vs_params(_table(), "Mean (Task)")
    front = next(t for t in fig.data if t.name.startswith("Pareto"))
    assert list(front.text) == ["small", "mid", "big"]  # d/bad is dominated, e/api has no size
    assert fig.layout.xaxis.type == "log"
    price = charts.score_vs_price(_table(), "Mean (Task)")
    names = {t.name for t in price.data}
    assert "est. self-host (GPU estimate)" in names and "Pinned" in names
    front = next(t for t in price.data if t.name.startswith("Pareto"))
    assert list(front.text) == ["small", "mid", "big"]


def test_every_chart_is_svg_and_handles_empty_input() -> None:
    t = _table()
    figs = [
        charts.score_vs_params(t, "Mean (Task)"),
        charts.score_vs_price(t, "Mean (Task)"),
        charts.score_vs_dims(t, "Mean (Task)"),
        charts.score_over_time(t, "Mean (Task)"),
        charts.radar(pd.DataFrame({"Model": ["b/mid"], "Retrieval": [50.0], "STS": [70.0]}), ["b/mid"]),
    ]
    assert charts.webgl_trace_count(figs) == 0
    assert all(tr.type in {"scatter", "scatterpolar"} for f in figs for tr in f.data)
    empty = charts.score_vs_params(t.assign(**{"Mean (Task)": np.nan}), "Mean (Task)")
    assert not empty.data and empty.layout.annotations
    best = next(tr for tr in figs[3].data if tr.name == "Best so far")
    assert list(best.y) == [50.0, 60.0, 65.0, 70.0, 70.0]


def test_labels_are_capped() -> None:
    assert charts.label_positions(4) == [0, 1, 2, 3]
    picks = charts.label_positions(40)
    assert len(picks) <= charts.MAX_FRONTIER_LABELS and picks[0] == 0 and picks[-1] == 39


def test_every_chart_passes_plotly_validation() -> None:
    # The charts are built without plotly's per-property validation (speed); a validating
    # Figure must accept each of them unchanged, or a typo in a property name slipped in.
    import plotly.graph_objects as go

    t = _table()
    means = pd.DataFrame({"Model": ["b/mid", "e/api"], "Retrieval": [60.0, 65.0], "STS": [70.0, np.nan]})
    figs = [
        charts.score_vs_params(t, "Mean (Task)"),
        charts.score_vs_price(t, "Mean (Task)"),
        charts.score_vs_dims(t.assign(**{"GB per 1M vectors": 1.0}), "Mean (Task)"),
        charts.score_over_time(t, "Mean (Task)"),
        charts.radar(means, ["b/mid", "e/api"]),
        charts.score_vs_params(t.iloc[0:0], "Mean (Task)"),
    ]
    for fig in figs:
        spec = fig.to_dict()
        validated = go.Figure(spec)  # raises ValueError on any invalid property
        assert len(validated.data) == len(fig.data)
