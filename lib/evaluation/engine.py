"""Run one evaluation end to end: data → models → retrieval → metrics → store.

Public API:

* :class:`EvaluationConfig` — what to run (models, k, resamples, sweep, …).
* :func:`evaluate` — validate the data and every model spec first (so invalid input
  stores nothing), record the run as ``running``, evaluate each model (embedding cache,
  exact top-k, pytrec_eval per query, measured cost of use, dimension/precision sweep),
  then write all results and ``done`` in one transaction. Any exception marks the run
  ``failed`` and is re-raised (a stop that is not an error — the page left mid-run,
  Ctrl-C — is stored as ``interrupted: …``). ``progress(message, fraction)`` is called
  throughout (fraction in [0, 1]) so a page can drive ``st.progress``.
* :func:`redact` — API keys never reach the store, a page or a log: error texts are
  redacted before they are stored or re-raised (a server may echo the key it was sent).
* :class:`EvaluationResult` — what :func:`evaluate` returns (also readable later with
  :func:`lib.evaluation.runs.load_run`).
* :func:`encode_dataset` → :func:`dense_top_k` → :func:`score_top_k` — the dense pipeline
  (embedding cache, exact top-k, pytrec_eval per query) that :func:`evaluate` runs for each
  dense model; the Interview demos (:mod:`lib.interview.vectors`) run the same steps.
* Truncation and chunking (:mod:`lib.evaluation.chunking`): every dense model's documents are
  counted with its own tokenizer (:class:`ModelRun.truncation`: token lengths, the share of
  documents and tokens cut off at its limit); a spec with ``chunk=`` embeds chunks instead of
  documents and ranks each document by its best chunk (MaxP, exact).
  Document vectors stream to a file through the cache (:mod:`lib.evaluation.streaming`) and
  are searched by blocks with FAISS (:mod:`lib.evaluation.topk`), so memory stays bounded as
  the corpus grows; with ``engine="ray"`` the documents are encoded on Ray actors
  (:mod:`lib.evaluation.distributed`) and everything else still runs here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from lib import team
from lib.config import get_settings
from lib.errors import Cancelled, UserError
from lib.evaluation import chunking, fusion, metrics, models, retrieval, runs, streaming, topk
from lib.evaluation.cache import EmbeddingCache
from lib.evaluation.datasets import Dataset, Limits, load_dataset
from lib.evaluation.models import hybrid, rerank

Progress = Callable[[str, float], None]

#: Metrics on which paired comparisons and tie groups are computed.
COMPARED_METRICS = ("nDCG@10", "Recall@10", "MRR@10")
SWEEP_METRICS = ("nDCG@10", "Recall@10")
#: Where documents are encoded: ``local`` (this process) or ``ray`` (Ray actors).
ENGINES = ("local", "ray")


def default_engine() -> str:
    """``ray`` when ``EMS_RAY_ADDRESS`` is set (the app's way to use a cluster), else ``local``.

    Returns:
        An entry of :data:`ENGINES`.
    """
    return "ray" if get_settings().ray_address else "local"


@dataclass(frozen=True)
class EvaluationConfig:
    """What one evaluation runs.

    Attributes:
        models: Model specs (see :mod:`lib.evaluation.models`).
        k: The user's cut-off (adds nDCG@k, Recall@k, P@k).
        split: qrels split for BEIR folders.
        retrieve_k: Documents kept per query (≥ 100 for Recall@100 and MAP@100).
        bootstrap_resamples: Resamples for the per-model CIs.
        paired_resamples: Resamples for paired tests.
        confidence: CI coverage.
        alpha: Significance level for tie groups.
        seed: RNG seed for every resampling.
        sweep: Whether to run the dimension/precision sweep on dense models.
        sweep_dims: Dimensions for the sweep (default powers of two from 64, and full).
        latency_queries: Single-query requests timed per local model.
        latency_queries_api: Single-query requests timed per API model (they cost money).
        encode_chunk: Texts per encode call and cache shard.
        use_cache: Read and write the embedding cache.
        quick: For a quick estimate on a reduced corpus, how it was reduced
            (:meth:`lib.evaluation.quick.QuickInfo.to_record`, stored with the run); None for a full run.
        engine: ``local`` (encode in this process) or ``ray`` (documents on Ray actors; default
            ``ray`` when ``EMS_RAY_ADDRESS`` is set — see :mod:`lib.evaluation.distributed`).
        ray_actors: Ray actor pool size (None → ``EMS_RAY_ACTORS`` or one per GPU/CPU).
        ray_batch_size: Texts per Ray actor call (None → ``EMS_RAY_BATCH_SIZE``).
    """

    models: tuple[str, ...]
    k: int = 10
    split: str = "test"
    retrieve_k: int = 100
    bootstrap_resamples: int = 1000
    paired_resamples: int = 10_000
    confidence: float = 0.95
    alpha: float = 0.05
    seed: int = 0
    sweep: bool = True
    sweep_dims: tuple[int, ...] | None = None
    latency_queries: int = 20
    latency_queries_api: int = 3
    encode_chunk: int = 1024
    use_cache: bool = True
    quick: dict[str, Any] | None = None
    engine: str = field(default_factory=default_engine)
    ray_actors: int | None = None
    ray_batch_size: int | None = None


@dataclass(frozen=True)
class CostOfUse:
    """Measured cost of using a model on this data.

    Attributes:
        load_s: Seconds to load the model.
        encode_docs_s: Seconds spent encoding documents in this run (0 when cached).
        encode_queries_s: Seconds spent encoding queries in this run.
        search_s: Seconds for the batch top-k search.
        docs_per_s: Document throughput (from this run, or as recorded in the cache).
        queries_per_s: Query throughput.
        latency_p50_ms: Median single-query latency (encode + search).
        latency_p95_ms: 95th percentile.
        index_bytes: Size of the document index (float32 vectors, or BM25's matrix).
        api_tokens: Tokens billed by the API.
        api_requests: API requests made.
        api_cost_usd: Cost from the tokens, when the price is known.
        cache_hits: Texts served from the cache.
        cache_misses: Texts encoded now.
    """

    load_s: float = 0.0
    encode_docs_s: float = 0.0
    encode_queries_s: float = 0.0
    search_s: float = 0.0
    docs_per_s: float | None = None
    queries_per_s: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    index_bytes: int = 0
    api_tokens: int = 0
    api_requests: int = 0
    api_cost_usd: float | None = None
    cache_hits: int = 0
    cache_misses: int = 0


@dataclass(frozen=True)
class ModelRun:
    """One model's results inside a run.

    Attributes:
        info: Model identity (after loading: dimension, prompts, similarity filled in).
        per_query: Per-query metrics indexed by query id.
        topk_idx: (n_queries, retrieve_k) document indices.
        topk_scores: Their scores.
        cost: Measured cost of use.
        sweep: Rows (dim, precision, index_bytes, metric, mean, ci_low, ci_high).
        truncation: Token lengths of the corpus under the model's tokenizer and what its limit
            cuts off (and the chunks, if chunked).
        fusion_sweep: A score-fusion hybrid's metrics over the fusion weight (:func:`_alpha_sweep`).
    """

    info: models.ModelInfo
    per_query: pd.DataFrame
    topk_idx: np.ndarray
    topk_scores: np.ndarray
    cost: CostOfUse
    sweep: pd.DataFrame = field(default_factory=pd.DataFrame)
    truncation: chunking.Truncation = field(default_factory=chunking.Truncation)
    fusion_sweep: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass(frozen=True)
class EvaluationResult:
    """Everything one :func:`evaluate` call produced.

    Attributes:
        run_id: Id in the store.
        dataset: The evaluated dataset.
        config: The configuration.
        models: Per-model results, in config order.
        summary: Long table (model, metric, mean, ci_low, ci_high, n_queries, tie_group).
        pairs: Paired comparisons (metric, model_a, model_b, mean_diff, ci, p_value).
        groups: Per compared metric, groups of models that cannot be separated.
        wall_time_s: Wall time of the evaluation.
    """

    run_id: str
    dataset: Dataset
    config: EvaluationConfig
    models: tuple[ModelRun, ...]
    summary: pd.DataFrame
    pairs: pd.DataFrame
    groups: dict[str, list[list[str]]]
    wall_time_s: float

    def summary_table(self, metrics_: list[str] | None = None) -> pd.DataFrame:
        """One row per model with each metric's mean and CI bounds.

        Args:
            metrics_: Metrics to include (default all).

        Returns:
            The wide table.
        """
        return runs.summary_wide(self.summary, [m.info.spec for m in self.models], metrics_)


# What API keys look like (OpenAI "sk-…", and bearer tokens quoted from a request), for
# keys the engine was not told about, such as one a proxy put into its error text.
_KEY_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.=~+/]{8,}"),
)
REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove API keys from a text before it is stored, shown or logged.

    Args:
        text: Any message (typically an exception's text).
        secrets: Exact strings to remove (the keys in use); short ones are ignored so
            that a placeholder such as ``unused`` does not mangle messages.

    Returns:
        The text with every key replaced by ``[redacted]``.
    """
    for secret in sorted({s for s in secrets if isinstance(s, str) and len(s) >= 8}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _KEY_PATTERNS[0].sub(REDACTED, text)
    return _KEY_PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)


def _keys_in_use(infos: list[models.ModelInfo], api_key: str | None) -> list[str]:
    """The API keys this evaluation may send (to scrub them from error texts)."""
    keys = [api_key] if api_key else []
    for info in infos:
        if info.kind == "openai":
            found = models.find_api_key(info.options.get("api_key_env", "OPENAI_API_KEY"), api_key)
            if found:
                keys.append(found)
    return keys


def _failure(exc: BaseException) -> str:
    """The error text stored for a run that raised ``exc``."""
    if isinstance(exc, Cancelled):
        return f"{runs.CANCELLED}the user cancelled the job; it stopped between two batches and stored no results"
    if not isinstance(exc, Exception):
        # StopException/RerunException (the page was left or rerun), KeyboardInterrupt,
        # SystemExit: the run was stopped, nothing in it went wrong.
        return (f"{runs.INTERRUPTED}the evaluation was stopped before it finished ({type(exc).__name__}: "
                "the page was left or rerun, or the process was asked to stop)")
    return f"{type(exc).__name__}: {exc}"


def environment(local_models: bool = False) -> dict[str, Any]:
    """Versions and hardware recorded with each run.

    Args:
        local_models: The run encodes with local (torch) models: record the compute device
            and torch's thread count, since latency and throughput depend on them. (Torch is
            imported for that only when it is about to be loaded anyway.)

    Returns:
        A JSON-able dict.
    """
    from importlib.metadata import PackageNotFoundError, version

    libs: dict[str, str | None] = {}
    for dist in ("torch", "sentence-transformers", "mteb", "bm25s", "pytrec-eval-terrier",
                 "openai", "tiktoken", "numpy", "duckdb", "faiss-cpu", "ray"):
        try:
            libs[dist] = version(dist)
        except PackageNotFoundError:
            libs[dist] = None
    env: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "libraries": libs,
        "device": "cpu",
    }
    if local_models:
        import torch

        env["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            env["device"] = f"cuda ({torch.cuda.get_device_name(0)})"
    return env


class _Stage:
    """Maps a model's sub-steps onto the overall progress fraction."""

    def __init__(self, progress: Progress | None, index: int, total: int, label: str) -> None:
        self.progress, self.index, self.total, self.label = progress, index, total, label

    def __call__(self, message: str, frac: float) -> None:
        if self.progress:
            overall = (self.index + min(max(frac, 0.0), 1.0)) / self.total
            self.progress(f"[{self.label}] {message}", overall)


def _latency(fn: Callable[[], Any], n: int) -> tuple[float | None, float | None]:
    if n <= 0:
        return None, None
    fn()  # warm-up: first call pays lazy initialisation
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50), float(p95)


def similarity_of(info: models.ModelInfo) -> str:
    """The similarity to search a model's vectors with: its own if exact search supports it, else cosine.

    Args:
        info: The loaded model's identity.

    Returns:
        ``cosine``, ``dot`` or ``euclidean``.
    """
    return info.similarity if info.similarity in ("cosine", "dot", "euclidean") else "cosine"


#: ``progress(side, done, total)`` while a dataset is encoded; ``side`` is ``documents``
#: or ``queries``, and ``done == 0`` marks the start of a side.
EncodeProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EncodedDataset:
    """A dataset's vectors from one dense model, and what encoding them took.

    Attributes:
        docs: Document vectors, dataset order (read-only, memory-mapped from a temporary file).
        queries: Query vectors, dataset order.
        docs_seconds: Seconds spent encoding documents now (0 when all were cached).
        queries_seconds: Seconds spent encoding queries now.
        docs_per_s: Document throughput (measured now, or as recorded in the cache).
        queries_per_s: Query throughput.
        hits: Texts served from the embedding cache.
        misses: Texts encoded now.
    """

    docs: np.ndarray = field(repr=False)
    queries: np.ndarray = field(repr=False)
    docs_seconds: float
    queries_seconds: float
    docs_per_s: float | None
    queries_per_s: float | None
    hits: int
    misses: int


class Texts(Protocol):
    """Documents and queries to encode: a :class:`Dataset`, or a collection without judgements."""

    @property
    def doc_texts(self) -> tuple[str, ...]:
        """Document texts, in order."""
        ...

    @property
    def query_texts(self) -> tuple[str, ...]:
        """Query texts, in order."""
        ...


@dataclass(frozen=True)
class _TextPair:
    doc_texts: tuple[str, ...]
    query_texts: tuple[str, ...]


def encode_dataset(
    model: models.Embedder,
    ds: Texts,
    *,
    use_cache: bool = True,
    chunk_size: int = 1024,
    progress: EncodeProgress | None = None,
    stream: streaming.Stream | None = None,
) -> EncodedDataset:
    """Embed a dataset's documents and queries, through the embedding cache when asked.

    The evaluation, pooling for labelling and the Interview demos all call this, so they
    share cache entries. Documents stream to disk (only the cache's misses are encoded, each
    batch stored as it comes); queries are encoded here.

    Args:
        model: A loaded dense model.
        ds: The dataset (or any documents + queries).
        use_cache: Read and write the embedding cache (keyed by the model's identity).
        chunk_size: Texts per encode call and cache shard.
        progress: ``progress(side, done, total)``.
        stream: Where the documents are encoded (default: this process, with ``model``).

    Returns:
        The vectors and the encoding statistics.
    """
    info = model.info
    say = progress or (lambda _side, _done, _total: None)

    def enc(kind: models.Kind) -> Callable[[list[str]], np.ndarray]:
        return lambda texts: model.encode(texts, kind)

    say("documents", 0, len(ds.doc_texts))
    cache = EmbeddingCache(info.cache_key) if use_cache else None
    docs = streaming.encode_documents(
        ds.doc_texts, info.document_prompt, stream or streaming.local_stream(enc("document")), cache=cache,
        batch_size=chunk_size, progress=lambda done, total: say("documents", done, total),
    )
    d_emb, d_s, d_rate = docs.vectors, docs.seconds, docs.rate
    say("queries", 0, len(ds.query_texts))
    if cache is not None:
        q_emb, q_stats = cache.get_or_encode(
            ds.query_texts, info.query_prompt, enc("query"), chunk_size=chunk_size
        )
        q_s = q_stats.encode_seconds
        q_rate = q_stats.misses / q_s if q_stats.misses and q_s > 0 else q_stats.cached_rate
        hits, misses = docs.hits + q_stats.hits, docs.misses + q_stats.misses
    else:
        t0 = time.perf_counter()
        q_emb = model.encode(list(ds.query_texts), "query")
        q_s = time.perf_counter() - t0
        q_rate = len(ds.query_texts) / q_s if q_s > 0 else None
        hits, misses = docs.hits, docs.misses + len(ds.query_texts)
    return EncodedDataset(d_emb, q_emb, d_s, q_s, d_rate, q_rate, hits, misses)


def dense_top_k(
    queries: np.ndarray, docs: np.ndarray, k: int, *, similarity: str, doc_ids: Sequence[str],
    doc_starts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact top-k of raw vectors (normalised here for cosine), ties broken by document id.

    FAISS over blocks of ``EMS_TOPK_BLOCK`` documents (:func:`lib.evaluation.topk.block_top_k`);
    a memory-mapped corpus is normalised onto another file, block by block.

    Args:
        queries: Query vectors.
        docs: Document vectors (chunk vectors with ``doc_starts``).
        k: Documents kept per query.
        similarity: ``cosine``, ``dot`` or ``euclidean``.
        doc_ids: Document ids (the tie-break, as trec_eval orders).
        doc_starts: Chunk offsets per document (:attr:`lib.evaluation.chunking.Chunks.starts`):
            a document scores as its best chunk (MaxP). None: one vector per document.

    Returns:
        (indices, scores, prepared document matrix — the index that was searched).
    """
    d_prep = streaming.prepared(docs, similarity, block=get_settings().topk_block)
    q_prep = retrieval.prepare(queries, similarity)
    if doc_starts is None:  # FAISS, block by block, exact
        idx, scores = topk.block_top_k(q_prep, d_prep, k, similarity=similarity, doc_ids=doc_ids)
    else:  # MaxP: each document's best chunk, max taken block by block before the top-k
        idx, scores = retrieval.top_k(q_prep, d_prep, k, similarity=similarity, doc_ids=doc_ids,
                                      doc_starts=doc_starts)
    return idx, scores, d_prep


def _split(model: models.Embedder, doc_texts: Sequence[str]) -> tuple[chunking.Chunks | None, float]:
    """The chunks a ``chunk=`` spec embeds instead of its documents (None otherwise), and the seconds it took."""
    setting = chunking.setting_of(model.info)
    if setting is None:
        return None, 0.0
    t0 = time.perf_counter()
    chunks = chunking.split(model, doc_texts, setting)
    return chunks, time.perf_counter() - t0


def score_top_k(ds: Dataset, idx: np.ndarray, scores: np.ndarray, k: int) -> pd.DataFrame:
    """pytrec_eval per-query metrics of a top-k result against the dataset's judgements.

    Args:
        ds: The dataset (ids and qrels).
        idx: (n_queries, n) document indices.
        scores: Their scores.
        k: The user's cut-off (adds nDCG@k, Recall@k, P@k).

    Returns:
        One row per query (indexed by query id), one column per metric.
    """
    run = retrieval.to_run(ds.query_ids, ds.doc_ids, idx, scores)
    return metrics.per_query_metrics(ds.qrels, run, k)


def bm25_top_k(
    model: models.Retriever, query_texts: Sequence[str], doc_ids: Sequence[str], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """BM25 top-k of an indexed model, score ties re-sorted as trec_eval orders them.

    Args:
        model: An indexed BM25 retriever.
        query_texts: Queries.
        doc_ids: Document ids (the tie-break).
        k: Documents per query.

    Returns:
        (indices, scores), best first.
    """
    idx, scores = model.search(query_texts, k)
    # bm25s leaves score ties in index order; re-sort them as trec_eval does.
    ids = np.asarray(doc_ids, dtype=object)
    for r in range(len(idx)):
        order = sorted(range(idx.shape[1]), key=lambda j: (scores[r, j], ids[idx[r, j]]),
                       reverse=True)
        idx[r], scores[r] = idx[r, order], scores[r, order]
    return idx, scores


@dataclass(frozen=True)
class Ranking:
    """One model's top-k documents for a set of queries (no judgements needed).

    Attributes:
        info: Model identity after loading.
        idx: (n_queries, k) document indices, best first (trec_eval's tie order).
        scores: Their scores.
        cache_hits: Texts served from the embedding cache.
        cache_misses: Texts encoded now.
        usage: API tokens, requests and cost.
    """

    info: models.ModelInfo
    idx: np.ndarray
    scores: np.ndarray
    cache_hits: int
    cache_misses: int
    usage: models.Usage


def rank(
    model: models.Embedder | models.Retriever,
    doc_ids: tuple[str, ...],
    doc_texts: tuple[str, ...],
    query_texts: tuple[str, ...],
    k: int,
    *,
    use_cache: bool = True,
    encode_chunk: int = 1024,
    progress: Progress | None = None,
) -> Ranking:
    """Top-k retrieval with a loaded model, exactly as :func:`evaluate` ranks.

    The same embedding cache, prompts, similarity and exact top-k (or BM25 with the
    same tie order) as an evaluation, so a pool built from these rankings (with the
    evaluation's ``retrieve_k``, then cut) holds exactly the documents the evaluation
    later ranks first.

    Args:
        model: From :func:`lib.evaluation.models.load`.
        doc_ids: Document ids (for the tie order).
        doc_texts: Document texts.
        query_texts: Query texts.
        k: Documents per query.
        use_cache: Read and write the embedding cache.
        encode_chunk: Texts per encode call and cache shard.
        progress: ``progress(message, fraction)``.

    Returns:
        The ranking.
    """
    report = progress or (lambda _m, _f: None)
    if not isinstance(model, models.Embedder):  # BM25: it indexes and searches itself
        report("indexing", 0.0)
        model.index(doc_texts)
        report("searching", 0.5)
        idx, scores = bm25_top_k(model, query_texts, doc_ids, k)
        report("done", 1.0)
        return Ranking(model.info, idx, scores, 0, len(doc_texts), model.usage())

    def encoding(side: str, done: int, total: int) -> None:
        if side == "queries":
            report("encoding queries", 0.8)
        else:
            report(f"encoding documents {done}/{total}", 0.8 * done / max(total, 1))

    chunks, _ = _split(model, doc_texts)
    enc = encode_dataset(model, _TextPair(chunks.texts if chunks else doc_texts, query_texts), use_cache=use_cache,
                         chunk_size=encode_chunk, progress=encoding)
    report("searching", 0.85)
    idx, scores, _ = dense_top_k(enc.queries, enc.docs, k, similarity=similarity_of(model.info), doc_ids=doc_ids,
                                 doc_starts=chunks.starts if chunks else None)
    report("done", 1.0)
    return Ranking(model.info, idx, scores, enc.hits, enc.misses, model.usage())


def _document_stream(model: models.Embedder, cfg: EvaluationConfig) -> streaming.Stream | None:
    """Where a dense model's documents are encoded: None → this process; Ray actors on the ray engine.

    API models stay in this process on either engine (they are remote already, and the
    session's key never leaves it).
    """
    if cfg.engine != "ray" or model.info.kind == "openai":
        return None
    from lib.evaluation import distributed

    return distributed.stream(model.info, "document", pool=distributed.plan(cfg.ray_actors, cfg.ray_batch_size))


def _run_dense(
    model: models.Embedder,
    ds: Dataset,
    cfg: EvaluationConfig,
    stage: _Stage,
    load_s: float,
) -> ModelRun:
    k_ret = max(cfg.retrieve_k, cfg.k)

    def progress(side: str, done: int, total: int) -> None:
        if side == "queries":
            stage("encoding queries", 0.8)
        elif done == 0:
            stage("encoding documents", 0.0)
        else:
            stage(f"encoding documents {done}/{total}", 0.8 * done / max(total, 1))

    chunks, split_s = _split(model, ds.doc_texts)  # chunk=…: chunk texts go through the cache like documents
    stage("counting tokens", 0.0)
    truncation = chunking.measure(model, ds.doc_texts, chunks)
    starts = chunks.starts if chunks is not None else None
    texts: Texts = _TextPair(chunks.texts, ds.query_texts) if chunks is not None else ds
    enc = encode_dataset(model, texts, use_cache=cfg.use_cache, chunk_size=cfg.encode_chunk, progress=progress,
                         stream=_document_stream(model, cfg))
    d_emb, q_emb = enc.docs, enc.queries
    info = model.info  # API models learn their dimension from the first answer

    stage("searching", 0.85)
    sim = similarity_of(info)
    t0 = time.perf_counter()
    idx, scores, d_prep = dense_top_k(q_emb, d_emb, k_ret, similarity=sim, doc_ids=ds.doc_ids, doc_starts=starts)
    search_s = time.perf_counter() - t0
    per_query = score_top_k(ds, idx, scores, cfg.k)

    stage("timing single queries", 0.9)
    n_lat = cfg.latency_queries_api if info.kind == "openai" else cfg.latency_queries
    sample = list(ds.query_texts[: max(1, n_lat)])
    counter = iter(range(10**9))

    def one_query() -> None:
        text = sample[next(counter) % len(sample)]
        q = retrieval.prepare(model.encode([text], "query"), sim)
        retrieval.top_k(q, d_prep, k_ret, similarity=sim, doc_starts=starts)

    p50, p95 = _latency(one_query, min(n_lat, len(ds.query_texts)))

    sweep_rows: list[dict[str, Any]] = []
    if cfg.sweep:
        stage("dimension / precision sweep", 0.95)
        for var in retrieval.sweep_variants(
            q_emb, d_emb, k_ret, similarity=sim, doc_ids=ds.doc_ids,
            dims=list(cfg.sweep_dims) if cfg.sweep_dims else None, doc_starts=starts,
        ):
            pq = score_top_k(ds, var.idx, var.scores, cfg.k)
            for m in SWEEP_METRICS:
                ci = metrics.bootstrap_ci(pq[m].to_numpy(), n_resamples=cfg.bootstrap_resamples,
                                          confidence=cfg.confidence, seed=cfg.seed)
                sweep_rows.append({"dim": var.dim, "precision": var.precision,
                                   "index_bytes": var.index_bytes, "metric": m,
                                   "mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high})
    usage = model.usage()
    docs_per_s = enc.docs_per_s
    if chunks is not None and docs_per_s:
        # The cache's rate counts chunks: documents/s = documents ÷ (time to encode every chunk + split).
        docs_per_s = len(ds.doc_ids) / (len(chunks.texts) / docs_per_s + split_s)
    cost = CostOfUse(
        load_s=load_s, encode_docs_s=enc.docs_seconds + split_s, encode_queries_s=enc.queries_seconds,
        search_s=search_s, docs_per_s=docs_per_s, queries_per_s=enc.queries_per_s,
        latency_p50_ms=p50, latency_p95_ms=p95, index_bytes=int(d_prep.nbytes), api_tokens=usage.tokens,
        api_requests=usage.requests, api_cost_usd=usage.cost_usd, cache_hits=enc.hits, cache_misses=enc.misses,
    )
    stage("done", 1.0)
    return ModelRun(info, per_query, idx, scores, cost, pd.DataFrame(sweep_rows), truncation)


def _run_bm25(
    model: models.Retriever, ds: Dataset, cfg: EvaluationConfig, stage: _Stage,
    load_s: float,
) -> ModelRun:
    k_ret = max(cfg.retrieve_k, cfg.k)
    stage("indexing", 0.0)
    t0 = time.perf_counter()
    model.index(ds.doc_texts)
    d_s = time.perf_counter() - t0
    stage("searching", 0.5)
    t0 = time.perf_counter()
    idx, scores = bm25_top_k(model, ds.query_texts, ds.doc_ids, k_ret)
    search_s = time.perf_counter() - t0
    per_query = score_top_k(ds, idx, scores, cfg.k)
    sample = list(ds.query_texts[: max(1, cfg.latency_queries)])
    counter = iter(range(10**9))
    p50, p95 = _latency(
        lambda: model.search([sample[next(counter) % len(sample)]], k_ret),
        min(cfg.latency_queries, len(ds.query_texts)),
    )
    cost = CostOfUse(
        load_s=load_s, encode_docs_s=d_s, encode_queries_s=0.0, search_s=search_s,
        docs_per_s=len(ds.doc_ids) / d_s if d_s > 0 else None,
        queries_per_s=len(ds.query_ids) / search_s if search_s > 0 else None,
        latency_p50_ms=p50, latency_p95_ms=p95, index_bytes=model.index_bytes(),
        cache_misses=len(ds.doc_ids),
    )
    stage("done", 1.0)
    return ModelRun(model.info, per_query, idx, scores, cost, truncation=chunking.not_applicable(model.info.kind))


def _sum_opt(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else float(sum(v for v in values if v is not None))


def _run_hybrid(spec: hybrid.HybridSpec, parts: Sequence[ModelRun], ds: Dataset, cfg: EvaluationConfig) -> ModelRun:
    """Fuse the components' top-``retrieve_k`` lists and score the fused ranking like any system.

    Its cost of use is its parts' together: encoding and search times, index sizes, tokens
    and money add up; throughput is the components' combined rate (each document is encoded
    by every part); latency is the sum (the parts run one after the other — an upper bound
    for a service that queries them in parallel). Fusion itself is timed into the search time.
    """
    k_ret = max(cfg.retrieve_k, cfg.k)
    t0 = time.perf_counter()
    idx, scores = fusion.fuse(spec, [(p.topk_idx, p.topk_scores) for p in parts], ds.query_ids, ds.doc_ids, k_ret)
    fuse_s = time.perf_counter() - t0
    per_query = score_top_k(ds, idx, scores, cfg.k)
    c = [p.cost for p in parts]
    rates = [x.docs_per_s for x in c]
    q_rates = [x.queries_per_s for x in c]
    cost = CostOfUse(
        load_s=sum(x.load_s for x in c), encode_docs_s=sum(x.encode_docs_s for x in c),
        encode_queries_s=sum(x.encode_queries_s for x in c), search_s=sum(x.search_s for x in c) + fuse_s,
        docs_per_s=None if any(not r for r in rates) else 1.0 / sum(1.0 / r for r in rates if r),
        queries_per_s=None if any(not r for r in q_rates) else 1.0 / sum(1.0 / r for r in q_rates if r),
        latency_p50_ms=_sum_opt([x.latency_p50_ms for x in c]), latency_p95_ms=_sum_opt([x.latency_p95_ms for x in c]),
        index_bytes=sum(x.index_bytes for x in c), api_tokens=sum(x.api_tokens for x in c),
        api_requests=sum(x.api_requests for x in c), api_cost_usd=_sum_opt([x.api_cost_usd for x in c])
        if any(x.api_tokens for x in c) else None,
        cache_hits=sum(x.cache_hits for x in c), cache_misses=sum(x.cache_misses for x in c),
    )
    truncation = chunking.combine(list(zip(spec.components, (p.truncation for p in parts), strict=True)))
    swept = _alpha_sweep(spec, parts, ds, cfg) if cfg.sweep and spec.method != "rrf" else pd.DataFrame()
    return ModelRun(fusion.hybrid_info(spec, [p.info for p in parts]), per_query, idx, scores, cost,
                    truncation=truncation, fusion_sweep=swept)


def _alpha_sweep(spec: hybrid.HybridSpec, parts: Sequence[ModelRun], ds: Dataset,
                 cfg: EvaluationConfig) -> pd.DataFrame:
    """The hybrid's headline metrics at every fusion weight of :data:`fusion.ALPHAS`, with CIs.

    Re-fused from the same component rankings (no encoding). Each metric also gets a
    ``cross-validated`` row: alpha picked on half the queries and scored on the other half,
    both ways (:func:`lib.evaluation.fusion.cross_validated`), because the best alpha of a sweep
    on the evaluation queries is an optimistic estimate of what tuning gives.
    """
    k_ret = max(cfg.retrieve_k, cfg.k)
    rankings = [(p.topk_idx, p.topk_scores) for p in parts]
    headline = [f"nDCG@{cfg.k}", f"Recall@{cfg.k}"]
    per_alpha: dict[str, dict[float, np.ndarray]] = {m: {} for m in headline}
    rows: list[dict[str, Any]] = []
    for alpha in fusion.ALPHAS:
        idx, scores = fusion.fuse(fusion.with_alpha(spec, alpha), rankings, ds.query_ids, ds.doc_ids, k_ret)
        pq = score_top_k(ds, idx, scores, cfg.k)
        for m in headline:
            values = pq[m].to_numpy()
            per_alpha[m][alpha] = values
            ci = metrics.bootstrap_ci(values, n_resamples=cfg.bootstrap_resamples, confidence=cfg.confidence,
                                      seed=cfg.seed)
            rows.append({"kind": "alpha", "alpha": alpha, "metric": m, "mean": ci.mean, "ci_low": ci.low,
                         "ci_high": ci.high, "n_queries": len(values), "note": None})
    if len(ds.query_ids) >= 2:
        for m in headline:
            held_out, (a, b) = fusion.cross_validated(per_alpha[m], seed=cfg.seed)
            ci = metrics.bootstrap_ci(held_out, n_resamples=cfg.bootstrap_resamples, confidence=cfg.confidence,
                                      seed=cfg.seed)
            rows.append({"kind": "cross-validated", "alpha": None, "metric": m, "mean": ci.mean, "ci_low": ci.low,
                         "ci_high": ci.high, "n_queries": len(held_out),
                         "note": f"alpha picked on half A: {a:g}, on half B: {b:g}"})
    return pd.DataFrame(rows)


def _run_rerank(
    spec: rerank.RerankSpec, reranker_info: models.ModelInfo, first: ModelRun, ds: Dataset, cfg: EvaluationConfig,
    stage: _Stage,
) -> ModelRun:
    """Rerank each query's top-``top_n`` of the first stage's list and score the result like any system.

    The reranker scores (query, document text) pairs and the top-N are re-sorted (ties by document
    id, as trec_eval orders them); documents below keep their first-stage order after them. Its cost
    of use is the first stage's plus the reranker's: load time, tokens and money add up; the batch
    reranking time is part of the search time and of the query throughput; the reranker's
    single-query latency (timed like the first stage's, on the same queries) is added to the first
    stage's p50 and p95 (an upper bound of the two run one after the other).
    """
    stage("loading reranker", 0.0)
    t0 = time.perf_counter()
    reranker = rerank.load(reranker_info)
    load_s = time.perf_counter() - t0
    try:
        ids = list(ds.doc_ids)
        n = min(spec.top_n, first.topk_idx.shape[1])
        nq = len(ds.query_ids)
        idx = np.empty(first.topk_idx.shape, dtype=np.int64)
        scores = np.empty(first.topk_idx.shape, dtype=np.float64)

        def pairs(r: int) -> tuple[str, list[str]]:
            return ds.query_texts[r], [ds.doc_texts[int(j)] for j in first.topk_idx[r, :n]]

        t0 = time.perf_counter()
        for r in range(nq):
            if r % 10 == 0:
                stage(f"reranking query {r + 1}/{nq}", 0.9 * r / nq)
            query, texts = pairs(r)
            idx[r], scores[r] = rerank.reorder(first.topk_idx[r, :n], reranker.score(query, texts),
                                               first.topk_idx[r, n:], ids)
        rerank_s = time.perf_counter() - t0
        per_query = score_top_k(ds, idx, scores, cfg.k)
        stage("timing single queries", 0.9)
        n_lat = min(cfg.latency_queries_api if reranker_info.kind == rerank.API_KIND else cfg.latency_queries, nq)
        counter = iter(range(10**9))
        p50, p95 = _latency(lambda: reranker.score(*pairs(next(counter) % max(n_lat, 1))), n_lat)
        usage, info = reranker.usage(), reranker.identity()
    finally:
        reranker.close()
    c = first.cost
    q_rate = None if not c.queries_per_s or rerank_s <= 0 else 1.0 / (1.0 / c.queries_per_s + rerank_s / nq)
    costs = [x for x, t in ((c.api_cost_usd, c.api_tokens), (usage.cost_usd, usage.tokens)) if t]
    cost = CostOfUse(
        load_s=c.load_s + load_s, encode_docs_s=c.encode_docs_s, encode_queries_s=c.encode_queries_s,
        search_s=c.search_s + rerank_s, docs_per_s=c.docs_per_s, queries_per_s=q_rate,
        latency_p50_ms=_sum_opt([c.latency_p50_ms, p50]), latency_p95_ms=_sum_opt([c.latency_p95_ms, p95]),
        index_bytes=c.index_bytes, api_tokens=c.api_tokens + usage.tokens, api_requests=c.api_requests + usage.requests,
        api_cost_usd=_sum_opt(costs) if costs else None, cache_hits=c.cache_hits, cache_misses=c.cache_misses,
    )
    stage("done", 1.0)
    sys_info = rerank.system_info(spec, first.info, info)
    # What the second stage costs per query, for the report's monthly cost (lib.report.add_costs).
    second = {"rerank_s_per_query": f"{rerank_s / max(nq, 1):.6g}",
              **{f"first_stage_{k}": v for k, v in first.info.options.items() if k.startswith("component_")}}
    if p95 is not None:
        second["rerank_p95_ms"] = f"{p95:.6g}"
    if usage.tokens:
        calls = nq + (n_lat + 1 if n_lat > 0 else 0)  # the batch pass, then the timed queries and their warm-up
        second["rerank_tokens_per_query"] = f"{usage.tokens / max(calls, 1):.6g}"
    sys_info = dataclasses.replace(sys_info, options={**sys_info.options, **second})
    return ModelRun(sys_info, per_query, idx, scores, cost)


def _tables(
    ds: Dataset, cfg: EvaluationConfig, model_runs: list[ModelRun],
    summary: pd.DataFrame, pairs: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    model_rows, qm, topk, sweep, fusion_sweep = [], [], [], [], []
    for pos, mr in enumerate(model_runs):
        label = mr.info.spec
        c = mr.cost
        model_rows.append({
            "model": label, "position": pos, "kind": mr.info.kind, "name": mr.info.name,
            "revision": mr.info.revision, "identity": mr.info.to_json(), "dim": mr.info.dim,
            "similarity": mr.info.similarity, **dataclasses.asdict(c), **dataclasses.asdict(mr.truncation),
        })
        long = mr.per_query.reset_index().melt(id_vars="query_id", var_name="metric",
                                               value_name="value")
        qm.append(long.assign(model=label))
        ids = np.asarray(ds.doc_ids, dtype=object)
        topk.append(pd.DataFrame({
            "model": label,
            "query_id": list(ds.query_ids),
            "doc_ids": [list(ids[row]) for row in mr.topk_idx],
            "scores": [[float(s) for s in row] for row in mr.topk_scores],
        }))
        if not mr.sweep.empty:
            sweep.append(mr.sweep.assign(model=label))
        if not mr.fusion_sweep.empty:
            fusion_sweep.append(mr.fusion_sweep.assign(model=label))
    return {
        "eval_run_models": pd.DataFrame(model_rows),
        "eval_summary": summary,
        "eval_query_metrics": pd.concat(qm, ignore_index=True),
        "eval_topk": pd.concat(topk, ignore_index=True),
        "eval_pairs": pairs,
        "eval_sweep": pd.concat(sweep, ignore_index=True) if sweep else pd.DataFrame(),
        "eval_fusion_sweep": pd.concat(fusion_sweep, ignore_index=True) if fusion_sweep else pd.DataFrame(),
    }


def _compare(
    model_runs: list[ModelRun], cfg: EvaluationConfig
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[list[str]]]]:
    rows = []
    names = metrics.metric_names(cfg.k)
    compared = [m for m in dict.fromkeys((*COMPARED_METRICS, f"nDCG@{cfg.k}", f"Recall@{cfg.k}"))
                if m in names]
    groups: dict[str, list[list[str]]] = {}
    group_of: dict[tuple[str, str], int] = {}
    for m in compared:
        per_model = {mr.info.spec: mr.per_query[m].to_numpy() for mr in model_runs}
        groups[m] = metrics.tie_groups(per_model, alpha=cfg.alpha,
                                       n_resamples=cfg.paired_resamples, seed=cfg.seed)
        for gi, g in enumerate(groups[m], start=1):
            for spec in g:
                group_of[(spec, m)] = gi
    for mr in model_runs:
        for m in names:
            ci = metrics.bootstrap_ci(mr.per_query[m].to_numpy(),
                                      n_resamples=cfg.bootstrap_resamples,
                                      confidence=cfg.confidence, seed=cfg.seed)
            rows.append({"model": mr.info.spec, "metric": m, "mean": ci.mean,
                         "ci_low": ci.low, "ci_high": ci.high,
                         "n_queries": len(mr.per_query),
                         "tie_group": group_of.get((mr.info.spec, m))})
    pair_rows = []
    for i, a in enumerate(model_runs):
        for b in model_runs[i + 1:]:
            for m in compared:
                r = metrics.paired_comparison(
                    a.per_query[m].to_numpy(), b.per_query[m].to_numpy(),
                    model_a=a.info.spec, model_b=b.info.spec, metric=m,
                    n_resamples=cfg.paired_resamples, confidence=cfg.confidence, seed=cfg.seed,
                )
                pair_rows.append({"metric": m, "model_a": r.model_a, "model_b": r.model_b,
                                  "mean_diff": r.mean_diff, "ci_low": r.low,
                                  "ci_high": r.high, "p_value": r.p_value,
                                  "n_queries": r.n_queries})
    return pd.DataFrame(rows), pd.DataFrame(pair_rows), groups


def _check_options(config: EvaluationConfig) -> None:
    if not config.models:
        raise UserError("give at least one model")
    if len(set(config.models)) != len(config.models):
        raise UserError("the same model spec is given twice")
    if config.k < 1:
        raise UserError("k must be at least 1")
    if config.engine not in ENGINES:
        raise UserError(f"engine must be one of {', '.join(ENGINES)}, not {config.engine!r}")


def _resolve_systems(
    config: EvaluationConfig,
) -> tuple[dict[str, Any], dict[str, hybrid.HybridSpec], list[models.ModelInfo], dict[str, models.ModelInfo]]:
    """Parse and resolve every system (no weights loaded): reranked, hybrid and the models to compute."""
    # Reranked systems first (">>" is read before "+"); their first stages are computed like any system.
    reranked = {spec: rerank.parse(spec) for spec in config.models if rerank.is_reranked(spec)}
    for r in reranked.values():
        rerank.check_depth(r, max(config.retrieve_k, config.k))
    systems = [*(s for s in config.models if s not in reranked), *(r.first for r in reranked.values())]
    hybrids = {spec: hybrid.parse(spec) for spec in systems if hybrid.is_hybrid(spec)}
    # Every model to compute: the plain ones asked for, first stages, then hybrids' components not asked for alone.
    needed = list(dict.fromkeys([*(s for s in systems if s not in hybrids),
                                 *(c for h in hybrids.values() for c in h.components)]))
    infos = [models.resolve(spec) for spec in needed]
    reranker_infos = {spec: rerank.resolve(r) for spec, r in reranked.items()}
    return reranked, hybrids, infos, reranker_infos


def check_config(config: EvaluationConfig) -> None:
    """Everything :func:`evaluate` checks before it stores a run, without data or weights.

    Quick mode calls it before pooling and the app before queueing a job, so a typo in a spec
    (a plain model, a hybrid or a reranked system) is an instant message, never a failed job.

    Args:
        config: What to run.

    Raises:
        UserError: For bad options or the first malformed or unknown spec.
    """
    _check_options(config)
    _resolve_systems(config)


def new_run_id() -> str:
    """A new run id: UTC time and a random suffix (sorts by time, never collides)."""
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]


def evaluate(
    data: str | Path | Dataset,
    config: EvaluationConfig,
    *,
    db_path: str | Path | None = None,
    progress: Progress | None = None,
    api_key: str | None = None,
    limits: Limits | None = None,
    run_id: str | None = None,
    viewer: team.Viewer | None = None,
) -> EvaluationResult:
    """Evaluate models on a dataset and store the run.

    Args:
        data: A dataset path (see :func:`lib.evaluation.datasets.load_dataset`) or a
            loaded :class:`Dataset`.
        config: What to run.
        db_path: DuckDB file (None → ``EMS_DB``).
        progress: ``progress(message, fraction)`` callback.
        api_key: Session API key for API models (never stored).
        limits: Input size limits.
        run_id: The id to store the run under (a job picks it first, so it can name its run
            even when it is cancelled); default a new one (:func:`new_run_id`).
        viewer: Who the run belongs to (:mod:`lib.team`), and their limit on runs at once.

    Returns:
        The results (also stored under ``run_id``).

    Raises:
        UserError: For invalid data or model specs (nothing stored), or a model failing
            in a way the user can fix (the run is then stored as ``failed``).
    """
    t_start = time.perf_counter()
    report = progress or (lambda _m, _f: None)
    _check_options(config)
    report("validating data", 0.0)
    ds = data if isinstance(data, Dataset) else load_dataset(data, split=config.split,
                                                              limits=limits)
    report("resolving models", 0.0)
    reranked, hybrids, infos, reranker_infos = _resolve_systems(config)
    env = environment(local_models=any(i.kind == "sentence-transformers" for i in infos)
                      or any(i.kind == rerank.CROSS_KIND for i in reranker_infos.values()))
    if config.engine == "ray":  # unreachable cluster or a pool that cannot fit: an error now, nothing stored
        from lib.evaluation import distributed

        report("connecting to Ray", 0.0)
        env["ray"] = distributed.connect()
        distributed.plan(config.ray_actors, config.ray_batch_size)
    run_id = run_id or new_run_id()
    runs.start_run(
        db_path, run_id=run_id,
        dataset={"name": ds.name, "source": ds.source, "split": ds.split,
                 "fingerprint": ds.fingerprint, "n_docs": len(ds.doc_ids),
                 "n_queries": len(ds.query_ids), "n_qrels": ds.n_qrels},
        k=config.k, models=list(config.models),
        config=json.loads(json.dumps(dataclasses.asdict(config), default=list)),
        environment=env,
        user_id=viewer.user_id if viewer else None, max_running=viewer.max_jobs if viewer else 0,
    )
    try:
        computed: dict[str, ModelRun] = {}
        for i, info in enumerate(infos):
            stage = _Stage(progress, i, len(infos) + len(reranked), info.spec)
            stage("loading model", 0.0)
            t0 = time.perf_counter()
            model = models.load(info, api_key=api_key)
            load_s = time.perf_counter() - t0
            if isinstance(model, models.Embedder):
                computed[info.spec] = _run_dense(model, ds, config, stage, load_s)
            else:
                computed[info.spec] = _run_bm25(model, ds, config, stage, load_s)
            del model
        if hybrids:
            report("fusing hybrid systems", 0.97)
        for spec, h in hybrids.items():
            computed[spec] = _run_hybrid(h, [computed[c] for c in h.components], ds, config)
        for j, (spec, r) in enumerate(reranked.items()):
            stage = _Stage(progress, len(infos) + j, len(infos) + len(reranked), spec)
            computed[spec] = _run_rerank(r, reranker_infos[spec], computed[r.first], ds, config, stage)
        model_runs = [computed[spec] for spec in config.models]
        report("comparing models", 1.0)
        summary, pairs, groups = _compare(model_runs, config)
        wall = time.perf_counter() - t_start
        runs.complete_run(db_path, run_id, _tables(ds, config, model_runs, summary, pairs), wall)
    except BaseException as exc:
        keys = _keys_in_use(infos, api_key) + rerank.keys_in_use(list(reranker_infos.values()))
        runs.fail_run(db_path, run_id, redact(_failure(exc), keys))
        if isinstance(exc, Exception) and redact(str(exc), keys) != str(exc):
            # The message quotes a key (some servers echo what they were sent): show the
            # redacted text instead, and drop the chain, whose messages may quote it too.
            raise UserError(redact(str(exc), keys)) from None
        raise
    report("done", 1.0)
    return EvaluationResult(run_id, ds, config, tuple(model_runs), summary, pairs, groups, wall)
