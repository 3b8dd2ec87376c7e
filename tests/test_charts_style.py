"""lib.charts.style: the one palette/layout, and no chart module keeps its own copy."""

from __future__ import annotations

import re
from pathlib import Path

from lib.charts import style

ROOT = Path(__file__).resolve().parent.parent
CHART_MODULES = [*sorted((ROOT / "lib" / "charts").glob("*.py")), ROOT / "lib" / "interview" / "charts.py"]


def test_colour_cycles_and_legend() -> None:
    assert style.colour(0) == style.PALETTE[0] == "#2563eb"
    assert style.colour(len(style.PALETTE) + 1) == style.PALETTE[1]
    assert style.legend_below() == {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}
    assert style.legend_below(-0.25)["y"] == -0.25
    assert style.LAYOUT["template"] == "plotly_white"


def test_no_chart_module_defines_its_own_palette_or_layout() -> None:
    own = re.compile(r"^_?(PALETTE|LAYOUT|LEGEND_BELOW)\s*[:=]", re.M)
    offenders = [p.name for p in CHART_MODULES if p.name != "style.py" and own.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
    assert len(CHART_MODULES) >= 4
