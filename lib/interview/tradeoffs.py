"""The articles' trade-offs with numbers: small vs large, API vs self-hosted, the cost of a migration.

Every figure comes from the leaderboard table or :mod:`lib.cost` with a
:class:`~lib.cost.CostAssumptions` (the Cost page's, when the user has set them), so the
walkthrough and the Cost page never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from lib import cost
from lib.articles import RAG_GUIDE
from lib.pricing import PriceRecord

#: The articles' size classes in billions of parameters (see :func:`lib.cost.size_class`).
SMALL_MAX_B = 0.15
LARGE_MIN_B = 1.0


@dataclass(frozen=True)
class ModelPoint:
    """One model's retrieval score, size and storage.

    Attributes:
        model: Name.
        retrieval: MTEB Retrieval score (0–1).
        params_b: Total parameters, billions.
        dims: Embedding dimensions.
        gb_100m: float32 storage of 100M vectors, GB (cost model).
        latency: The articles' latency range for its size class, as text.
    """

    model: str
    retrieval: float
    params_b: float
    dims: int
    gb_100m: float
    latency: str


@dataclass(frozen=True)
class SizeTradeoff:
    """Best small vs best large model on a benchmark's Retrieval score.

    Attributes:
        benchmark: Benchmark name.
        small: Best model under :data:`SMALL_MAX_B` parameters.
        large: Best model with at least :data:`LARGE_MIN_B`.
        n_small: Small models with a Retrieval score.
        n_large: Large models with one.
    """

    benchmark: str
    small: ModelPoint | None
    large: ModelPoint | None
    n_small: int
    n_large: int

    @property
    def gap(self) -> float:
        """Retrieval points (0–1 scale) the large model gains."""
        if self.small is None or self.large is None:
            return math.nan
        return self.large.retrieval - self.small.retrieval


def _point(row: pd.Series) -> ModelPoint:
    params_b = float(row["Total Parameters (B)"])
    s = cost.SEED_LATENCIES[cost.size_class(params_b * 1000)]
    dims = int(row["Embedding Dimensions"])
    return ModelPoint(
        model=str(row["Model"]), retrieval=float(row["Retrieval"]), params_b=params_b, dims=dims,
        gb_100m=cost.storage_gb(100e6, dims),
        latency=f"{s.ms_low:g}–{s.ms_high:g} ms per batch of {s.batch_size} on one A10G",
    )


def size_tradeoff(table: pd.DataFrame, benchmark: str) -> SizeTradeoff:
    """The best small and the best large model on Retrieval.

    Args:
        table: mteb summary table (needs ``Retrieval``, ``Total Parameters (B)``,
            ``Embedding Dimensions``).
        benchmark: Its name.

    Returns:
        The comparison (None for a class without models).
    """
    need = ["Retrieval", "Total Parameters (B)", "Embedding Dimensions"]
    if any(c not in table.columns for c in need):
        return SizeTradeoff(benchmark, None, None, 0, 0)
    d = table.dropna(subset=need).drop_duplicates("Model")
    d = d.assign(params=d["Total Parameters (B)"].astype(float))
    small = d[d["params"] < SMALL_MAX_B].sort_values("Retrieval", ascending=False, kind="stable")
    large = d[d["params"] >= LARGE_MIN_B].sort_values("Retrieval", ascending=False, kind="stable")
    return SizeTradeoff(
        benchmark,
        _point(small.iloc[0]) if not small.empty else None,
        _point(large.iloc[0]) if not large.empty else None,
        len(small),
        len(large),
    )


@dataclass(frozen=True)
class ApiVsSelfHost:
    """Where self-hosting starts to pay off against an API price.

    Attributes:
        api_model: The API model.
        api_price_per_1m: Its price.
        price_source: Where the price comes from (source and date).
        selfhost_basis: Throughput basis of the self-hosted model.
        break_even_tokens: Monthly tokens above which self-hosting is cheaper (None: never).
        seed_claim_tokens: KnowledgeSDK's guide's "pays for itself" volume.
        seed_api_below_tokens: KnowledgeSDK's guide's "API almost always cheaper below".
        low_volume: The low volume compared.
        api_usd_low: API cost per month at that volume.
        selfhost_usd_low: Self-hosting cost per month at that volume.
    """

    api_model: str
    api_price_per_1m: float
    price_source: str
    selfhost_basis: str
    break_even_tokens: float | None
    seed_claim_tokens: float
    seed_api_below_tokens: float
    low_volume: float
    api_usd_low: float
    selfhost_usd_low: float


def api_vs_selfhost(
    a: cost.CostAssumptions,
    price: PriceRecord | None,
    *,
    api_model: str = "text-embedding-3-small",
    fallback_price: float = 0.02,
    selfhost_params_millions: float = 568.0,
    low_volume: float = 5e6,
) -> ApiVsSelfHost:
    """Break-even volume of a self-hosted model against an API price, with the cost model.

    Args:
        a: Cost assumptions.
        price: The API model's price record (from the price book, with its source).
        api_model: Its name.
        fallback_price: Price used when the book has none (KnowledgeSDK's guide: $0.02).
        selfhost_params_millions: Size of the self-hosted model (BGE-M3's 568M: the articles'
            self-hosting example, "medium" latency class).
        low_volume: The low monthly volume compared.

    Returns:
        The comparison.
    """
    p = price.price_per_1m_tokens if price is not None and price.price_per_1m_tokens is not None else fallback_price
    source = price.source_label if price is not None else f"{RAG_GUIDE.short} (fallback)"
    tp = cost.seed_throughput("self-hosted", selfhost_params_millions, a.seed_tokens_per_passage)
    return ApiVsSelfHost(
        api_model=api_model,
        api_price_per_1m=float(p),
        price_source=source,
        selfhost_basis=tp.basis,
        break_even_tokens=cost.break_even_tokens_per_month(p, tp.tokens_per_second, a),
        seed_claim_tokens=cost.SEED_BREAK_EVEN_CLAIM_TOKENS,
        seed_api_below_tokens=cost.SEED_API_CHEAPER_BELOW_TOKENS,
        low_volume=low_volume,
        api_usd_low=cost.api_cost_usd(low_volume, p),
        selfhost_usd_low=cost.selfhost_usd_per_month(low_volume, tp.tokens_per_second, a),
    )


@dataclass(frozen=True)
class MigrationCosts:
    """What moving a corpus to a new model costs, with a shadow index.

    Attributes:
        vectors: Vectors in the corpus (cost assumptions).
        tokens: Tokens to re-embed.
        tokens_per_chunk: Tokens per vector.
        old_dim: Dimensions of the old index.
        new_dim: Dimensions of the new index.
        old_gb: Storage of the old index (precision, overhead, replicas applied).
        new_gb: Storage of the new index.
        reembed_api_usd: Re-embedding through the API model.
        api_model: That model.
        reembed_gpu_hours: Re-embedding on one GPU, small self-hosted model.
        shadow_storage_usd: Extra storage for ``months`` months of running both.
        months: Months both indexes run side by side.
    """

    vectors: float
    tokens: float
    tokens_per_chunk: int
    old_dim: int
    new_dim: int
    old_gb: float
    new_gb: float
    reembed_api_usd: float
    api_model: str
    reembed_gpu_hours: float
    shadow_storage_usd: float
    months: int


def migration_costs(
    a: cost.CostAssumptions,
    *,
    old_dim: int,
    new_dim: int,
    api_price_per_1m: float,
    api_model: str = "text-embedding-3-small",
    selfhost_params_millions: float = 22.7,
    months: int = 1,
) -> MigrationCosts:
    """Price a model migration with a shadow index.

    Args:
        a: Cost assumptions (corpus size, storage price and layout).
        old_dim: Dimensions of the old model.
        new_dim: Dimensions of the new model.
        api_price_per_1m: API price used for the re-embedding estimate.
        api_model: That API model.
        selfhost_params_millions: Size of a self-hosted alternative (GPU-hours estimate).
        months: Months both indexes are kept.

    Returns:
        The costs.
    """
    vectors = cost.corpus_vectors(a)
    tokens = cost.corpus_tokens(a)
    tp = cost.seed_throughput("self-hosted", selfhost_params_millions, a.seed_tokens_per_passage)
    old_gb = cost.storage_gb(vectors, old_dim, a.precision, a.index_overhead, a.replicas)
    new_gb = cost.storage_gb(vectors, new_dim, a.precision, a.index_overhead, a.replicas)
    return MigrationCosts(
        vectors=vectors, tokens=tokens, tokens_per_chunk=a.tokens_per_chunk, old_dim=old_dim, new_dim=new_dim,
        old_gb=old_gb, new_gb=new_gb, reembed_api_usd=cost.api_cost_usd(tokens, api_price_per_1m),
        api_model=api_model, reembed_gpu_hours=cost.gpu_hours(tokens, tp.tokens_per_second, a.gpu_utilization),
        shadow_storage_usd=new_gb * a.storage_usd_per_gb_month * months, months=months,
    )
