"""The charts' one palette and layout: every chart module (lib/charts, lib/interview/charts) takes its colours here.

Two families, kept as they were so no chart changes: the app's series colours
(:data:`PALETTE`, Tailwind-like, used by the cost, evaluation and interview charts) and the
leaderboard explorer's (:data:`LEADERBOARD_PALETTE`, plotly's default qualitative colours, with
its point/frontier/pin colours).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Series colours for models / options (cost, evaluation and interview charts).
PALETTE: tuple[str, ...] = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f")
#: Reference lines and de-emphasised marks.
GREY = "#94a3b8"
#: Base layout: white template, tight margins, legend in one row above the plot.
LAYOUT: Mapping[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
}

#: Leaderboard explorer: distinct colours for up to 8 pinned models on the radar.
LEADERBOARD_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
)
FRONTIER_COLOR = "#d62728"
POINT_COLOR = "rgba(31, 119, 180, 0.45)"
PIN_COLOR = "#ff7f0e"
EST_COLOR = "rgba(44, 160, 44, 0.55)"


def colour(i: int) -> str:
    """The ``i``-th series colour of :data:`PALETTE` (cycling).

    Args:
        i: Series index.

    Returns:
        A hex colour.
    """
    return PALETTE[i % len(PALETTE)]


def legend_below(y: float = -0.22) -> dict[str, Any]:
    """A one-row legend under the plot (charts with many series: it never meets the title).

    Args:
        y: Its top edge in paper coordinates (lower for charts with long axis titles).

    Returns:
        A plotly ``legend`` dict.
    """
    return {"orientation": "h", "yanchor": "top", "y": y, "x": 0}
