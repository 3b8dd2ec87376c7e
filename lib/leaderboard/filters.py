"""The leaderboard explorer's view state: filters, weights, pins and sort, and its URL form.

:class:`LeaderboardFilters` is the whole view as a frozen value. The page builds it from its
widgets; every widget is bound to the URL query parameter named in :data:`PARAM_KEYS`, and
:meth:`LeaderboardFilters.to_query_params` / :meth:`LeaderboardFilters.from_query_params`
use the *same* names and value formats the widgets write (labels of the range stops, the
radio labels), so a copied link restores the view exactly and tests can build one.

Two kinds of filter:

* task filters (types, tasks, languages, domains) choose the **task subset**; the ranks
  are recomputed for it as mteb would for a benchmark of those tasks
  (:func:`select_tasks`);
* model filters (licence, price, size, ...) hide rows without changing anyone's rank
  (:func:`model_mask`), so a rank stays comparable with mteb's table for the same tasks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

import numpy as np
import pandas as pd

INF = math.inf
DEFAULT_BENCHMARK = "MTEB(eng, v2)"

# Range stops. Sliders move over these (log-like) values; the URL stores their labels.
DIM_STOPS: tuple[float, ...] = (0, 64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 8192, INF)
PRICE_STOPS: tuple[float, ...] = (0, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, INF)
PARAM_STOPS: tuple[float, ...] = (0, 10e6, 30e6, 100e6, 300e6, 1e9, 3e9, 10e9, 30e9, INF)
MEMORY_STOPS_GB: tuple[float, ...] = (0, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, INF)
MAX_TOKEN_STOPS: tuple[float, ...] = (0, 512, 1024, 2048, 4096, 8192, 32768, 131072)

OPEN_WEIGHTS = ("any", "open", "closed")
OPEN_WEIGHTS_LABELS = {"any": "Any", "open": "Open weights", "closed": "API only"}
INSTRUCTIONS = ("any", "yes", "no")
INSTRUCTIONS_LABELS = {"any": "Any", "yes": "Instruction-tuned", "no": "No instructions"}
# mteb's leaderboard offers the same three zero-shot choices.
ZERO_SHOT = ("any", "known", "only")
ZERO_SHOT_LABELS = {"any": "Allow all", "known": "Remove unknown", "only": "Only zero-shot"}

#: Query parameter (= widget key) of each field.
PARAM_KEYS: dict[str, str] = {
    "benchmark": "lb_benchmark",
    "task_types": "lb_types",
    "tasks": "lb_tasks",
    "languages": "lb_langs",
    "domains": "lb_domains",
    "modalities": "lb_modality",
    "license_groups": "lb_lgroups",
    "licenses": "lb_licenses",
    "commercial_only": "lb_commercial",
    "open_weights": "lb_open",
    "dims": "lb_dims",
    "price": "lb_price",
    "include_unpriced": "lb_unpriced",
    "params": "lb_params",
    "memory_gb": "lb_mem",
    "include_unknown_size": "lb_unksize",
    "min_max_tokens": "lb_maxtok",
    "instructions": "lb_instr",
    "zero_shot": "lb_zs",
    "mrl_only": "lb_mrl",
    "search": "lb_q",
    "weighted": "lb_weighted",
    "pins": "lb_pins",
    "sort": "lb_sort",
    "sort_reverse": "lb_rev",
}
#: Prefix of the per-task-type weight parameters (``lb_w_Retrieval=70``).
WEIGHT_PREFIX = "lb_w_"
DEFAULT_WEIGHT = 10


def fmt_count(x: float) -> str:
    """Label of a parameter-count stop (``100M``, ``1B``, ``∞``)."""
    if math.isinf(x):
        return "∞"
    if x == 0:
        return "0"
    return f"{x / 1e9:g}B" if x >= 1e9 else f"{x / 1e6:g}M"


def fmt_price(x: float) -> str:
    """Label of a price stop in USD per 1M tokens (``$0.02``)."""
    return "∞" if math.isinf(x) else f"${x:g}"


def fmt_plain(x: float) -> str:
    """Label of a dimension / token stop (``1024``, ``∞``)."""
    return "∞" if math.isinf(x) else f"{x:g}"


def fmt_gb(x: float) -> str:
    """Label of a memory stop (``0.5 GB``)."""
    return "∞" if math.isinf(x) else f"{x:g} GB"


_RANGES: dict[str, tuple[tuple[float, ...], object]] = {
    "dims": (DIM_STOPS, fmt_plain),
    "price": (PRICE_STOPS, fmt_price),
    "params": (PARAM_STOPS, fmt_count),
    "memory_gb": (MEMORY_STOPS_GB, fmt_gb),
}
_CHOICES: dict[str, dict[str, str]] = {
    "open_weights": OPEN_WEIGHTS_LABELS,
    "instructions": INSTRUCTIONS_LABELS,
    "zero_shot": ZERO_SHOT_LABELS,
}
_LISTS = ("task_types", "tasks", "languages", "domains", "modalities", "license_groups", "licenses", "pins")
_BOOLS = ("commercial_only", "include_unpriced", "include_unknown_size", "mrl_only", "weighted", "sort_reverse")


@dataclass(frozen=True)
class LeaderboardFilters:
    """Everything that defines an explorer view.

    Attributes:
        benchmark: mteb benchmark name.
        task_types: Keep tasks of these types (empty: all).
        tasks: Keep only these tasks (empty: all that pass the other task filters).
        languages: Keep tasks (and result rows) in any of these ISO 639-3 languages.
        domains: Keep tasks in any of these domains.
        modalities: Keep models that handle every one of these modalities.
        license_groups: Keep models whose licence is in these use groups.
        licenses: Keep models with one of these exact licence strings.
        commercial_only: Keep only licences that allow commercial use (see licenses.py).
        open_weights: ``any``, ``open`` or ``closed`` (API only).
        dims: Inclusive embedding-dimension range; an MRL model passes if any size it
            offers lies inside.
        price: Inclusive USD per 1M tokens range (API price, or the self-host estimate).
        include_unpriced: Keep models without any price when the price range is narrowed.
        params: Inclusive total-parameter range (absolute count).
        memory_gb: Inclusive memory range in GB (mteb's ``memory_usage_mb``).
        include_unknown_size: Keep models whose size/memory is unknown when narrowed.
        min_max_tokens: Minimum context length (0: any; unknown lengths fail a minimum).
        instructions: ``any``, ``yes`` or ``no`` (mteb's ``use_instructions``).
        zero_shot: ``any``, ``known`` (drop unknown training data) or ``only`` (100 %).
        mrl_only: Keep only models that offer several output sizes (Matryoshka).
        search: Case-insensitive substring of the model name.
        weighted: Show the user-weighted score and its rank.
        weights: (task type, weight) pairs; normalised over the types present.
        pins: Models shown on top, in this order.
        sort: Column to sort by ("" = the benchmark's rank column).
        sort_reverse: Reverse the column's natural order.
    """

    benchmark: str = DEFAULT_BENCHMARK
    task_types: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    modalities: tuple[str, ...] = ()
    license_groups: tuple[str, ...] = ()
    licenses: tuple[str, ...] = ()
    commercial_only: bool = False
    open_weights: str = "any"
    dims: tuple[float, float] = (0, INF)
    price: tuple[float, float] = (0, INF)
    include_unpriced: bool = True
    params: tuple[float, float] = (0, INF)
    memory_gb: tuple[float, float] = (0, INF)
    include_unknown_size: bool = True
    min_max_tokens: float = 0
    instructions: str = "any"
    zero_shot: str = "any"
    mrl_only: bool = False
    search: str = ""
    weighted: bool = False
    weights: tuple[tuple[str, float], ...] = ()
    pins: tuple[str, ...] = ()
    sort: str = ""
    sort_reverse: bool = False

    @property
    def has_task_filter(self) -> bool:
        """Whether the task subset differs from the whole benchmark."""
        return bool(self.task_types or self.tasks or self.languages or self.domains)

    def weight_map(self) -> dict[str, float]:
        """Weights as a dict (task type → raw weight)."""
        return dict(self.weights)

    def to_query_params(self) -> dict[str, str | list[str]]:
        """The URL query parameters of this view (defaults omitted, as the widgets do).

        Returns:
            Parameter name → value (lists for multi-valued parameters).
        """
        default = LeaderboardFilters()
        out: dict[str, str | list[str]] = {}
        for f in fields(self):
            name = f.name
            value = getattr(self, name)
            if name == "weights":
                for typ, w in value:
                    out[WEIGHT_PREFIX + typ] = f"{w:g}"
                continue
            if value == getattr(default, name):
                continue
            key = PARAM_KEYS[name]
            if name in _LISTS:
                out[key] = list(value)
            elif name in _BOOLS:
                out[key] = "true" if value else "false"
            elif name in _RANGES:
                _stops, fmt = _RANGES[name]
                out[key] = [fmt(value[0]), fmt(value[1])]  # type: ignore[operator]
            elif name in _CHOICES:
                out[key] = _CHOICES[name][value]
            elif name == "min_max_tokens":
                out[key] = fmt_plain(value)
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_session(
        cls, state: Mapping[str, object], benchmark: str, weight_types: Sequence[str] = ()
    ) -> LeaderboardFilters:
        """Rebuild the view from the explorer's widget values (``PARAM_KEYS`` in session state).

        Empty or missing widget values keep the defaults, as the widgets show them.

        Args:
            state: Widget key → value (Streamlit's session state).
            benchmark: The chosen benchmark.
            weight_types: Task types present in the table; their weights are read from the
                ``WEIGHT_PREFIX`` + type widgets (``DEFAULT_WEIGHT`` when absent). Empty: no weights.

        Returns:
            The view.
        """
        kwargs: dict[str, object] = {"benchmark": benchmark}
        for name, key in PARAM_KEYS.items():
            v = state.get(key)
            if name in _LISTS or name in _RANGES:
                if v:
                    kwargs[name] = tuple(v)  # type: ignore[arg-type]
            elif name in _BOOLS:
                if v is not None:
                    kwargs[name] = bool(v)
            elif name in _CHOICES:
                if v:
                    kwargs[name] = v
            elif name == "min_max_tokens":
                kwargs[name] = v or 0
            elif name in ("search", "sort"):
                kwargs[name] = v or ""
        weights = []
        for t in weight_types:
            w = state.get(WEIGHT_PREFIX + t, DEFAULT_WEIGHT)
            weights.append((t, float(w)))  # type: ignore[arg-type]
        kwargs["weights"] = tuple(weights)
        return replace(cls(), **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_query_params(cls, params: Mapping[str, str | Sequence[str]]) -> LeaderboardFilters:
        """Parse URL query parameters; unknown or malformed values fall back to defaults.

        Args:
            params: Parameter name → value or list of values (as ``st.query_params``
                ``to_dict()`` or a parsed URL gives them).

        Returns:
            The view.
        """

        def values(key: str) -> list[str]:
            v = params.get(key)
            if v is None:
                return []
            return [v] if isinstance(v, str) else [str(x) for x in v]

        kwargs: dict[str, object] = {}
        for name, key in PARAM_KEYS.items():
            vs = values(key)
            if not vs:
                continue
            if name in _LISTS:
                kwargs[name] = tuple(dict.fromkeys(x for x in vs if x))
            elif name in _BOOLS:
                kwargs[name] = vs[-1].lower() in {"true", "1", "yes"}
            elif name in _RANGES:
                stops, fmt = _RANGES[name]
                labels = {fmt(s): s for s in stops}  # type: ignore[operator]
                parsed = [labels[x] for x in vs if x in labels]
                if len(parsed) == 2:
                    kwargs[name] = (min(parsed), max(parsed))
            elif name in _CHOICES:
                back = {label: k for k, label in _CHOICES[name].items()}
                if vs[-1] in back:
                    kwargs[name] = back[vs[-1]]
            elif name == "min_max_tokens":
                labels = {fmt_plain(s): s for s in MAX_TOKEN_STOPS}
                if vs[-1] in labels:
                    kwargs[name] = labels[vs[-1]]
            else:
                kwargs[name] = vs[-1]
        weights = []
        for key in sorted(params):
            if key.startswith(WEIGHT_PREFIX):
                try:
                    w = float(values(key)[-1])
                except (ValueError, IndexError):
                    continue
                if math.isfinite(w) and w >= 0:
                    weights.append((key[len(WEIGHT_PREFIX) :], w))
        if weights:
            kwargs["weights"] = tuple(weights)
        return replace(cls(), **kwargs)  # type: ignore[arg-type]


def select_tasks(tasks: pd.DataFrame, f: LeaderboardFilters) -> list[str] | None:
    """The task subset a view selects, or None for the whole benchmark.

    Args:
        tasks: The benchmark's tasks (:func:`lib.leaderboard.queries.benchmark_tasks`).
        f: The view.

    Returns:
        Task names in benchmark order (possibly empty), or None when no task filter is set.
    """
    if not f.has_task_filter:
        return None
    keep = pd.Series(True, index=tasks.index)
    if f.task_types:
        keep &= tasks["type"].isin(f.task_types)
    if f.languages:
        want = set(f.languages)
        keep &= tasks["languages"].map(lambda ls: _is_list(ls) and bool(want & set(ls)))
    if f.domains:
        want_d = set(f.domains)
        keep &= tasks["domains"].map(lambda ds: _is_list(ds) and bool(want_d & set(ds)))
    if f.tasks:
        keep &= tasks["task_name"].isin(f.tasks)
    return tasks.loc[keep, "task_name"].tolist()


def _is_list(x: object) -> bool:
    return isinstance(x, (list, tuple, np.ndarray))


def _in_range(values: pd.Series, lo: float, hi: float) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce").astype(float)
    return (v >= lo) & (v <= hi)


def model_mask(frame: pd.DataFrame, f: LeaderboardFilters) -> pd.Series:
    """Which rows pass the model filters.

    Args:
        frame: The explorer table (columns from :func:`lib.leaderboard.explorer.enrich`).
        f: The view.

    Returns:
        A boolean Series aligned with ``frame``.
    """
    m = pd.Series(True, index=frame.index)
    if f.search.strip():
        m &= frame["Model"].str.contains(f.search.strip(), case=False, regex=False)
    if f.license_groups:
        m &= frame["License group"].isin(f.license_groups)
    if f.licenses:
        m &= frame["License"].isin(f.licenses)
    if f.commercial_only:
        m &= frame["Commercial use"].fillna(False).astype(bool)
    if f.open_weights != "any":
        ow = frame["Open weights"].astype("boolean")
        m &= (ow == (f.open_weights == "open")).fillna(False).astype(bool)
    if f.modalities:
        want = set(f.modalities)
        m &= frame["Modalities"].map(lambda ms: _is_list(ms) and want <= set(ms))
    if f.dims != (0, INF):
        lo, hi = f.dims
        m &= frame["Dims offered"].map(lambda ds: _is_list(ds) and any(lo <= d <= hi for d in ds))
    if f.price != (0, INF):
        priced = frame["Price ($/1M tok)"].notna()
        ok = _in_range(frame["Price ($/1M tok)"], *f.price)
        m &= ok | (~priced & f.include_unpriced)
    if f.params != (0, INF):
        known = frame["Total Parameters (B)"].notna()
        ok = _in_range(frame["Total Parameters (B)"].astype(float) * 1e9, *f.params)
        m &= ok | (~known & f.include_unknown_size)
    if f.memory_gb != (0, INF):
        known = frame["Memory (GB)"].notna()
        ok = _in_range(frame["Memory (GB)"], *f.memory_gb)
        m &= ok | (~known & f.include_unknown_size)
    if f.min_max_tokens:
        m &= (pd.to_numeric(frame["Max Tokens"], errors="coerce").astype(float) >= f.min_max_tokens).fillna(False)
    if f.instructions != "any":
        ui = frame["Instruction-tuned"].astype("boolean")
        m &= (ui == (f.instructions == "yes")).fillna(False).astype(bool)
    if f.zero_shot == "known":
        m &= pd.to_numeric(frame["Zero-shot"], errors="coerce").fillna(-1) >= 0
    elif f.zero_shot == "only":
        m &= pd.to_numeric(frame["Zero-shot"], errors="coerce").fillna(-1) == 100
    if f.mrl_only:
        m &= frame["MRL"].fillna(False).astype(bool)
    return m.astype(bool)
