"""Charts of the interview demonstrations: pure functions from computed results to plotly figures."""

from __future__ import annotations

import plotly.graph_objects as go

from lib.charts import style
from lib.interview.ranks import RankGap
from lib.interview.vectors import CrossModelResult, MigrationCurve, SweepResult

_PRECISION = {"float32": ("#2563eb", "solid"), "int8": ("#16a34a", "dash"), "binary": ("#dc2626", "dot")}


def rank_scatter(gap: RankGap, highlight: int = 8, top: int = 60) -> go.Figure:
    """Overall rank against task-type rank for the overall top ``top``; the diagonal is "no difference".

    Args:
        gap: From :func:`lib.interview.ranks.rank_gap`.
        highlight: Label this many of the biggest movers in the overall top 30.
        top: Models shown (by overall rank): the ones a reader would shortlist.

    Returns:
        The figure (rank 1 at the top left).
    """
    t = gap.table[gap.table["overall_rank"] <= top]
    movers = gap.movers(highlight)
    fig = go.Figure()
    n = int(max(t["overall_rank"].max(), t["task_rank"].max()))
    fig.add_trace(go.Scatter(x=[1, n], y=[1, n], mode="lines", name="same rank on both",
                             line={"color": "#94a3b8", "dash": "dot"}, hoverinfo="skip"))
    rest = t[~t["model"].isin(set(movers["model"]))]
    fig.add_trace(go.Scatter(
        x=rest["overall_rank"].astype(float), y=rest["task_rank"].astype(float), mode="markers", name="models",
        marker={"color": "#93c5fd", "size": 7}, text=rest["model"],
        hovertemplate="%{text}<br>overall #%{x}<br>" + gap.task_type + " #%{y}<extra></extra>",
    ))
    hi = movers.sort_values("task_rank")
    # Alternate label sides so neighbouring movers do not print over each other.
    sides = ["middle right" if i % 2 == 0 else "middle left" for i in range(len(hi))]
    fig.add_trace(go.Scatter(
        x=hi["overall_rank"].astype(float), y=hi["task_rank"].astype(float), mode="markers+text",
        name="largest differences (overall top 30)", marker={"color": "#dc2626", "size": 9},
        text=[m.split("/")[-1] for m in hi["model"]], textposition=sides, textfont={"size": 11},
        hovertemplate="%{text}<br>overall #%{x}<br>" + gap.task_type + " #%{y}<extra></extra>",
    ))
    fig.update_layout(
        title=f"{gap.benchmark}, overall top {top}: rank by {gap.overall_col} vs rank by {gap.task_type}",
        xaxis={"title": f"rank by {gap.overall_col} (1 = best)", "range": [-8, top + 8]},
        yaxis={"title": f"rank by {gap.task_type}", "autorange": "reversed"},
        height=480, **style.LAYOUT,
    )
    return fig


def cross_model_bars(cross: CrossModelResult) -> go.Figure:
    """Recall@10 of the three set-ups with the chance level as a line.

    Args:
        cross: From :func:`lib.interview.vectors.cross_model_demo`.

    Returns:
        The figure.
    """
    t = cross.table()
    labels = [f"{s}<br><sub>docs: {a} · queries: {b}</sub>" for s, a, b in
              zip(t["Set-up"], t["Documents embedded by"], t["Queries embedded by"], strict=True)]
    fig = go.Figure(go.Bar(
        x=labels, y=t["Recall@10"], marker_color=["#2563eb", "#dc2626", "#16a34a"], showlegend=False,
        text=[f"{v:.3f}" for v in t["Recall@10"]], textposition="outside",
    ))
    # The chance level as a legend entry: an annotation on the line would sit under a bar.
    fig.add_trace(go.Scatter(x=[labels[0], labels[-1]], y=[cross.chance, cross.chance], mode="lines",
                             name=f"a random ranking ({cross.chance:.3f})",
                             line={"color": "#64748b", "dash": "dot"}, hoverinfo="skip"))
    fig.update_layout(title=f"Recall@10 on {cross.n_queries} questions ({cross.dim}-dim vectors on both sides)",
                      yaxis={"title": "Recall@10", "range": [0, 1.1]}, height=420,
                      **{**style.LAYOUT, "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1,
                                               "xanchor": "right"}})
    return fig


def migration_chart(curve: MigrationCurve) -> go.Figure:
    """Recall@10 while documents are re-embedded: in place (two query choices) vs shadow index.

    Args:
        curve: From :func:`lib.interview.vectors.migration_curve`.

    Returns:
        The figure.
    """
    t = curve.table
    x = (t["migrated"] * 100).tolist()
    fig = go.Figure()
    for col, name, colour, dash in (
        ("shadow", "shadow index: old serves until the new one is complete", "#16a34a", "solid"),
        ("in_place_new_queries", f"one index re-embedded in place, queries by {curve.new_model}", "#dc2626", "dash"),
        ("in_place_old_queries", f"one index re-embedded in place, queries by {curve.old_model}", "#ea580c", "dot"),
    ):
        fig.add_trace(go.Scatter(x=x, y=t[col], mode="lines+markers", name=name,
                                 line={"color": colour, "dash": dash}))
    fig.update_layout(
        title="Migrating the demo corpus from the old model to the new one",
        xaxis={"title": "documents re-embedded with the new model (%)", "ticksuffix": " %"},
        yaxis={"title": "Recall@10", "range": [0, 1.05]}, height=420,
        **{**style.LAYOUT, "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0}},
    )
    return fig


def sweep_chart(sweep: SweepResult) -> go.Figure:
    """nDCG@10 against bytes per vector (log scale), one line per precision, points labelled by dimensions.

    Args:
        sweep: From :func:`lib.interview.vectors.dimension_sweep`.

    Returns:
        The figure.
    """
    fig = go.Figure()
    for prec, (colour, dash) in _PRECISION.items():
        d = sweep.table[sweep.table["precision"] == prec].sort_values("dim")
        if d.empty:
            continue
        fig.add_trace(go.Scatter(
            x=d["bytes_per_vector"], y=d["ndcg"], mode="lines+markers+text", name=prec,
            line={"color": colour, "dash": dash}, text=[f"{int(v)}d" for v in d["dim"]],
            textposition="top center", textfont={"size": 10},
            hovertemplate="%{text} " + prec + "<br>%{x:,.0f} bytes/vector<br>nDCG@10 %{y:.3f}<extra></extra>",
        ))
    fig.update_layout(
        title=f"{sweep.model}: quality vs storage per vector (leading dimensions kept)",
        xaxis={"title": "bytes per vector (log scale)", "type": "log", "dtick": 1},
        yaxis={"title": "nDCG@10", "range": [0, 1]}, height=420, **style.LAYOUT,
    )
    return fig
