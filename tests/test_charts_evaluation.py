"""Evaluation charts: the figures carry the numbers they are given (CIs, ranks, costs)."""

from __future__ import annotations

import math

import pandas as pd

from lib.charts import evaluation as charts


def _models() -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["minilm", "bm25", "openai:text-embedding-3-small"],
        "label": ["all-MiniLM-L6-v2", "BM25", "text-embedding-3-small"],
        "mean": [0.80, 0.60, 0.85], "low": [0.73, 0.50, 0.78], "high": [0.87, 0.70, 0.91],
        "tie_group": [1, 2, 1],
        "latency_p50_ms": [71.0, 0.07, 250.0],
        "usd_per_month": [1597.0, math.nan, 12.5],
    })


def test_metric_bars_sorted_with_asymmetric_ci() -> None:
    fig = charts.metric_by_model(_models(), "nDCG@10")
    bar = fig.data[0]
    assert list(bar.x) == ["text-embedding-3-small", "all-MiniLM-L6-v2", "BM25"]
    assert list(bar.error_y.array) == pytest_approx([0.06, 0.07, 0.10])
    assert list(bar.error_y.arrayminus) == pytest_approx([0.07, 0.07, 0.10])
    # the two models of the best tie group share a colour, the other differs
    assert bar.marker.color[0] == bar.marker.color[1] != bar.marker.color[2]


def pytest_approx(values: list[float]) -> object:
    import pytest

    return pytest.approx(values, abs=1e-9)


def test_cost_chart_leaves_out_unpriced_and_says_so() -> None:
    fig = charts.quality_vs_cost(_models(), "nDCG@10")
    names = [t.name for t in fig.data]
    assert names == ["all-MiniLM-L6-v2", "text-embedding-3-small"]
    assert "not priced: BM25" in fig.layout.title.text
    assert fig.layout.xaxis.type == "log"
    assert "$12.50" in fig.data[1].text[0]


def test_latency_chart_uses_measured_latency() -> None:
    fig = charts.quality_vs_latency(_models(), "nDCG@10")
    assert [next(iter(t.x)) for t in fig.data] == [71.0, 0.07, 250.0]


def test_dimension_sweep_one_line_per_model_and_precision() -> None:
    rows = []
    for prec, base in (("float32", 0.8), ("int8", 0.78), ("binary", 0.6)):
        for dim in (64, 128, 384):
            rows += [{"model": "minilm", "dim": dim, "precision": prec, "index_bytes": dim * 4, "metric": "nDCG@10",
                      "mean": base - 0.1 * (384 - dim) / 384, "ci_low": 0.5, "ci_high": 0.9}]
    fig = charts.quality_vs_dimensions(pd.DataFrame(rows), "nDCG@10", {"minilm": "MiniLM"})
    assert [t.name for t in fig.data] == ["MiniLM · float32", "MiniLM · int8", "MiniLM · binary"]
    assert list(fig.data[0].x) == [64, 128, 384]
    assert fig.data[2].line.dash == "dashdot"


def test_empty_inputs_give_explanations_not_errors() -> None:
    assert "No dimension" in charts.quality_vs_dimensions(pd.DataFrame(), "nDCG@10").layout.annotations[0].text
    ranks = pd.DataFrame({"label": ["a"], "your_rank": [1], "mteb_rank": [float("nan")]})
    assert "at least two" in charts.rank_comparison(ranks, "nDCG@10").layout.annotations[0].text


def test_rank_chart_reversed_axis_and_thicker_moved_lines() -> None:
    ranks = pd.DataFrame({"label": ["A", "B", "C"], "your_rank": [2, 1, 3], "mteb_rank": [1, 2, 3]})
    fig = charts.rank_comparison(ranks, "nDCG@10")
    assert fig.layout.yaxis.autorange == "reversed"
    widths = {t.name: t.line.width for t in fig.data}
    assert widths["A"] > widths["C"] and widths["B"] > widths["C"]
