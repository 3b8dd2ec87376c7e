"""Cached wrappers of lib calls for pages (Streamlit caching stays out of lib).

Every cached read is keyed by the database file and the version of the leaderboard file
currently in place (its newest refresh), so a refresh — in this app or a ``python -m lib
refresh`` in a terminal, which swaps in a new file — invalidates the caches without a
manual clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from lib import store
from lib.leaderboard import queries
from lib.leaderboard import store as lbstore
from lib.leaderboard.ranking import SummaryTable, summary_table


def db_path() -> str:
    """The database file this app uses (``EMS_DB`` or the default)."""
    return str(store.resolve_path())


def leaderboard_path() -> str:
    """The leaderboard file this app reads (``EMS_LEADERBOARD_DB`` or beside the database)."""
    return str(lbstore.resolve_path(db_path()))


def data_version() -> str | None:
    """A token that changes with every refresh swapped in; None when no leaderboard is loaded."""
    return lbstore.version(db_path())


@st.cache_data(show_spinner=False, max_entries=64)
def _summary(benchmark: str, tasks: tuple[str, ...] | None, db: str, version: str) -> SummaryTable:
    return summary_table(benchmark, db, tasks=list(tasks) if tasks is not None else None)


def summary(benchmark: str, tasks: Sequence[str] | None = None) -> SummaryTable:
    """mteb's summary table for a benchmark (cached per data version)."""
    return _summary(benchmark, tuple(tasks) if tasks is not None else None, db_path(), data_version() or "")


@st.cache_data(show_spinner=False)
def _benchmarks(db: str, version: str) -> pd.DataFrame:
    return queries.benchmarks(db)


def benchmarks() -> pd.DataFrame:
    """Every benchmark (cached per data version)."""
    return _benchmarks(db_path(), data_version() or "")


@st.cache_data(show_spinner=False)
def _benchmark_tasks(benchmark: str, db: str, version: str) -> pd.DataFrame:
    return queries.benchmark_tasks(benchmark, db)


def benchmark_tasks(benchmark: str) -> pd.DataFrame:
    """A benchmark's tasks with metadata (cached per data version)."""
    return _benchmark_tasks(benchmark, db_path(), data_version() or "")


@st.cache_data(show_spinner=False)
def _models(db: str, version: str) -> pd.DataFrame:
    return queries.models(db)


def models() -> pd.DataFrame:
    """Every model's metadata (cached per data version)."""
    return _models(db_path(), data_version() or "")


def no_data_help() -> str:
    """Markdown telling the user exactly how to load the leaderboard data."""
    return (
        f"**No leaderboard data yet** in `{leaderboard_path()}`.\n\n"
        "The app loads it by itself on first start, from the first of: `EMS_MTEB_RESULTS` (a local "
        "copy of the `mteb/results` dataset: a folder with `data/train-*.parquet`, or a parquet file), "
        "the Hugging Face hub (when it answers within `EMS_HUB_TIMEOUT` seconds), and the dated "
        "snapshot bundled in `data/mteb-results`. The reason it failed is shown above.\n\n"
        "From a terminal: `python -m lib refresh` (same order), or `python -m lib refresh --results PATH`; "
        "add your own models' mteb result folders with `--local-results PATH` (or `EMS_LOCAL_RESULTS`)."
    )


# --- Leaderboard explorer (issue 5) ------------------------------------------------------


def _prices_mtime() -> tuple[float, float]:
    from lib import pricing

    def mtime(p: object) -> float:
        from pathlib import Path

        path = Path(str(p))
        return path.stat().st_mtime if path.exists() else 0.0

    return mtime(pricing.PRICING_CSV), mtime(pricing.local_prices_path())


@st.cache_data(show_spinner=False, max_entries=4)
def _explorer_attributes(db: str, version: str, prices: tuple[float, float]) -> pd.DataFrame:
    from lib import pricing
    from lib.errors import UserError
    from lib.leaderboard import explorer

    try:
        book = pricing.load_prices()
    except UserError:
        book = None  # a malformed price file must not hide the leaderboard; the Cost page reports it
    return explorer.model_attributes(queries.models(db), book)


def explorer_attributes() -> pd.DataFrame:
    """Per-model licence group, price (API or est. self-host), memory, MRL (cached)."""
    return _explorer_attributes(db_path(), data_version() or "", _prices_mtime())


@st.cache_data(show_spinner=False, max_entries=64)
def _summary_for(
    benchmark: str, tasks: tuple[str, ...] | None, languages: tuple[str, ...], db: str, version: str
) -> SummaryTable:
    return summary_table(
        benchmark, db, tasks=list(tasks) if tasks is not None else None, languages=list(languages) or None
    )


def summary_for(benchmark: str, tasks: Sequence[str] | None, languages: Sequence[str] = ()) -> SummaryTable:
    """mteb's summary table for a task subset and language filter (cached per data version)."""
    return _summary_for(
        benchmark, tuple(tasks) if tasks is not None else None, tuple(languages), db_path(), data_version() or ""
    )


@st.cache_data(show_spinner=False, max_entries=64)
def _rank_uncertainty(
    benchmark: str, tasks: tuple[str, ...] | None, languages: tuple[str, ...], db: str, version: str
) -> pd.DataFrame:
    from lib.leaderboard import explorer

    table = _summary_for(benchmark, tasks, languages, db, version)
    borda = explorer.borda_inputs(benchmark, db, list(tasks) if tasks is not None else None, list(languages) or None)
    types = dict(zip(*_benchmark_tasks(benchmark, db, version)[["task_name", "type"]].to_numpy().T, strict=True))
    return explorer.rank_uncertainty(table, borda, types)


def rank_uncertainty(benchmark: str, tasks: Sequence[str] | None, languages: Sequence[str] = ()) -> pd.DataFrame:
    """Bootstrap rank/mean intervals for a task subset, aligned with :func:`summary_for` rows (cached)."""
    return _rank_uncertainty(
        benchmark, tuple(tasks) if tasks is not None else None, tuple(languages), db_path(), data_version() or ""
    )


@st.cache_data(show_spinner=False, max_entries=4)
def _result_language_tags(db: str, version: str) -> list[str]:
    from lib.leaderboard import explorer

    return explorer.result_language_tags(db)


def result_languages(languages: Sequence[str]) -> tuple[str, ...]:
    """Result-row language tags (``deu-Latn``) for ISO 639-3 codes (``deu``), cached per data version."""
    from lib.leaderboard import explorer

    if not languages:
        return ()
    return tuple(explorer.expand_languages(languages, _result_language_tags(db_path(), data_version() or "")))


# --- measured speeds (cost realism, issue 12) --------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def _speeds(db: str, version: str) -> dict[str, Any]:
    from lib import report

    return report.latest_speeds(db)


def measured_speeds() -> dict[str, Any]:
    """The newest speed this app measured for each local model (cached until a run finishes)."""
    from lib import report

    return _speeds(db_path(), report.runs_version(db_path()))


@st.cache_data(show_spinner=False)
def api_latency() -> dict[str, tuple[float, float]]:
    """Published API p95 round trips per model (decision-tree data)."""
    from lib import report

    return report.api_latency_figures()
