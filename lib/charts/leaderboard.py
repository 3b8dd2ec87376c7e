"""Leaderboard explorer charts: pure functions DataFrame → plotly figure (SVG traces only).

Every chart takes the explorer's table (:class:`lib.leaderboard.explorer.ExplorerView`
``.table``, scores ×100) and a score column, and marks pinned models. No WebGL
(``Scattergl``) is used, so the page's WebGL context count stays at zero.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from lib.charts.style import EST_COLOR, FRONTIER_COLOR, LEADERBOARD_PALETTE, PIN_COLOR, POINT_COLOR

PIN_COL = "Pinned"
HEIGHT = 480
MAX_FRONTIER_LABELS = 6
# Legends sit under the plot so they never cover the title or the points.
LEGEND = {"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0.0}
MARGIN = {"l": 60, "r": 20, "t": 50, "b": 110}


def pareto_front(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """Which points are on the Pareto frontier of "smaller x, larger y".

    A point is on the frontier when no other point has ``x <=`` and ``y >=`` with at
    least one strict. NaN points are never on it.

    Args:
        x: Cost-like values (smaller is better).
        y: Score-like values (larger is better).

    Returns:
        Boolean mask, same length.
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    ok = ~(np.isnan(xa) | np.isnan(ya))
    mask = np.zeros(len(xa), dtype=bool)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return mask
    # Sort by x ascending, then y descending: a point is on the front iff its y beats every
    # y seen so far (strictly), i.e. every cheaper-or-equal point.
    order = idx[np.lexsort((-ya[idx], xa[idx]))]
    best = -np.inf
    best_x = np.nan
    for i in order:
        if ya[i] > best:
            mask[i] = True
            best, best_x = ya[i], xa[i]
        elif ya[i] == best and xa[i] == best_x:
            mask[i] = True  # an exact duplicate of a frontier point is not dominated either
    return mask


def _short(name: str) -> str:
    return name.split("/", 1)[-1]


def label_positions(n: int, max_labels: int = MAX_FRONTIER_LABELS) -> list[int]:
    """Which of ``n`` frontier points (ordered by x) get a text label: at most ``max_labels``.

    Evenly spaced along the frontier, always including the last (best) point, so labels do
    not pile up where the frontier is dense; the rest show their name on hover.

    Args:
        n: Frontier points.
        max_labels: Most labels drawn.

    Returns:
        Sorted indices into the frontier.
    """
    if n <= max_labels:
        return list(range(n))
    picks = {round(i * (n - 1) / (max_labels - 1)) for i in range(max_labels)}
    return sorted(picks)


def _label_sides(n: int) -> list[str]:
    # The leftmost label goes right and the rightmost left so neither is cut at the plot
    # edge; the ones between alternate above/below so neighbours do not collide.
    sides = ["top left" if i % 2 else "bottom right" for i in range(n)]
    if n:
        sides[0] = "bottom right"
    if n > 1:
        sides[-1] = "top left"
    return sides


def _hover(df: pd.DataFrame, score_col: str, extra: Sequence[tuple[str, str]]) -> list[str]:
    # Plain Python over .tolist() columns: pandas string arithmetic on Arrow-backed columns
    # costs ~10 ms per chart on 400 models, this a fraction of it (explorer budget 100 ms).
    cols = [(c, f) for c, f in extra if c in df]
    values = [df[c].tolist() for c, _ in cols]
    missing = [(df[c].isna() | (df[c].astype(str) == "")).tolist() for c, _ in cols]
    out = []
    for i, (model, score) in enumerate(zip(df["Model"].astype(str).tolist(), df[score_col].tolist(), strict=True)):
        parts = [f"<b>{model}</b><br>{score_col}: {score:.2f}"]
        for (c, fmt), vals, na in zip(cols, values, missing, strict=True):
            if not na[i]:
                parts.append(f"<br>{c}: {fmt.format(vals[i])}")
        out.append("".join(parts))
    return out


def _columns(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    # Only the columns a chart reads (plus Model and the pin flag), in order, if present.
    keep = ["Model", PIN_COL, *cols]
    return df[list(dict.fromkeys(c for c in keep if c in df.columns))]


def _trace(kind: str, **props: object) -> dict[str, object]:
    return {"type": kind, **props}


def _figure(traces: list[dict[str, object]], layout: dict[str, object]) -> go.Figure:
    # Plotly validates every property of every trace on construction: ~5x the cost of the
    # figure itself for 400-point scatters, and this runs on every filter change of the
    # explorer (≤ 100 ms budget). The traces are built here from known-good literals, and
    # tests/test_charts_leaderboard.py re-validates every chart with a validating Figure.
    return go.Figure(data=traces, layout=layout, _validate=False)


def _empty(title: str, why: str) -> go.Figure:
    return _figure(
        [],
        dict(
            title=title,
            height=HEIGHT,
            annotations=[{"text": why, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}],
            xaxis={"visible": False},
            yaxis={"visible": False},
        ),
    )


def _frontier_scatter(
    df: pd.DataFrame,
    x_col: str,
    score_col: str,
    *,
    title: str,
    x_title: str,
    log_x: bool,
    extra_hover: Sequence[tuple[str, str]],
    split_col: str | None = None,
    split_value: str | None = None,
    split_label: str = "",
    tickvals: Sequence[float] | None = None,
    ticktext: Sequence[str] | None = None,
) -> go.Figure:
    # The explorer's table carries one column per task (100+ on big benchmarks); keep only
    # what this chart reads, so the row filters below copy a few columns, not all of them.
    df = _columns(df, x_col, score_col, *([split_col] if split_col else []), *(c for c, _ in extra_hover))
    d = df[df[x_col].notna() & df[score_col].notna()].copy()
    d[x_col] = d[x_col].astype(float)
    d[score_col] = d[score_col].astype(float)
    if log_x:
        d = d[d[x_col] > 0]
    if d.empty:
        return _empty(title, f"No model in the view has both {x_col} and {score_col}.")
    front = pareto_front(d[x_col].to_numpy(), d[score_col].to_numpy())
    d["_front"] = front
    pinned = d[PIN_COL].fillna(False).astype(bool) if PIN_COL in d else pd.Series(False, index=d.index)
    traces: list[dict[str, object]] = []
    groups: list[tuple[str, pd.Series, dict[str, object]]] = []
    if split_col is not None and split_col in d:
        is_split = d[split_col] == split_value
        groups.append(("Models", ~is_split & ~pinned, {"color": POINT_COLOR, "size": 8}))
        groups.append((split_label, is_split & ~pinned, {"color": EST_COLOR, "size": 8, "symbol": "diamond"}))
    else:
        groups.append(("Models", ~pinned, {"color": POINT_COLOR, "size": 8}))
    groups.append(("Pinned", pinned, {"color": PIN_COLOR, "size": 14, "symbol": "star", "line": {"width": 1}}))
    for name, sel, marker in groups:
        part = d[sel]
        if part.empty:
            continue
        traces.append(
            _trace(
                "scatter",
                x=part[x_col],
                y=part[score_col],
                mode="markers+text" if name == "Pinned" else "markers",
                name=name,
                marker=marker,
                text=[_short(m) for m in part["Model"]] if name == "Pinned" else None,
                textposition="top center",
                hovertext=_hover(part, score_col, [(x_col, "{:g}"), *extra_hover]),
                hoverinfo="text",
            )
        )
    f = d[d["_front"]].sort_values(x_col)
    labelled = set(label_positions(len(f)))
    texts = [_short(m) if i in labelled else "" for i, m in enumerate(f["Model"])]
    traces.append(
        _trace(
            "scatter",
            x=f[x_col],
            y=f[score_col],
            mode="lines+markers+text",
            name=f"Pareto frontier ({len(f)} models)",
            line={"color": FRONTIER_COLOR, "width": 2, "shape": "hv"},
            marker={"color": FRONTIER_COLOR, "size": 9, "line": {"color": "white", "width": 1}},
            text=texts,
            # Alternate sides so neighbouring labels do not collide.
            textposition=_label_sides(len(f)),
            textfont={"size": 10, "color": FRONTIER_COLOR},
            hovertext=_hover(f, score_col, [(x_col, "{:g}"), *extra_hover]),
            hoverinfo="text",
            cliponaxis=False,
        )
    )
    xaxis: dict[str, object] = {"title": x_title, "type": "log" if log_x else "linear", "tickangle": 0}
    if tickvals is not None:
        xaxis.update(tickvals=list(tickvals), ticktext=list(ticktext or []))
    return _figure(
        traces,
        dict(
            title={"text": title, "x": 0.01},
            height=HEIGHT,
            xaxis=xaxis,
            yaxis={"title": f"{score_col} (×100)"},
            legend=LEGEND,
            margin=MARGIN,
            hovermode="closest",
        ),
    )


def score_vs_params(df: pd.DataFrame, score_col: str) -> go.Figure:
    """Score vs total parameters (log), with the Pareto frontier (fewer params, higher score).

    Args:
        df: Explorer table.
        score_col: Score column (×100).

    Returns:
        The figure.
    """
    d = _columns(df, score_col, "Total Parameters (B)", "Embedding Dimensions", "License")
    d = d.assign(**{"Parameters (M)": d["Total Parameters (B)"].astype(float) * 1000})
    return _frontier_scatter(
        d,
        "Parameters (M)",
        score_col,
        title=f"{score_col} vs model size",
        x_title="Total parameters (log scale)",
        log_x=True,
        extra_hover=[("Embedding Dimensions", "{}"), ("License", "{}")],
        tickvals=[1, 10, 100, 1000, 10000, 100000],
        ticktext=["1M", "10M", "100M", "1B", "10B", "100B"],
    )


def score_vs_price(df: pd.DataFrame, score_col: str, price_col: str = "Price ($/1M tok)") -> go.Figure:
    """Score vs USD per 1M tokens (log), API prices and self-host estimates marked apart.

    Args:
        df: Explorer table (with ``Price basis``).
        score_col: Score column (×100).
        price_col: Price column.

    Returns:
        The figure.
    """
    return _frontier_scatter(
        df,
        price_col,
        score_col,
        title=f"{score_col} vs price per 1M tokens",
        x_title="USD per 1M tokens (log scale; ◆ = estimated self-host GPU cost)",
        log_x=True,
        extra_hover=[("Price basis", "{}"), ("Price source", "{}"), ("Price date", "{}")],
        split_col="Price basis",
        split_value="est. self-host",
        split_label="est. self-host (GPU estimate)",
        tickvals=[0.0001, 0.001, 0.01, 0.1, 1],
        ticktext=["$0.0001", "$0.001", "$0.01", "$0.10", "$1"],
    )


def score_vs_dims(df: pd.DataFrame, score_col: str) -> go.Figure:
    """Score vs embedding dimension (log₂), ticks also giving GB per 1M float32 vectors.

    Args:
        df: Explorer table.
        score_col: Score column (×100).

    Returns:
        The figure.
    """
    dims = [64, 256, 1024, 4096, 16384]
    text = [f"{d} dims<br>{d * 4 / 1000:g} GB" for d in dims]
    d = _columns(df, score_col, "Embedding Dimensions", "GB per 1M vectors", "Price ($/1M tok)")
    d = d.assign(**{"Embedding Dimensions": pd.to_numeric(d["Embedding Dimensions"], errors="coerce")})
    return _frontier_scatter(
        d,
        "Embedding Dimensions",
        score_col,
        title=f"{score_col} vs embedding size",
        x_title="Embedding dimensions and GB per 1M float32 vectors (log scale)",
        log_x=True,
        extra_hover=[("GB per 1M vectors", "{:.2f}"), ("Price ($/1M tok)", "{:.3f}")],
        tickvals=dims,
        ticktext=text,
    )


def radar(means: pd.DataFrame, models: Sequence[str]) -> go.Figure:
    """Per-task-type means of some models on a radar chart.

    Args:
        means: Rows with ``Model`` and one column per task type (×100).
        models: Models to draw (pinned ones), at most a handful.

    Returns:
        The figure.
    """
    types = [c for c in means.columns if c != "Model"]
    if not models or not types:
        return _empty("Task-type profile", "Pin models to compare their task-type profile.")
    traces: list[dict[str, object]] = []
    for i, m in enumerate(models):
        row = means[means["Model"] == m]
        if row.empty:
            continue
        vals = [float(row.iloc[0][t]) if pd.notna(row.iloc[0][t]) else None for t in types]
        traces.append(
            _trace(
                "scatterpolar",
                r=[*vals, vals[0]],
                theta=[*types, types[0]],
                name=_short(m),
                mode="lines+markers",
                connectgaps=False,
                line={"color": LEADERBOARD_PALETTE[i % len(LEADERBOARD_PALETTE)], "width": 2},
                marker={"color": LEADERBOARD_PALETTE[i % len(LEADERBOARD_PALETTE)], "size": 7},
                hovertemplate="%{theta}: %{r:.2f}<extra>" + m + "</extra>",
            )
        )
    return _figure(
        traces,
        dict(
            title={"text": "Task-type profile of pinned models (×100; gaps = missing results)", "x": 0.01},
            height=HEIGHT + 40,
            polar={"radialaxis": {"visible": True}},
            legend={"orientation": "h", "yanchor": "top", "y": -0.08},
            margin={"l": 60, "r": 60, "t": 70, "b": 60},
        ),
    )


def score_over_time(df: pd.DataFrame, score_col: str) -> go.Figure:
    """Score by release date, with the best-so-far line.

    Args:
        df: Explorer table (``Release Date`` as ISO strings).
        score_col: Score column (×100).

    Returns:
        The figure.
    """
    d = _columns(df, score_col, "Release Date")
    d = d.assign(_date=pd.to_datetime(d["Release Date"], errors="coerce"))
    d = d[d["_date"].notna() & d[score_col].notna()].sort_values("_date")
    title = f"{score_col} by release date"
    if d.empty:
        return _empty(title, f"No model in the view has both a release date and {score_col}.")
    d[score_col] = d[score_col].astype(float)
    pinned = d[PIN_COL].fillna(False).astype(bool) if PIN_COL in d else pd.Series(False, index=d.index)
    best = d[score_col].cummax()
    record = d[d[score_col] >= best].drop_duplicates(score_col)
    traces: list[dict[str, object]] = []
    for name, sel, marker in (
        ("Models", ~pinned, {"color": POINT_COLOR, "size": 8}),
        ("Pinned", pinned, {"color": PIN_COLOR, "size": 14, "symbol": "star"}),
    ):
        part = d[sel]
        if part.empty:
            continue
        traces.append(
            _trace(
                "scatter",
                x=part["_date"],
                y=part[score_col],
                mode="markers+text" if name == "Pinned" else "markers",
                name=name,
                marker=marker,
                text=[_short(m) for m in part["Model"]] if name == "Pinned" else None,
                textposition="top center",
                hovertext=_hover(part, score_col, [("Release Date", "{}")]),
                hoverinfo="text",
            )
        )
    traces.append(
        _trace(
            "scatter",
            x=[*record["_date"], d["_date"].max()],
            y=[*record[score_col], record[score_col].iloc[-1]],
            mode="lines",
            name="Best so far",
            line={"color": FRONTIER_COLOR, "shape": "hv", "width": 2},
            hoverinfo="skip",
        )
    )
    return _figure(
        traces,
        dict(
            title={"text": title, "x": 0.01},
            height=HEIGHT,
            xaxis={"title": "Release date"},
            yaxis={"title": f"{score_col} (×100)"},
            legend=LEGEND,
            margin=MARGIN,
        ),
    )


def webgl_trace_count(figures: Sequence[go.Figure]) -> int:
    """How many figures use WebGL traces (each costs the browser a WebGL context).

    Args:
        figures: Figures rendered on one page.

    Returns:
        Number of figures with at least one ``*gl`` trace.
    """
    return sum(1 for fig in figures if any(t.type.endswith("gl") or t.type == "scattergl" for t in fig.data))
