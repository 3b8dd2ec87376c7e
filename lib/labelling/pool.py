"""TREC-style pooling: the top-k (default 10) of several retrievers per query, merged.

Each system ranks with :func:`lib.evaluation.engine.rank` — the evaluation's own
embedding cache, prompts, exact top-k and BM25 tie order — so the pooled documents are
exactly those the same models retrieve when the labelled set is evaluated, and a model
that took part in the pool has a fully judged top-``depth`` (judged@10 = 1 once the pool
is judged). A model outside the pool has not: :func:`lib.labelling.export.judged_at_k`
reports how much of its top-10 was judged.

Public API: :func:`rank_systems` (each system's top-k as pool rows), :func:`pool_collection`
(documents + queries → a new set with its pool, in one transaction), :func:`extend_pool` (add
systems to an existing set), :func:`pool_stats` (pool size per query and overall, before
judging) and :func:`coverage` (the share of known relevant pairs a pool holds, for checks
against existing qrels).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from lib import store
from lib.errors import UserError
from lib.evaluation import engine
from lib.evaluation import models as registry
from lib.evaluation.datasets import Collection
from lib.labelling import store as lstore

Progress = Callable[[str, float], None]
DEFAULT_DEPTH = 10
MAX_DEPTH = 100


@dataclass(frozen=True)
class PoolStats:
    """Pool size before judging.

    Attributes:
        set_id: The set.
        systems: Pooled systems with their depth, in pooling order.
        n_queries: Queries with a pool.
        size: Distinct (query, document) pairs to judge.
        per_query: Columns query_id, size (pool size of that query).
        unique: Per system, pairs that only it contributed.
        max_size: ``depth × systems`` per query summed (the size with no overlap at all).
    """

    set_id: str
    systems: tuple[tuple[str, int], ...]
    n_queries: int
    size: int
    per_query: pd.DataFrame
    unique: Mapping[str, int]
    max_size: int

    @property
    def mean_per_query(self) -> float:
        """Mean pool size per query (0 without queries)."""
        return self.size / self.n_queries if self.n_queries else 0.0


def _check(models: Sequence[str], depth: int) -> list[registry.ModelInfo]:
    if not models:
        raise UserError("give at least one model to pool, e.g. --model bm25 --model minilm")
    if len(set(models)) != len(models):
        raise UserError("the same model spec is given twice")
    if not 1 <= depth <= MAX_DEPTH:
        raise UserError(f"depth must be between 1 and {MAX_DEPTH} (TREC pools use 10 to 100)")
    # Every spec is resolved before any model loads: a typo costs nothing.
    return [registry.resolve(m) for m in models]


def rank_systems(
    infos: list[registry.ModelInfo],
    doc_ids: tuple[str, ...],
    doc_texts: tuple[str, ...],
    query_ids: tuple[str, ...],
    query_texts: tuple[str, ...],
    depth: int,
    *,
    api_key: str | None,
    use_cache: bool,
    progress: Progress | None,
) -> list[tuple[registry.ModelInfo, pd.DataFrame]]:
    """Each system's top-``depth`` per query, ranked exactly as an evaluation ranks (for pools).

    Also used by :mod:`lib.evaluation.quick` to pool a quick estimate's reduced corpus.

    Args:
        infos: Resolved systems (BM25 and embedding models; no hybrids).
        doc_ids: Document ids.
        doc_texts: Document texts.
        query_ids: Query ids.
        query_texts: Query texts.
        depth: Ranks kept per query.
        api_key: Session key for API models.
        use_cache: Use the embedding cache.
        progress: ``progress(message, fraction)``.

    Returns:
        Per system, its identity after loading and rows (``query_id``, ``doc_id``, ``rank`` from 1,
        ``score``).
    """
    # Rank as deep as an evaluation does, then cut: BM25 (bm25s) picks among equal scores
    # (often many zeros) differently for another k, and the pool must hold exactly the
    # top-``depth`` that the evaluation of the same model will see.
    k = max(depth, engine.EvaluationConfig(models=()).retrieve_k)
    out = []
    for i, info in enumerate(infos):
        def stage(message: str, frac: float, i: int = i, spec: str = info.spec) -> None:
            if progress:
                progress(f"[{spec}] {message}", (i + min(max(frac, 0.0), 1.0)) / len(infos))

        stage("loading model", 0.0)
        model = registry.load(info, api_key=api_key)
        ranking = engine.rank(model, doc_ids, doc_texts, query_texts, k, use_cache=use_cache,
                              progress=stage)
        rows = [
            (query_ids[r], doc_ids[int(j)], c + 1, float(s))
            for r in range(ranking.idx.shape[0])
            for c, (j, s) in enumerate(zip(ranking.idx[r, :depth], ranking.scores[r, :depth], strict=True))
        ]
        out.append((ranking.info, pd.DataFrame(rows, columns=["query_id", "doc_id", "rank", "score"])))
        del model
    return out


def pool_collection(
    collection: Collection,
    models: Sequence[str],
    *,
    depth: int = DEFAULT_DEPTH,
    db: lstore.DbPath = None,
    name: str | None = None,
    api_key: str | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    user_id: str | None = None,
) -> PoolStats:
    """Create a label set from documents and queries, and pool the given models into it.

    Every model ranks first; the set and all pools are then written in one transaction,
    so a model failing mid-way stores nothing.

    Args:
        collection: From :func:`lib.evaluation.datasets.load_collection` (needs queries).
        models: Model specs (BM25 and embedding models).
        depth: Ranks pooled per system.
        db: DuckDB file.
        name: Display name (default the collection's).
        api_key: Session key for API models (never stored).
        use_cache: Use the embedding cache.
        progress: ``progress(message, fraction)``.
        user_id: Who the new set belongs to (:mod:`lib.team`).

    Returns:
        The new set's pool statistics.

    Raises:
        UserError: Without queries, for bad model specs or depth, or a model failing.
    """
    if not collection.query_ids:
        raise UserError(
            "no queries to pool: give a queries file, paste queries one per line, or write synthetic "
            "queries first (label synth)"
        )
    infos = _check(models, depth)
    ranked = rank_systems(infos, collection.doc_ids, collection.doc_texts, collection.query_ids,
                       collection.query_texts, depth, api_key=api_key, use_cache=use_cache,
                       progress=progress)
    queries = [lstore.QueryRecord(q, t) for q, t in zip(collection.query_ids, collection.query_texts,
                                                         strict=True)]
    with store.transaction(db) as cur:
        set_id = lstore.insert_set(
            cur, name=name or collection.name, source=collection.source,
            fingerprint=collection.fingerprint,
            docs=list(zip(collection.doc_ids, collection.doc_texts, strict=True)),
            queries=queries, query_source=collection.query_source, notes=collection.notes, user_id=user_id,
        )
        for info, hits in ranked:
            lstore.insert_pool(cur, set_id, info.spec, info.to_json(), depth, hits)
    return pool_stats(db, set_id)


def extend_pool(
    db: lstore.DbPath,
    set_id: str,
    models: Sequence[str],
    *,
    depth: int = DEFAULT_DEPTH,
    api_key: str | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> PoolStats:
    """Pool more systems into an existing set (a system pooled before is replaced).

    Judgements already made stay; new pairs simply wait to be judged.

    Args:
        db: DuckDB file.
        set_id: The set.
        models: Model specs.
        depth: Ranks pooled per system.
        api_key: Session key for API models.
        use_cache: Use the embedding cache.
        progress: ``progress(message, fraction)``.

    Returns:
        The pool statistics after the change.

    Raises:
        UserError: For an unknown set, a set without queries, or bad specs.
    """
    lstore.get_set(db, set_id)
    docs = lstore.documents(db, set_id)
    qs = lstore.queries(db, set_id)
    if qs.empty:
        raise UserError(f"label set {set_id!r} has no queries to pool")
    infos = _check(models, depth)
    ranked = rank_systems(
        infos, tuple(d for d, _ in docs), tuple(t for _, t in docs), tuple(qs["query_id"]),
        tuple(qs["text"]), depth, api_key=api_key, use_cache=use_cache, progress=progress,
    )
    with store.transaction(db) as cur:
        for info, hits in ranked:
            lstore.insert_pool(cur, set_id, info.spec, info.to_json(), depth, hits)
    return pool_stats(db, set_id)


def pool_stats(db: lstore.DbPath, set_id: str) -> PoolStats:
    """Pool size per query and overall (what the judges face), and each system's share.

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        The statistics.
    """
    info = lstore.get_set(db, set_id)
    merged = lstore.pool(db, set_id)
    per_query = merged.groupby("query_id", sort=False).size().rename("size").reset_index()
    solo = merged[merged["systems"].map(len) == 1]
    unique = {s: int((solo["systems"].map(lambda x, s=s: x[0] == s)).sum()) for s, _ in info.systems}
    hits = lstore.pool_hits(db, set_id)
    max_size = int(hits.groupby("system").size().sum()) if not hits.empty else 0
    return PoolStats(
        set_id=set_id, systems=info.systems, n_queries=len(per_query), size=len(merged),
        per_query=per_query, unique=unique, max_size=max_size,
    )


def coverage(pool: pd.DataFrame, qrels: Mapping[str, Mapping[str, int]], min_grade: int = 1) -> float:
    """Share of known relevant pairs (grade ≥ ``min_grade``) that the pool holds.

    Args:
        pool: Columns query_id, doc_id (e.g. :func:`lib.labelling.store.pool`).
        qrels: Known judgements ``{query_id: {doc_id: grade}}``.
        min_grade: Lowest grade counted as relevant.

    Returns:
        The share in [0, 1] (1.0 when there is nothing relevant to hold).
    """
    relevant = {(q, d) for q, row in qrels.items() for d, g in row.items() if g >= min_grade}
    if not relevant:
        return 1.0
    pooled = set(zip(pool["query_id"], pool["doc_id"], strict=True))
    return len(relevant & pooled) / len(relevant)
