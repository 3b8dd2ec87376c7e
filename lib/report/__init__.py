"""Turn stored evaluation runs into answers: tables, drill-down, run comparison, the report.

Three modules, one per seam:

* :mod:`lib.report.analysis` — analysis of stored runs (model table, metrics, significance,
  your data vs MTEB, costs from measured speeds, disagreement and drill-down, comparing runs).
* :mod:`lib.report.document` — the architect's report (:class:`Report`, :func:`build_report`,
  :func:`to_markdown`, :func:`to_html`).
* :mod:`lib.report.overview` — the run history (:func:`runs_overview`).

Escaping and number formatting are :mod:`lib.fmt`'s. The names below are the package's API:
callers write ``from lib import report; report.build_report(...)``.
"""

from __future__ import annotations

from lib.report.analysis import (
    ALPHA_SWEEP_WARNING,
    CHARS_PER_TOKEN,
    MTEB_BENCHMARK,
    QueryView,
    RunComparison,
    add_costs,
    alpha_sweep_lines,
    api_latency_figures,
    assumptions_from,
    backend_delta_lines,
    backend_deltas,
    compare_runs,
    disagreement,
    drilldown,
    headline_metrics,
    latest_speeds,
    measured_speeds,
    metrics_display,
    model_table,
    query_texts,
    rank_agreement,
    rank_vs_mteb,
    run_dataset,
    runs_version,
    significance_lines,
    sort_queries,
    truncation_caption,
)
from lib.report.document import DEFAULT_QUESTION, Report, RunInfo, assumption_rows, build_report, to_html, to_markdown
from lib.report.overview import runs_overview

__all__ = [
    "ALPHA_SWEEP_WARNING",
    "CHARS_PER_TOKEN",
    "DEFAULT_QUESTION",
    "MTEB_BENCHMARK",
    "QueryView",
    "Report",
    "RunComparison",
    "RunInfo",
    "add_costs",
    "alpha_sweep_lines",
    "api_latency_figures",
    "assumption_rows",
    "assumptions_from",
    "backend_delta_lines",
    "backend_deltas",
    "build_report",
    "compare_runs",
    "disagreement",
    "drilldown",
    "headline_metrics",
    "latest_speeds",
    "measured_speeds",
    "metrics_display",
    "model_table",
    "query_texts",
    "rank_agreement",
    "rank_vs_mteb",
    "run_dataset",
    "runs_overview",
    "runs_version",
    "significance_lines",
    "sort_queries",
    "to_html",
    "to_markdown",
    "truncation_caption",
]
