"""Cost charts: pure functions from the cost model's DataFrames to plotly figures.

The frames come from :mod:`lib.cost` (``estimates_frame``, ``cost_vs_volume``,
``break_even_vs_throughput``, ``storage_grid``); nothing here computes money.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from lib import fmt
from lib.charts import style
from lib.cost import SEED_API_CHEAPER_BELOW_TOKENS, SEED_BREAK_EVEN_CLAIM_TOKENS

#: Stacked components of the monthly cost, with their colours.
COMPONENTS: Mapping[str, tuple[str, str]] = {
    "embedding_usd_per_month": ("Embedding (API or GPU)", "#2563eb"),
    "ops_usd_per_month": ("Engineering / ops", "#f59e0b"),
    "storage_usd_per_month": ("Vector storage", "#10b981"),
}
PRECISION_COLOURS: Mapping[str, str] = {
    "float32": "#1e3a8a",
    "float16": "#2563eb",
    "int8": "#60a5fa",
    "binary": "#bfdbfe",
}


def monthly_cost_chart(estimates: pd.DataFrame) -> go.Figure:
    """Horizontal stacked bars: cost per month of each option, by component.

    Args:
        estimates: :func:`lib.cost.estimates_frame` output.

    Returns:
        The figure (log-free, so small costs look small).
    """
    df = estimates.sort_values("usd_per_month", ascending=True)
    fig = go.Figure()
    for col, (name, colour) in COMPONENTS.items():
        fig.add_trace(
            go.Bar(
                y=df["option"],
                x=df[col],
                name=name,
                orientation="h",
                marker_color=colour,
                hovertemplate="%{y}<br>" + name + ": $%{x:,.2f}/month<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            y=df["option"],
            x=df["usd_per_month"],
            mode="text",
            text=[
                f"  {fmt.usd(v)}/mo · {fmt.usd(y)}/yr 1"
                for v, y in zip(df["usd_per_month"], df["usd_first_year"], strict=True)
            ],
            textposition="middle right",
            showlegend=False,
            hoverinfo="skip",
        )
    )
    top = float(df["usd_per_month"].max()) if len(df) else 1.0
    fig.update_layout(
        barmode="stack",
        title="Cost per month (average month of year 1)",
        xaxis={"title": "USD per month", "range": [0, top * 1.45 or 1]},
        yaxis={"title": None},
        height=120 + 45 * len(df),
        **style.LAYOUT,
    )
    return fig


def cost_vs_volume_chart(curve: pd.DataFrame, current_tokens: float | None = None) -> go.Figure:
    """API vs self-host monthly cost as the monthly token volume grows (log-log).

    Args:
        curve: :func:`lib.cost.cost_vs_volume` output.
        current_tokens: The workload's tokens per month, marked with a vertical line.

    Returns:
        The figure, with the 10M and 100M tokens/month marks of KnowledgeSDK's guide.
    """
    fig = go.Figure()
    for i, (option, g) in enumerate(curve.groupby("option", sort=False)):
        self_host = (g["deployment"] == "self-host").all()
        fig.add_trace(
            go.Scatter(
                x=g["tokens_per_month"],
                y=g["usd_per_month"],
                name=str(option),
                mode="lines",
                line={
                    "color": style.colour(i),
                    "dash": "dash" if self_host else "solid",
                    "width": 2.5 if self_host else 2,
                },
                hovertemplate="%{x:.3s} tokens/month → $%{y:,.2f}<extra>" + str(option) + "</extra>",
            )
        )
    if len(curve):
        lo = float(curve["usd_per_month"].min())
        hi = float(curve["usd_per_month"].max())
        marks = [
            (SEED_API_CHEAPER_BELOW_TOKENS, "KnowledgeSDK: API cheaper < 10M"),
            (SEED_BREAK_EVEN_CLAIM_TOKENS, "KnowledgeSDK: self-host pays > 100M"),
        ]
        if current_tokens:
            marks.append((current_tokens, "your workload"))
        for x, label in marks:
            mine = label == "your workload"
            fig.add_trace(
                go.Scatter(
                    x=[x, x],
                    y=[lo, hi],
                    mode="lines+text",
                    line={"color": "#111827" if mine else "#9ca3af", "dash": "dot", "width": 1},
                    # The workload label goes at the top, the guide's marks at the bottom,
                    # so neighbouring labels never overlap.
                    text=["", label] if mine else [label, ""],
                    textposition="bottom right" if mine else "top right",
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
    fig.update_layout(
        title="Embedding cost per month vs volume (solid: API, dashed: self-host incl. ops)",
        xaxis={"title": "tokens embedded per month", "type": "log"},
        yaxis={"title": "USD per month", "type": "log"},
        height=500,
        **{**style.LAYOUT, "legend": style.legend_below(), "margin": {"l": 10, "r": 10, "t": 50, "b": 90}},
    )
    return fig


def break_even_vs_throughput_chart(
    frame: pd.DataFrame, markers: Mapping[str, float] | None = None, api_label: str = ""
) -> go.Figure:
    """Break-even volume against GPU throughput, per GPU price and mode (log-log).

    Args:
        frame: :func:`lib.cost.break_even_vs_throughput` output.
        markers: Model label → tokens/second, drawn as vertical lines.
        api_label: Name of the API the break-even is computed against (title).

    Returns:
        The figure; gaps mean "never breaks even" at that throughput.
    """
    fig = go.Figure()
    for i, (series, g) in enumerate(frame.groupby("series", sort=False)):
        on_demand = (g["mode"] == "on-demand").all()
        fig.add_trace(
            go.Scatter(
                x=g["tokens_per_second"],
                y=g["break_even_tokens_per_month"],
                name=str(series),
                mode="lines",
                connectgaps=False,
                line={
                    "color": style.PALETTE[i % 2 + (2 if on_demand else 0)],
                    "dash": "dash" if on_demand else "solid",
                },
                hovertemplate="%{x:.3s} tok/s → break-even %{y:.3s} tokens/month<extra>" + str(series) + "</extra>",
            )
        )
    finite = frame["break_even_tokens_per_month"].replace(0, math.nan).dropna()
    if len(frame):
        x0, x1 = float(frame["tokens_per_second"].min()), float(frame["tokens_per_second"].max())
        fig.add_trace(
            go.Scatter(
                x=[x0, x1],
                y=[SEED_BREAK_EVEN_CLAIM_TOKENS] * 2,
                mode="lines+text",
                line={"color": "#9ca3af", "dash": "dot", "width": 1},
                text=["KnowledgeSDK's claim: ~100M tokens/month", ""],
                textposition="top right",
                name="KnowledgeSDK's claim",
                showlegend=False,
                hoverinfo="skip",
            )
        )
        y_lo = min(SEED_BREAK_EVEN_CLAIM_TOKENS, float(finite.min()) if len(finite) else 1e8) / 2
        y_hi = max(SEED_BREAK_EVEN_CLAIM_TOKENS, float(finite.max()) if len(finite) else 1e9) * 2
        for i, (label, tps) in enumerate((markers or {}).items()):
            # Stagger the labels of neighbouring models (log-spaced heights).
            y_text = y_hi / (3 ** (i % 3))
            fig.add_trace(
                go.Scatter(
                    x=[tps, tps, tps],
                    y=[y_lo, y_text, y_hi],
                    mode="lines+text",
                    line={"color": "#111827", "dash": "dot", "width": 1},
                    text=["", label + " ", ""],
                    textposition="middle left",
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
    title = "Break-even volume vs GPU throughput"
    if api_label:
        title += f" (self-host vs {api_label})"
    fig.update_layout(
        title=title,
        xaxis={"title": "tokens per second on one GPU (before utilization)", "type": "log"},
        yaxis={"title": "break-even tokens per month", "type": "log"},
        height=500,
        **{**style.LAYOUT, "legend": style.legend_below(), "margin": {"l": 10, "r": 10, "t": 50, "b": 90}},
    )
    return fig


def storage_chart(grid: pd.DataFrame, vectors: float) -> go.Figure:
    """Grouped bars: storage GB by stored dimensions × precision (log scale).

    Args:
        grid: :func:`lib.cost.storage_grid` output.
        vectors: Vector count the grid was computed for (title).

    Returns:
        The figure.
    """
    fig = go.Figure()
    for precision, g in grid.groupby("precision", sort=False):
        fig.add_trace(
            go.Bar(
                x=g["dimensions"].astype(str),
                y=g["gb"],
                name=str(precision),
                marker_color=PRECISION_COLOURS.get(str(precision), "#6b7280"),
                text=[f"{gb:,.3g} GB" for gb in g["gb"]],
                textposition="outside",
                customdata=g["usd_per_month"],
                hovertemplate="%{x} dims, "
                + str(precision)
                + ": %{y:,.4g} GB → $%{customdata:,.2f}/month<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        title=f"Storage for {fmt.tokens(vectors)} vectors by dimensions × precision",
        xaxis={"title": "stored dimensions (MRL truncation)", "type": "category"},
        yaxis={"title": "GB (incl. index overhead × replicas)", "type": "log"},
        height=420,
        **style.LAYOUT,
    )
    return fig
