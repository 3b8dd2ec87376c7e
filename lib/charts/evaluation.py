"""Evaluation charts: pure functions from a run's tables to plotly figures.

The frames come from :mod:`lib.report` (``model_table``, ``rank_vs_mteb``) and from
:class:`lib.evaluation.runs.StoredRun` (``sweep``); nothing here computes a metric.
Every chart shows the 95 % confidence interval as error bars: with a few dozen queries the
intervals are wide, and a chart without them would invite reading noise as a ranking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from lib.charts import style
from lib.fmt import usd

#: Tie groups: group 1 (the best, statistically indistinguishable) in the strongest colour.
_GROUP_COLOURS = ["#1d4ed8", "#60a5fa", "#94a3b8", "#cbd5e1", "#e2e8f0"]
_PRECISION_DASH = {"float32": "solid", "float16": "dot", "int8": "dash", "binary": "dashdot"}


def _err(df: pd.DataFrame) -> dict[str, object]:
    """Asymmetric error bars from mean/low/high columns."""
    return {
        "type": "data",
        "symmetric": False,
        "array": (df["high"] - df["mean"]).clip(lower=0).tolist(),
        "arrayminus": (df["mean"] - df["low"]).clip(lower=0).tolist(),
        "thickness": 1.5,
        "width": 6,
    }


def _empty(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font={"size": 14, "color": "#64748b"})
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False},
                      **{**style.LAYOUT, "height": 260})
    return fig


def _group_label(g: object) -> str:
    if g is None or (isinstance(g, float) and math.isnan(g)) or pd.isna(g):
        return "no group"
    return f"group {int(g)}" + (" (best)" if int(g) == 1 else "")  # type: ignore[call-overload]


def metric_by_model(df: pd.DataFrame, metric: str) -> go.Figure:
    """Bars of one metric per model with 95 % CI error bars, coloured by tie group.

    Args:
        df: One row per model with ``label``, ``mean``, ``low``, ``high`` and optional
            ``tie_group`` (1 = best group; models in one group cannot be told apart).
        metric: Metric name for the axis title.

    Returns:
        The figure (models sorted best first).
    """
    title = f"{metric} by model (95 % CI)"
    if df.empty:
        return _empty(title, "No results")
    d = df.sort_values("mean", ascending=False).reset_index(drop=True)
    groups = d["tie_group"] if "tie_group" in d.columns else pd.Series([None] * len(d))
    colours = [
        _GROUP_COLOURS[min(int(g) - 1, len(_GROUP_COLOURS) - 1)] if pd.notna(g) else "#94a3b8"
        for g in groups
    ]
    fig = go.Figure(
        go.Bar(
            x=d["label"],
            y=d["mean"],
            error_y=_err(d),
            marker_color=colours,
            text=[f"{v:.3f}" for v in d["mean"]],
            textposition="inside",
            insidetextanchor="start",
            customdata=list(zip(d["low"], d["high"], [_group_label(g) for g in groups], strict=True)),
            hovertemplate="<b>%{x}</b><br>" + metric
            + " %{y:.3f}<br>95 % CI %{customdata[0]:.3f}–%{customdata[1]:.3f}<br>%{customdata[2]}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        yaxis={"title": metric, "range": [0, max(1.0, float(d["high"].max()) * 1.05)]},
        xaxis={"title": None},
        showlegend=False,
        **{**style.LAYOUT, "height": 380},
    )
    return fig


def _scatter(
    df: pd.DataFrame, x: str, metric: str, title: str, x_title: str, *, log_x: bool, x_fmt: str
) -> go.Figure:
    fig = go.Figure()
    for i, row in enumerate(df.itertuples(index=False)):
        one = pd.DataFrame([row._asdict()])
        fig.add_trace(
            go.Scatter(
                x=one[x],
                y=one["mean"],
                error_y=_err(one),
                mode="markers+text",
                name=str(row.label),
                text=[str(row.label)],
                textposition="top center",
                marker={"size": 13, "color": style.colour(i), "line": {"width": 1, "color": "white"}},
                hovertemplate=f"<b>{row.label}</b><br>{x_title} %{{x:{x_fmt}}}<br>{metric} %{{y:.3f}}"
                f"<br>95 % CI {row.low:.3f}–{row.high:.3f}<extra></extra>",
            )
        )
    xaxis: dict[str, object] = {"title": x_title, "type": "log" if log_x else "linear"}
    xs = [float(v) for v in df[x] if pd.notna(v) and float(v) > 0]
    if log_x and xs:
        # Whole decades only (no 2/5 minor labels), and half a decade of room either side so
        # the point labels are not clipped at the plot's edge.
        lo, hi = math.log10(min(xs)), math.log10(max(xs))
        xaxis.update(dtick=1, range=[lo - 0.6, hi + 0.6])
    fig.update_layout(
        title=title,
        xaxis=xaxis,
        yaxis={"title": metric},
        showlegend=False,
        **{**style.LAYOUT, "height": 400},
    )
    return fig


def quality_vs_latency(df: pd.DataFrame, metric: str) -> go.Figure:
    """Metric against measured median single-query latency (log scale).

    Args:
        df: Rows with ``label``, ``mean``, ``low``, ``high``, ``latency_p50_ms``.
        metric: Metric name.

    Returns:
        The figure; models without a latency are left out.
    """
    title = f"{metric} vs measured query latency"
    d = df.dropna(subset=["latency_p50_ms"]) if "latency_p50_ms" in df.columns else df.iloc[0:0]
    d = d[d["latency_p50_ms"] > 0] if not d.empty else d
    if d.empty:
        return _empty(title, "No latency was measured in this run")
    return _scatter(d, "latency_p50_ms", metric, title,
                    "median latency per query, ms (this machine, log scale)", log_x=True, x_fmt=".1f")


def quality_vs_cost(df: pd.DataFrame, metric: str) -> go.Figure:
    """Metric against estimated monthly cost from the cost model.

    Args:
        df: Rows with ``label``, ``mean``, ``low``, ``high``, ``usd_per_month`` (NaN for
            models the cost model cannot price, e.g. BM25; they are listed in the title).
        metric: Metric name.

    Returns:
        The figure.
    """
    title = f"{metric} vs estimated monthly cost"
    if "usd_per_month" not in df.columns:
        return _empty(title, "No cost estimate")
    d = df.dropna(subset=["usd_per_month"])
    missing = [str(v) for v in df.loc[df["usd_per_month"].isna(), "label"]]
    if d.empty:
        return _empty(title, "None of these models has a price in the cost model")
    fig = _scatter(d.assign(usd_per_month=d["usd_per_month"].clip(lower=0.01)), "usd_per_month",
                   metric, title, "USD per month (cost model, log scale)", log_x=True, x_fmt="$,.2f")
    for tr, cost in zip(fig.data, d["usd_per_month"], strict=True):
        tr.text = [f"{tr.name} · {usd(float(cost))}"]
    if missing:
        fig.update_layout(title={"text": f"{title}<br><sup>not priced: {', '.join(missing)}</sup>"})
    return fig


def quality_vs_dimensions(sweep: pd.DataFrame, metric: str, labels: dict[str, str] | None = None) -> go.Figure:
    """Metric against embedding dimensions, one line per model and precision.

    Args:
        sweep: Rows (``model``, ``dim``, ``precision``, ``index_bytes``, ``metric``,
            ``mean``, ``ci_low``, ``ci_high``) from the engine's sweep.
        metric: Which metric to plot.
        labels: Display label per model spec.

    Returns:
        The figure (x on a log2 scale; truncated dimensions are Matryoshka-style prefixes).
    """
    title = f"{metric} vs dimensions and precision"
    d = sweep[sweep["metric"] == metric] if not sweep.empty else sweep
    if d.empty:
        return _empty(title, "No dimension/precision sweep in this run (dense models only)")
    labels = labels or {}
    fig = go.Figure()
    for i, (model, sub) in enumerate(d.groupby("model", sort=False)):
        for precision, line in sub.groupby("precision", sort=False):
            line = line.sort_values("dim")
            err = _err(line.rename(columns={"ci_low": "low", "ci_high": "high"}))
            name = f"{labels.get(str(model), model)} · {precision}"
            fig.add_trace(
                go.Scatter(
                    x=line["dim"], y=line["mean"], error_y=err, mode="lines+markers", name=name,
                    line={"color": style.colour(i), "dash": _PRECISION_DASH.get(str(precision), "solid")},
                    customdata=line["index_bytes"],
                    hovertemplate=f"<b>{name}</b><br>%{{x}} dims<br>{metric} %{{y:.3f}}"
                    "<br>index %{customdata:,} bytes<extra></extra>",
                )
            )
    dims = sorted({int(v) for v in d["dim"]})
    fig.update_layout(
        title=title,
        xaxis={"title": "dimensions kept (log scale)", "type": "log", "tickvals": dims,
               "ticktext": [str(v) for v in dims]},
        yaxis={"title": metric},
        **{**style.LAYOUT, "legend": style.legend_below(-0.25), "height": 440},
    )
    return fig


def quality_vs_alpha(fusion_sweep: pd.DataFrame, metric: str, labels: dict[str, str] | None = None) -> go.Figure:
    """A score-fusion hybrid's metric against its fusion weight α, with 95 % CIs.

    Args:
        fusion_sweep: Rows (``model``, ``kind``, ``alpha``, ``metric``, ``mean``, ``ci_low``,
            ``ci_high``) from the engine's fusion sweep; ``kind == "cross-validated"`` rows are
            drawn as a dotted line (α picked on one half of the queries, scored on the other).
        metric: Which metric to plot.
        labels: Display label per model spec.

    Returns:
        The figure (α = 0: only the other systems; α = 1: only the first).
    """
    title = f"{metric} vs fusion weight α"
    d = fusion_sweep[fusion_sweep["metric"] == metric] if not fusion_sweep.empty else fusion_sweep
    if d.empty:
        return _empty(title, "No score-fusion hybrid in this run (min-max or z-score), or the sweep was off")
    labels = labels or {}
    fig = go.Figure()
    for i, (model, sub) in enumerate(d.groupby("model", sort=False)):
        name = labels.get(str(model), str(model))
        line = sub[sub["kind"] == "alpha"].sort_values("alpha")
        err = _err(line.rename(columns={"ci_low": "low", "ci_high": "high"}))
        fig.add_trace(go.Scatter(
            x=line["alpha"], y=line["mean"], error_y=err, mode="lines+markers", name=name,
            line={"color": style.colour(i)},
            hovertemplate=f"<b>{name}</b><br>α = %{{x:.1f}}<br>{metric} %{{y:.3f}}<extra></extra>",
        ))
        cv = sub[sub["kind"] == "cross-validated"]
        if not cv.empty:
            y = float(cv["mean"].iloc[0])
            fig.add_trace(go.Scatter(
                x=[0.0, 1.0], y=[y, y], mode="lines", name=f"{name} · cross-validated",
                line={"color": style.colour(i), "dash": "dot"},
                hovertemplate=f"<b>{name}</b><br>cross-validated {metric} {y:.3f}<extra></extra>",
            ))
    fig.update_layout(
        title=title,
        xaxis={"title": "α: weight of the first system (the others share 1 − α)", "range": [-0.05, 1.05],
               "dtick": 0.1},
        yaxis={"title": metric},
        **{**style.LAYOUT, "legend": style.legend_below(-0.3), "height": 420},
    )
    return fig


def rank_comparison(df: pd.DataFrame, metric: str) -> go.Figure:
    """Slope chart: each model's rank on MTEB retrieval beside its rank on your data.

    Args:
        df: Rows with ``label``, ``your_rank`` and ``mteb_rank`` (rank among these models
            by MTEB(eng, v2) Retrieval; NaN when MTEB has no score for the model).
        metric: The metric your ranking uses.

    Returns:
        The figure (rank 1 on top).
    """
    title = "Rank on your data vs rank on MTEB retrieval"
    d = df.dropna(subset=["mteb_rank"]) if "mteb_rank" in df.columns else df.iloc[0:0]
    if len(d) < 2:
        return _empty(title, "Needs at least two models with an MTEB(eng, v2) Retrieval score")
    fig = go.Figure()
    left, right = "MTEB retrieval", f"your data ({metric})"
    for i, row in enumerate(d.itertuples(index=False)):
        moved = int(row.mteb_rank) != int(row.your_rank)
        fig.add_trace(
            go.Scatter(
                x=[left, right], y=[row.mteb_rank, row.your_rank], mode="lines+markers+text",
                name=str(row.label),
                text=[f"{row.label}  #{int(row.mteb_rank)}", f"#{int(row.your_rank)}  {row.label}"],
                textposition=["middle left", "middle right"],
                line={"color": style.colour(i), "width": 3 if moved else 1.5},
                marker={"size": 11}, hovertemplate=f"<b>{row.label}</b><br>%{{x}}: #%{{y}}<extra></extra>",
            )
        )
    n = int(max(d["mteb_rank"].max(), d["your_rank"].max()))
    fig.update_layout(
        title=title,
        yaxis={"title": "rank (1 = best)", "autorange": "reversed", "tickvals": list(range(1, n + 1)),
               "range": [n + 0.5, 0.5]},
        xaxis={"title": None, "range": [-0.9, 1.9]},
        showlegend=False,
        **{**style.LAYOUT, "height": 120 + 60 * n},
    )
    return fig


def figures(
    models: pd.DataFrame, sweep: pd.DataFrame, ranks: pd.DataFrame, metric: str,
    labels: dict[str, str] | None = None, which: Sequence[str] | None = None,
) -> dict[str, go.Figure]:
    """Every evaluation chart for one table of models (page and report use the same set).

    Args:
        models: :func:`lib.report.model_table` output (with ``usd_per_month`` if costed).
        sweep: The run's sweep rows.
        ranks: :func:`lib.report.rank_vs_mteb` output.
        metric: Headline metric.
        labels: Display label per model spec (for the sweep).
        which: Subset of keys to build (default all).

    Returns:
        ``{"metric", "latency", "cost", "dimensions", "ranks"}`` → figure.
    """
    build = {
        "metric": lambda: metric_by_model(models, metric),
        "latency": lambda: quality_vs_latency(models, metric),
        "cost": lambda: quality_vs_cost(models, metric),
        "dimensions": lambda: quality_vs_dimensions(sweep, metric, labels),
        "ranks": lambda: rank_comparison(ranks, metric),
    }
    return {k: f() for k, f in build.items() if which is None or k in which}
