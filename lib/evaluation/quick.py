"""Quick mode: evaluate on a reduced corpus, as MMTEB shrinks its retrieval tasks, and say so.

The reduced corpus keeps

1. every judged document of every query (any grade, 0 included),
2. the pool: the union over the pooling systems (default BM25 and MiniLM on ONNX Runtime int8,
   the fastest local dense model measured here: 1.5× torch MiniLM's documents/s) of each
   query's top-``depth`` documents, ranked exactly as an evaluation ranks them
   (:func:`lib.labelling.pool.rank_systems`: the embedding cache, prompts, exact top-k,
   BM25's tie order). ``depth`` is the deepest (at most ``max_depth``) that still fits the
   size target, and never less than ``min_depth`` (default 10: a pooling system's top 10 is
   then kept whole),
3. a seeded random fill of other documents up to the size target.

Every query is kept. The hard negatives come from the pooling systems, so those systems
are favoured: a dense pooling model's top 10 survives whole, so its nDCG@10 is exactly its
full-corpus score, while another model can find a document it would have ranked below one
of the removed ones moved up — its score can only be estimated (usually slightly too high).
BM25 is not exact even when pooled: its idf and mean document length are statistics of the
corpus, which has changed. With the default pool, int8 MiniLM is one of the favoured systems
(and torch MiniLM nearly so: their vectors agree to a cosine of 0.99); choose the pool with
``pool_models`` (a candidate pooled is then exact, and its pooling pass fills its cache).

When the judged and pooled documents at ``min_depth`` alone outnumber the size target,
all of them are kept (the target is not honoured) and :attr:`QuickInfo.note` says so:
dropping judged or pooled documents would change the scores far more than a larger corpus
costs.

Public API: :func:`reduce` (a :class:`~lib.evaluation.datasets.Dataset` → the reduced one
and its :class:`QuickInfo`), :func:`select` (the same choice from given rankings, no models),
:func:`evaluate` (reduce, then run the engine with the record in its configuration),
:func:`info_of` (the :class:`QuickInfo` recorded in a run's configuration), :func:`label`,
:func:`fidelity` (Kendall τ of the model order and the largest score shift between a full
and a quick run).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lib.errors import UserError
from lib.evaluation import models as registry
from lib.evaluation.datasets import Dataset
from lib.evaluation.models import hybrid

Progress = Callable[[str, float], None]

#: Systems pooled by default: lexical and one cheap dense model (then itself favoured, see above).
DEFAULT_POOL_MODELS = ("bm25", "minilm?backend=onnx&quantize=int8")
#: Documents kept by default (the CLI's and the page's starting value).
DEFAULT_SIZE = 1000
MAX_DEPTH = 100
DEFAULT_MIN_DEPTH = 10
LABEL = "quick estimate"
#: What a reader of a quick estimate's numbers must know (a sentence).
CAVEAT = ("Scores on a reduced corpus: the pooling systems keep their own top 10 and are favoured, other "
          "models may score slightly higher than on the full corpus, and BM25's corpus statistics change")


@dataclass(frozen=True)
class QuickInfo:
    """How a quick estimate's corpus was reduced (recorded with the run).

    Attributes:
        original_docs: Documents in the full corpus.
        kept_docs: Documents in the reduced corpus.
        size_target: Documents asked for.
        judged_docs: Distinct judged documents (all kept).
        pooled_docs: Pooled documents that are not judged.
        random_docs: Random fill.
        pool_models: Pooling systems (specs), in order.
        depth: Ranks pooled per query and system.
        seed: Seed of the random fill.
        original_name: The full dataset's name.
        original_fingerprint: The full dataset's fingerprint (to find its texts again).
        pool_seconds: Seconds spent ranking the full corpus for the pool.
        note: Why the size target was not honoured ("" when it was).
    """

    original_docs: int
    kept_docs: int
    size_target: int
    judged_docs: int
    pooled_docs: int
    random_docs: int
    pool_models: tuple[str, ...]
    depth: int
    seed: int
    original_name: str = ""
    original_fingerprint: str = ""
    pool_seconds: float = 0.0
    note: str = ""

    @property
    def reduction(self) -> float:
        """Original documents per kept document (1.0 = nothing removed)."""
        return self.original_docs / self.kept_docs if self.kept_docs else 1.0

    def to_record(self) -> dict[str, Any]:
        """JSON-able form (stored as ``EvaluationConfig.quick``)."""
        out = asdict(self)
        out["pool_models"] = list(self.pool_models)
        out["reduction"] = self.reduction
        return out

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> QuickInfo:
        """Read :meth:`to_record` back (unknown keys are ignored).

        Args:
            record: The stored dict.

        Returns:
            The info.
        """
        names = cls.__dataclass_fields__
        kwargs = {k: v for k, v in record.items() if k in names}
        kwargs["pool_models"] = tuple(kwargs.get("pool_models") or ())
        return cls(**kwargs)


def label(info: QuickInfo) -> str:
    """How a quick run is labelled wherever it is shown.

    Args:
        info: The run's quick info.

    Returns:
        E.g. ``quick estimate: 1,000 of 5,183 documents (5.2× fewer; judged + BM25 / all-MiniLM-L6-v2 top 12
        + random; pooling took 40 s)``.
    """
    pools = " / ".join(registry.display_label(m) for m in info.pool_models)
    how = f"judged + {pools} top {info.depth} + random" if info.depth else "nothing removed"
    took = f"; pooling took {info.pool_seconds:,.0f} s" if info.pool_seconds >= 0.5 else ""
    return (f"{LABEL}: {info.kept_docs:,} of {info.original_docs:,} documents ({info.reduction:.1f}× fewer; "
            f"{how}{took})")


def info_of(config: Mapping[str, Any] | None) -> QuickInfo | None:
    """The quick info recorded in a run's configuration, or None for a full run.

    Args:
        config: ``eval_runs.config`` parsed (or a :class:`~lib.evaluation.engine.EvaluationConfig` as dict).

    Returns:
        The info, or None.
    """
    record = (config or {}).get("quick")
    return QuickInfo.from_record(record) if isinstance(record, Mapping) and record else None


# --------------------------------------------------------------------------- choosing the documents


@dataclass(frozen=True)
class Selection:
    """Which documents a reduced corpus keeps (by index in the full corpus), and why.

    Attributes:
        keep: Kept document indices, in corpus order.
        judged: Judged document indices.
        pooled: Pooled indices at the chosen depth (judged ones among them included).
        depth: The chosen depth.
        note: Why the size target was not honoured ("" when it was).
        random: The random fill.
    """

    keep: tuple[int, ...]
    judged: frozenset[int]
    pooled: frozenset[int]
    depth: int
    note: str = ""
    random: frozenset[int] = field(default_factory=frozenset)


def _check(size: int, min_depth: int, max_depth: int) -> None:
    if size < 1:
        raise UserError(f"the quick-estimate size must be at least 1 document (got {size})")
    if not 1 <= min_depth <= max_depth <= MAX_DEPTH:
        raise UserError(f"pool depths must satisfy 1 ≤ min depth ≤ max depth ≤ {MAX_DEPTH} "
                        f"(got {min_depth} and {max_depth})")


def select(
    ds: Dataset,
    rankings: Sequence[np.ndarray],
    size: int,
    *,
    min_depth: int = DEFAULT_MIN_DEPTH,
    max_depth: int = MAX_DEPTH,
    seed: int = 0,
) -> Selection:
    """Choose the documents of a reduced corpus from the pooling systems' rankings.

    Args:
        ds: The full dataset.
        rankings: Per pooling system, an (n_queries, ≥ max_depth or fewer) array of document
            indices, best first, rows in ``ds.query_ids`` order.
        size: Documents to keep.
        min_depth: The shallowest pool kept whatever the size.
        max_depth: The deepest pool considered.
        seed: Seed of the random fill.

    Returns:
        The :class:`Selection`.

    Raises:
        UserError: For a size or depth below 1, ``min_depth > max_depth`` or a depth over 100.
    """
    _check(size, min_depth, max_depth)
    pos = {d: i for i, d in enumerate(ds.doc_ids)}
    judged = frozenset(pos[d] for q in ds.query_ids for d in ds.qrels.get(q, {}) if d in pos)
    deepest = max([min(max_depth, r.shape[1]) for r in rankings] or [0])
    pooled: set[int] = set()
    depth = 0
    for d in range(1, deepest + 1):
        layer = {int(r[q, d - 1]) for r in rankings if d <= r.shape[1] for q in range(r.shape[0])}
        if d > min_depth and len(judged | pooled | layer) > size:
            break
        pooled |= layer
        depth = d
    kept = judged | pooled
    note = ""
    if len(kept) > size:
        note = (f"{len(judged):,} judged and {len(kept - judged):,} more pooled documents (top {depth} of "
                f"{len(rankings)} system(s) per query) are more than the {size:,} asked for: all "
                f"{len(kept):,} are kept, since dropping them would change the scores more than a larger "
                "corpus costs (ask for at least that many, or pool fewer systems)")
    rest = np.array(sorted(set(range(len(ds.doc_ids))) - kept), dtype=int)
    n_fill = max(0, min(size - len(kept), len(rest)))
    rng = np.random.default_rng(seed)
    fill = frozenset(int(i) for i in rng.choice(rest, n_fill, replace=False)) if n_fill else frozenset()
    keep = tuple(sorted(kept | fill))
    return Selection(keep, judged, frozenset(pooled), depth, note, fill)


def reduce(
    ds: Dataset,
    size: int = DEFAULT_SIZE,
    *,
    pool_models: Sequence[str] = DEFAULT_POOL_MODELS,
    min_depth: int = DEFAULT_MIN_DEPTH,
    max_depth: int = MAX_DEPTH,
    seed: int = 0,
    use_cache: bool = True,
    api_key: str | None = None,
    progress: Progress | None = None,
) -> tuple[Dataset, QuickInfo]:
    """Reduce a dataset's corpus for a quick estimate (see the module docstring).

    The pooling systems rank the full corpus (through the embedding cache, so the evaluation
    that follows finds a pooling model's vectors there).

    Args:
        ds: The full dataset.
        size: Documents to keep.
        pool_models: Pooling systems (BM25 and embedding model specs; no hybrids).
        min_depth: The shallowest pool kept whatever the size (default 10).
        max_depth: The deepest pool considered (at most 100).
        seed: Seed of the random fill.
        use_cache: Use the embedding cache.
        api_key: Session key for API pooling models.
        progress: ``progress(message, fraction)`` while the pooling systems rank.

    Returns:
        The reduced dataset and its :class:`QuickInfo`. When ``size`` is at least the corpus,
        the dataset comes back whole (with its info, reduction 1.0) without ranking anything.

    Raises:
        UserError: For a bad size, depth or pooling spec.
    """
    from lib.labelling import pool

    if not pool_models:
        raise UserError("a quick estimate needs at least one pooling system, e.g. bm25")
    if len(set(pool_models)) != len(pool_models):
        raise UserError("the same pooling system is given twice")
    if any(hybrid.is_hybrid(m) for m in pool_models):
        raise UserError("pool with single systems (e.g. bm25, minilm), not hybrids")
    infos = [registry.resolve(m) for m in pool_models]
    size = int(size)
    _check(size, min_depth, max_depth)

    def info(kept: int, judged: int, pooled: int, fill: int, depth: int, seconds: float, note: str) -> QuickInfo:
        return QuickInfo(original_docs=len(ds.doc_ids), kept_docs=kept, size_target=size, judged_docs=judged,
                         pooled_docs=pooled, random_docs=fill, pool_models=tuple(pool_models), depth=depth,
                         seed=int(seed), original_name=ds.name, original_fingerprint=ds.fingerprint,
                         pool_seconds=seconds, note=note)

    if size >= len(ds.doc_ids):
        n_judged = len({d for q in ds.query_ids for d in ds.qrels.get(q, {})})
        return ds, info(len(ds.doc_ids), n_judged, 0, 0, 0, 0.0,
                        f"the corpus has {len(ds.doc_ids):,} documents, not more than the {size:,} asked for: "
                        "nothing was removed")
    t0 = time.perf_counter()
    ranked = pool.rank_systems(infos, ds.doc_ids, ds.doc_texts, ds.query_ids, ds.query_texts, max_depth,
                               api_key=api_key, use_cache=use_cache, progress=progress)
    pool_s = time.perf_counter() - t0
    rankings = [_as_matrix(hits, ds, max_depth) for _, hits in ranked]
    sel = select(ds, rankings, size, min_depth=min_depth, max_depth=max_depth, seed=seed)
    reduced = ds.restrict(sel.keep, f"{ds.name} (quick)")
    return reduced, info(len(sel.keep), len(sel.judged), len(sel.pooled - sel.judged), len(sel.random), sel.depth,
                         pool_s, sel.note)


def evaluate(
    ds: Dataset,
    config: Any,
    size: int = DEFAULT_SIZE,
    *,
    pool_models: Sequence[str] = DEFAULT_POOL_MODELS,
    min_depth: int = DEFAULT_MIN_DEPTH,
    seed: int | None = None,
    db_path: Any = None,
    progress: Progress | None = None,
    api_key: str | None = None,
    run_id: str | None = None,
    viewer: Any = None,
) -> Any:
    """A quick estimate: :func:`reduce` the corpus, then :func:`lib.evaluation.engine.evaluate` on it.

    The run is stored with ``config.quick`` = the :class:`QuickInfo` record, so every page, the
    report and the CLI label it.

    Args:
        ds: The full dataset.
        config: An :class:`~lib.evaluation.engine.EvaluationConfig` (its ``use_cache`` is used for pooling too).
        size: Documents to keep.
        pool_models: Pooling systems.
        min_depth: The shallowest pool kept whatever the size.
        seed: Seed of the random fill (default the config's seed).
        db_path: DuckDB file.
        progress: ``progress(message, fraction)``: pooling takes the first 30 %.
        api_key: Session API key.
        run_id: The id to store the run under (a job picks it first).
        viewer: Who the run belongs to (:mod:`lib.team`).

    Returns:
        The engine's :class:`~lib.evaluation.engine.EvaluationResult` (its dataset is the reduced one).

    Raises:
        UserError: For bad input (nothing is stored then) or a model failing.
    """
    import dataclasses

    from lib.evaluation import engine

    say = progress or (lambda _m, _f: None)
    # Bad input costs nothing: the engine's own checks, and every spec resolved, before pooling.
    engine.check_config(config)
    reduced, info = reduce(
        ds, size, pool_models=pool_models, min_depth=min_depth, seed=config.seed if seed is None else seed,
        use_cache=config.use_cache, api_key=api_key, progress=lambda m, f: say(f"pooling {m}", 0.3 * f),
    )
    cfg = dataclasses.replace(config, quick=info.to_record())
    return engine.evaluate(reduced, cfg, db_path=db_path, api_key=api_key,
                           progress=lambda m, f: say(m, 0.3 + 0.7 * f), run_id=run_id, viewer=viewer)


def _as_matrix(hits: pd.DataFrame, ds: Dataset, depth: int) -> np.ndarray:
    """Pool rows (query_id, doc_id, rank) → an (n_queries, depth) index matrix (rows in query order)."""
    pos = {d: i for i, d in enumerate(ds.doc_ids)}
    qpos = {q: i for i, q in enumerate(ds.query_ids)}
    width = min(depth, len(ds.doc_ids))
    out = np.zeros((len(ds.query_ids), width), dtype=int)
    for q, d, r in zip(hits["query_id"], hits["doc_id"], hits["rank"], strict=True):
        if int(r) <= width:
            out[qpos[q], int(r) - 1] = pos[d]
    return out


# --------------------------------------------------------------------------- fidelity


@dataclass(frozen=True)
class Fidelity:
    """How well a quick run reproduces a full one.

    Attributes:
        tau: Kendall τ (τ-b) between the systems' full and quick scores (1 = same order).
        p_value: Its p-value (NaN with fewer than three systems).
        max_shift: Largest absolute score change of a system, quick − full.
        worst: The system with that change.
        shifts: Per system, quick − full.
    """

    tau: float
    p_value: float
    max_shift: float
    worst: str
    shifts: Mapping[str, float]


def fidelity(full: Mapping[str, float], quick: Mapping[str, float]) -> Fidelity:
    """Compare a quick run's scores with a full run's, system by system (e.g. nDCG@10 means).

    Args:
        full: System → score on the full corpus.
        quick: System → score on the reduced corpus.

    Returns:
        The :class:`Fidelity` over the systems in both.

    Raises:
        UserError: With fewer than two systems in common.
    """
    from scipy.stats import kendalltau

    common = [s for s in full if s in quick]
    if len(common) < 2:
        raise UserError("fidelity needs at least two systems scored in both runs")
    a = np.array([full[s] for s in common], dtype=float)
    b = np.array([quick[s] for s in common], dtype=float)
    res = kendalltau(a, b)
    shifts = {s: float(quick[s] - full[s]) for s in common}
    worst = max(common, key=lambda s: abs(shifts[s]))
    tau = float(res.statistic)
    p = float(res.pvalue) if len(common) >= 3 else math.nan
    return Fidelity(tau, p, abs(shifts[worst]), worst, shifts)
