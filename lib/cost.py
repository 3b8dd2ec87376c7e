"""The cost model: API vs self-hosted embedding, re-embedding, queries and vector storage.

Pure functions of a :class:`CostAssumptions` (every default visible in one place) and
per-model facts (price, dimensions, throughput). The cost page, the decision wizard and
the report all call these with the same assumptions object, so they agree.

Conventions: tokens are counted per month; money is USD; storage GB are decimal
(10^9 bytes), so 100M vectors × 1536 dims × 4 bytes = 614.4 GB.

Self-hosting throughput comes from the seeds' latency figures unless a measured figure is
passed in (:func:`measured_throughput`): "BGE-M3 (single A10G): ~5–15 ms per batch of 32
passages", "Qwen3-8B: ~20–40 ms per batch of 32 passages" (seed 002) and "smaller models
(384d) are 5–10× faster than large ones (4096d)" (seed 000). The seeds do not say how long
a passage is, so :attr:`CostAssumptions.seed_tokens_per_passage` (256) is an explicit,
editable assumption. These are single-batch latencies, hence optimistic as sustained
throughput; :attr:`CostAssumptions.gpu_utilization` discounts them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from lib.articles import EXPLAINED, RAG_GUIDE
from lib.errors import UserError
from lib.pricing import PriceRecord, flag_text

#: Bytes per stored dimension for each precision.
BYTES_PER_DIMENSION: Mapping[str, float] = {
    "float32": 4.0,
    "float16": 2.0,
    "int8": 1.0,
    "binary": 1.0 / 8.0,
}
PRECISIONS = tuple(BYTES_PER_DIMENSION)
#: Decimal gigabyte, as cloud storage is billed.
BYTES_PER_GB = 1e9
#: 365 days × 24 h / 12 months.
HOURS_PER_MONTH = 730.0
#: The seeds' claim checked by :func:`break_even_tokens_per_month` (seed 002).
SEED_BREAK_EVEN_CLAIM_TOKENS = 100e6
#: The seeds' "API is almost always cheaper below ~10M tokens/month" (seed 002).
SEED_API_CHEAPER_BELOW_TOKENS = 10e6
#: Seeds' GPU price range for one A10G in the cloud, USD per hour (seed 002).
SEED_GPU_USD_PER_HOUR = (1.0, 2.0)


@dataclass(frozen=True)
class InstancePrice:
    """A public on-demand price of a cloud instance, with where and when it was published.

    Attributes:
        name: Instance and what it has.
        usd_per_hour: Price.
        source: Who published it.
        url: Where.
        date: When (ISO date).
        kind: ``official`` or ``third-party``.
    """

    name: str
    usd_per_hour: float
    source: str
    url: str
    date: str
    kind: str


#: Default CPU instance for self-hosting a small model: 2 vCPUs, like the 2-core machines the
#: app's own runs are usually measured on.
CPU_INSTANCE = InstancePrice(
    "AWS m7g.large (2 vCPU, 8 GiB), us-east-1, Linux on-demand",
    0.0816,
    "FactualMinds, “Amazon EC2 On-Demand Pricing: Instance Families, Regional Multipliers, and the "
    "Graviton Crossover (2026)”",
    "https://www.factualminds.com/blog/amazon-ec2-on-demand-pricing-instance-families-2026/",
    "2026-06-17",
    "third-party",
)
#: The same source's price of one A10G (g5.xlarge), beside the articles' $1–2/h used by default.
GPU_INSTANCE = InstancePrice(
    "AWS g5.xlarge (1 × A10G), us-east-1, Linux on-demand",
    1.006,
    CPU_INSTANCE.source,
    CPU_INSTANCE.url,
    CPU_INSTANCE.date,
    "third-party",
)


@dataclass(frozen=True)
class CostAssumptions:
    """Every assumption of the cost model, with its default.

    Attributes:
        documents: Documents in the corpus today.
        chunks_per_document: Chunks (one vector each) per document.
        tokens_per_chunk: Tokens per chunk sent to the embedding model.
        growth_per_month: Corpus growth per month as a fraction (0.02 = 2 %), compounding.
        reembed_every_months: Re-embed the whole corpus every N months (model upgrade,
            new chunking); 0 = never. Spread evenly over the months.
        queries_per_month: Search queries embedded per month.
        tokens_per_query: Tokens per query.
        use_batch_price: Embed the corpus (not queries, which are online) at the batch
            price where one is published.
        gpu_name: Label of the GPU (KnowledgeSDK's guide: one A10G).
        gpu_usd_per_hour: GPU price (KnowledgeSDK's guide: A10G roughly $1–2/h; midpoint).
        gpu_always_on: Keep the GPU (or CPU instance) running all month (needed to serve
            queries online); False bills only the hours spent embedding (batch jobs, scale-to-zero).
        cpu_name: Label of the CPU instance for self-hosting on CPU.
        cpu_usd_per_hour: CPU instance price (default: AWS m7g.large, 2 vCPU, $0.0816/h
            on-demand in us-east-1, FactualMinds 2026-06-17); its throughput is the one measured
            in this app's runs.
        max_query_p95_ms: The p95 query-embedding latency an option must meet to be
            recommended (100 ms: the articles' "sub-100ms end-to-end" bar for latency-sensitive
            retrieval).
        hours_per_month: Billed hours of an always-on GPU.
        gpu_utilization: Share of the benchmark throughput achieved on average (padding,
            uneven load, peaks); an assumption, not from the articles.
        selfhost_ops_usd_per_month: Engineering and operations to run a model server
            (deploy, patch, monitor, on-call): the "engineering time to deploy and maintain
            your own model server" of KnowledgeSDK's guide. $500 ≈ 5 h/month at $100/h; an assumption, edit it.
        seed_tokens_per_passage: Tokens per passage assumed when turning the articles'
            "ms per batch of 32 passages" into tokens/second.
        precision: Stored vector precision: float32, float16, int8 or binary.
        dimensions: Stored dimensions (MRL truncation); None = each model's full size.
        index_overhead: Index size ÷ raw vector size (graph links, ids, metadata);
            an assumption, edit it to match your index.
        replicas: Copies of the index kept (high availability, read scaling).
        storage_usd_per_gb_month: Storage price; $0.10 is SSD block-storage territory.
            RAM-resident indexes cost far more: set your own price.
    """

    documents: int = 1_000_000
    chunks_per_document: float = 10.0
    tokens_per_chunk: int = 300
    growth_per_month: float = 0.02
    reembed_every_months: int = 12
    queries_per_month: int = 1_000_000
    tokens_per_query: int = 20
    use_batch_price: bool = False
    gpu_name: str = "A10G"
    gpu_usd_per_hour: float = 1.5
    gpu_always_on: bool = True
    cpu_name: str = "m7g.large"
    cpu_usd_per_hour: float = CPU_INSTANCE.usd_per_hour
    max_query_p95_ms: float = 100.0
    hours_per_month: float = HOURS_PER_MONTH
    gpu_utilization: float = 0.5
    selfhost_ops_usd_per_month: float = 500.0
    seed_tokens_per_passage: int = 256
    precision: str = "float32"
    dimensions: int | None = None
    index_overhead: float = 1.2
    replicas: int = 1
    storage_usd_per_gb_month: float = 0.10

    def __post_init__(self) -> None:
        if self.precision not in BYTES_PER_DIMENSION:
            raise UserError(f"precision {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if not 0 < self.gpu_utilization <= 1:
            raise UserError(f"GPU utilization must be in (0, 1], got {self.gpu_utilization}")
        for name in (
            "documents",
            "chunks_per_document",
            "tokens_per_chunk",
            "queries_per_month",
            "tokens_per_query",
            "reembed_every_months",
            "gpu_usd_per_hour",
            "cpu_usd_per_hour",
            "selfhost_ops_usd_per_month",
            "storage_usd_per_gb_month",
            "growth_per_month",
        ):
            if getattr(self, name) < 0:
                raise UserError(f"{name.replace('_', ' ')} must not be negative")
        if self.index_overhead < 1 or self.replicas < 1:
            raise UserError("index overhead must be ≥ 1 and replicas ≥ 1")
        if self.max_query_p95_ms <= 0:
            raise UserError(f"the p95 latency bound must be positive, got {self.max_query_p95_ms} ms")

    def usd_per_hour(self, hardware: str) -> float:
        """The hourly price of one instance of ``hardware`` (``gpu`` or ``cpu``)."""
        return self.cpu_usd_per_hour if hardware == "cpu" else self.gpu_usd_per_hour

    def hardware_name(self, hardware: str) -> str:
        """The label of one instance of ``hardware``."""
        return self.cpu_name if hardware == "cpu" else self.gpu_name


def assumption_help() -> dict[str, str]:
    """One-line explanations of each :class:`CostAssumptions` field, from its docstring.

    Returns:
        Field name → explanation (the docstring is the single place they are written).
    """
    out: dict[str, str] = {}
    current = ""
    for line in (CostAssumptions.__doc__ or "").splitlines():
        stripped = line.strip()
        if line.startswith("        ") and not line.startswith("         ") and ":" in stripped:
            current, _, text = stripped.partition(":")
            out[current] = text.strip()
        elif current and line.startswith("            "):
            out[current] += " " + stripped
    return out


@dataclass(frozen=True)
class SeedLatency:
    """A latency figure from the seeds for a class of model sizes.

    Attributes:
        size_class: Key: ``small``, ``medium`` or ``large``.
        label: Human description of the class.
        ms_low: Fastest reported time per batch.
        ms_high: Slowest reported time per batch.
        batch_size: Passages per batch.
        source: The seed sentence it comes from.
    """

    size_class: str
    label: str
    ms_low: float
    ms_high: float
    batch_size: int
    source: str


SEED_LATENCIES: Mapping[str, SeedLatency] = {
    "small": SeedLatency(
        "small",
        "small (<150M params, e.g. 384d)",
        2.0,
        8.0,
        32,
        f"{EXPLAINED.short}: small (384d) models are 5–10× faster than large (4096d) ones; "
        "applied to Qwen3-8B's 20–40 ms → 2–8 ms per batch of 32",
    ),
    "medium": SeedLatency(
        "medium",
        "BGE-M3 class (150M–1B params)",
        5.0,
        15.0,
        32,
        f"{RAG_GUIDE.short}: BGE-M3 on a single A10G ~5–15 ms per batch of 32 passages",
    ),
    "large": SeedLatency(
        "large",
        "Qwen3-8B class (≥1B params)",
        20.0,
        40.0,
        32,
        f"{RAG_GUIDE.short}: Qwen3-8B ~20–40 ms per batch of 32 passages",
    ),
}


@dataclass(frozen=True)
class Throughput:
    """Sustained tokens per second of one model on one GPU (before utilization).

    Attributes:
        model: Model name.
        tokens_per_second: The figure used.
        low: Lower end of the range (equal to the figure when measured).
        high: Upper end of the range.
        basis: Where it comes from, with every assumption spelled out.
        measured: True when it was measured rather than derived from the seeds.
        hardware: ``gpu`` or ``cpu``: what one instance is.
        query_p95_ms: p95 time to embed one query on it, when known.
        latency_basis: Where that latency comes from.
    """

    model: str
    tokens_per_second: float
    low: float
    high: float
    basis: str
    measured: bool = False
    hardware: str = "gpu"
    query_p95_ms: float | None = None
    latency_basis: str = ""


@dataclass(frozen=True)
class MeasuredSpeed:
    """A model's speed measured by one of this app's own evaluation runs.

    Attributes:
        model: The model's mteb name.
        run_id: The run that measured it.
        measured_at: When (ISO date).
        docs_per_second: Documents encoded per second.
        tokens_per_document: Mean tokens per document of that run's corpus.
        tokens_basis: How tokens were counted.
        query_p95_ms: p95 time to embed one query.
        device: ``cpu`` or ``cuda (<GPU name>)``.
        machine: The machine, in words (cores, platform, threads).
    """

    model: str
    run_id: str
    measured_at: str
    docs_per_second: float
    tokens_per_document: float
    tokens_basis: str
    query_p95_ms: float | None
    device: str
    machine: str

    @property
    def tokens_per_second(self) -> float:
        """Documents/s × tokens per document."""
        return self.docs_per_second * self.tokens_per_document

    @property
    def hardware(self) -> str:
        """``gpu`` when measured on CUDA, else ``cpu``."""
        return "gpu" if self.device.startswith("cuda") else "cpu"


def throughput_from_run(speed: MeasuredSpeed) -> Throughput:
    """The throughput of one instance of the hardware a run measured on.

    Args:
        speed: The run's measurement.

    Returns:
        A measured throughput whose basis states the run, the machine and the arithmetic.
    """
    tps = speed.tokens_per_second
    if tps <= 0:
        raise UserError(f"throughput for {speed.model} must be positive, got {tps}")
    basis = (
        f"measured in run {speed.run_id} ({speed.measured_at}) on {speed.machine}: "
        f"{speed.docs_per_second:,.1f} documents/s × {speed.tokens_per_document:,.0f} tokens/document "
        f"({speed.tokens_basis}) = {tps:,.0f} tokens/s"
    )
    lat = (f"p95 {speed.query_p95_ms:,.1f} ms per query, measured in run {speed.run_id}"
           if speed.query_p95_ms is not None else "")
    return Throughput(speed.model, tps, tps, tps, basis, measured=True, hardware=speed.hardware,
                      query_p95_ms=speed.query_p95_ms, latency_basis=lat)


def size_class(params_millions: float | None) -> str:
    """The seeds' size class of a model from its parameter count.

    Args:
        params_millions: Parameters in millions; None is treated as medium.

    Returns:
        ``small``, ``medium`` or ``large``.
    """
    if params_millions is None:
        return "medium"
    if params_millions < 150:
        return "small"
    return "medium" if params_millions < 1000 else "large"


def tokens_per_second_from_latency(ms_per_batch: float, batch_size: int, tokens_per_passage: float) -> float:
    """Turn "ms per batch of N passages" into tokens per second.

    Args:
        ms_per_batch: Milliseconds per batch.
        batch_size: Passages per batch.
        tokens_per_passage: Assumed tokens per passage.

    Returns:
        Tokens per second.
    """
    if ms_per_batch <= 0:
        raise UserError("milliseconds per batch must be positive")
    return batch_size * tokens_per_passage / (ms_per_batch / 1000.0)


def seed_throughput(model: str, params_millions: float | None, tokens_per_passage: float = 256) -> Throughput:
    """Derive a model's throughput on one A10G from the seeds' latency figures.

    Uses the midpoint of the seed's ms range; the range gives ``low``/``high``.

    Args:
        model: Model name.
        params_millions: Its parameter count (chooses the size class).
        tokens_per_passage: Assumed passage length in tokens.

    Returns:
        The derived throughput with its basis.
    """
    s = SEED_LATENCIES[size_class(params_millions)]
    mid = (s.ms_low + s.ms_high) / 2
    tps = tokens_per_second_from_latency(mid, s.batch_size, tokens_per_passage)
    return Throughput(
        model=model,
        tokens_per_second=tps,
        low=tokens_per_second_from_latency(s.ms_high, s.batch_size, tokens_per_passage),
        high=tokens_per_second_from_latency(s.ms_low, s.batch_size, tokens_per_passage),
        basis=(
            f"{s.source}; midpoint {mid:g} ms; assumed {tokens_per_passage:g} tokens/passage "
            f"→ {s.batch_size}×{tokens_per_passage:g}/{mid / 1000:g} s"
        ),
        query_p95_ms=s.ms_high,
        latency_basis=(f"published: at most {s.ms_high:g} ms per batch of {s.batch_size} on one A10G; "
                       "one query is at most one batch"),
    )


def measured_throughput(model: str, tokens_per_second: float, basis: str = "measured") -> Throughput:
    """A throughput measured by the user or by an evaluation run.

    Args:
        model: Model name.
        tokens_per_second: Measured tokens per second on one GPU.
        basis: Where the figure comes from.

    Returns:
        The throughput.

    Raises:
        UserError: If the figure is not positive.
    """
    if tokens_per_second <= 0:
        raise UserError(f"throughput for {model} must be positive, got {tokens_per_second}")
    return Throughput(model, tokens_per_second, tokens_per_second, tokens_per_second, basis, measured=True)


# --- token volumes -----------------------------------------------------------------------


def corpus_tokens(a: CostAssumptions) -> float:
    """Tokens in today's corpus.

    Args:
        a: Assumptions.

    Returns:
        documents × chunks per document × tokens per chunk.
    """
    return a.documents * a.chunks_per_document * a.tokens_per_chunk


def corpus_vectors(a: CostAssumptions, month: int = 0) -> float:
    """Vectors stored after ``month`` months of growth.

    Args:
        a: Assumptions.
        month: Months from now.

    Returns:
        documents × chunks per document × (1 + growth)^month.
    """
    return a.documents * a.chunks_per_document * (1 + a.growth_per_month) ** month


@dataclass(frozen=True)
class MonthTokens:
    """Tokens embedded in one month, by reason.

    Attributes:
        growth: New documents.
        reembed: Re-embedding the corpus, spread over the re-embedding interval.
        queries: Search queries.
    """

    growth: float
    reembed: float
    queries: float

    @property
    def corpus(self) -> float:
        """Offline (batchable) tokens: growth plus re-embedding."""
        return self.growth + self.reembed

    @property
    def total(self) -> float:
        """All tokens embedded that month."""
        return self.growth + self.reembed + self.queries


def month_tokens(a: CostAssumptions, month: int) -> MonthTokens:
    """Tokens embedded in month ``month`` (1-based) with compounding growth.

    Args:
        a: Assumptions.
        month: 1 for the first month after the initial embedding.

    Returns:
        The month's tokens by reason.
    """
    c0 = corpus_tokens(a)
    g = 1 + a.growth_per_month
    growth = c0 * (g**month - g ** (month - 1))
    reembed = c0 * g**month / a.reembed_every_months if a.reembed_every_months else 0.0
    return MonthTokens(growth, reembed, float(a.queries_per_month * a.tokens_per_query))


def steady_tokens_per_month(a: CostAssumptions, months: int = 12) -> float:
    """Average tokens embedded per month over the first ``months`` months.

    Args:
        a: Assumptions.
        months: Averaging window.

    Returns:
        Mean of :func:`month_tokens` totals (the initial embedding excluded).
    """
    return sum(month_tokens(a, m).total for m in range(1, months + 1)) / months


# --- money -------------------------------------------------------------------------------


def api_cost_usd(tokens: float, price_per_1m_tokens: float) -> float:
    """Cost of embedding ``tokens`` through a per-token API.

    Args:
        tokens: Tokens embedded.
        price_per_1m_tokens: USD per 1M tokens.

    Returns:
        USD. 10M tokens at $0.02 → $0.20.
    """
    return tokens / 1e6 * price_per_1m_tokens


def gpu_hours(tokens: float, tokens_per_second: float, utilization: float = 1.0) -> float:
    """GPU-hours needed to embed ``tokens``.

    Args:
        tokens: Tokens to embed.
        tokens_per_second: Throughput of one GPU.
        utilization: Share of that throughput achieved.

    Returns:
        Hours.
    """
    if tokens_per_second <= 0 or utilization <= 0:
        raise UserError("throughput and utilization must be positive")
    return tokens / (tokens_per_second * utilization * 3600.0)


def gpu_capacity_tokens_per_month(tokens_per_second: float, a: CostAssumptions) -> float:
    """Tokens one always-on GPU can embed per month at the assumed utilization.

    Args:
        tokens_per_second: Throughput of one GPU.
        a: Assumptions (utilization, hours per month).

    Returns:
        Tokens per GPU-month.
    """
    return tokens_per_second * a.gpu_utilization * 3600.0 * a.hours_per_month


def gpus_needed(tokens_per_month: float, tokens_per_second: float, a: CostAssumptions) -> int:
    """Always-on GPUs needed for a monthly volume (at least one).

    Args:
        tokens_per_month: Tokens embedded per month.
        tokens_per_second: Throughput of one GPU.
        a: Assumptions.

    Returns:
        Number of GPUs.
    """
    cap = gpu_capacity_tokens_per_month(tokens_per_second, a)
    return max(1, math.ceil(tokens_per_month / cap - 1e-12))


def selfhost_gpu_usd_per_month(
    tokens_per_month: float, tokens_per_second: float, a: CostAssumptions, usd_per_hour: float | None = None
) -> float:
    """Instance bill for self-hosting a monthly volume (ops cost not included).

    Always-on: whole instances × hours per month × $/h. Otherwise only the hours used.

    Args:
        tokens_per_month: Tokens embedded per month.
        tokens_per_second: Throughput of one instance.
        a: Assumptions.
        usd_per_hour: Price of one instance (default the GPU's, ``a.gpu_usd_per_hour``).

    Returns:
        USD per month.
    """
    hourly = a.gpu_usd_per_hour if usd_per_hour is None else usd_per_hour
    if a.gpu_always_on:
        return gpus_needed(tokens_per_month, tokens_per_second, a) * a.hours_per_month * hourly
    return gpu_hours(tokens_per_month, tokens_per_second, a.gpu_utilization) * hourly


def selfhost_usd_per_month(
    tokens_per_month: float, tokens_per_second: float, a: CostAssumptions, usd_per_hour: float | None = None
) -> float:
    """Self-hosting cost per month: instance bill plus engineering/operations.

    Args:
        tokens_per_month: Tokens embedded per month.
        tokens_per_second: Throughput of one instance.
        a: Assumptions.
        usd_per_hour: Price of one instance (default the GPU's).

    Returns:
        USD per month.
    """
    return selfhost_gpu_usd_per_month(tokens_per_month, tokens_per_second, a, usd_per_hour) + (
        a.selfhost_ops_usd_per_month
    )


def break_even_tokens_per_month(
    api_price_per_1m_tokens: float, tokens_per_second: float, a: CostAssumptions
) -> float | None:
    """Monthly volume above which self-hosting is cheaper than the API.

    Always-on: self-host costs ``n`` GPU-months + ops for up to ``n`` GPUs' capacity,
    so the break-even is ``(n·G + ops) / p`` for the first ``n`` where that fits in
    ``n`` GPUs. With one GPU it does not depend on throughput at all. On-demand:
    ``ops / (p − c)`` where ``c`` is the GPU cost per token at that throughput.

    Args:
        api_price_per_1m_tokens: The API price compared against.
        tokens_per_second: Throughput of one GPU (before utilization).
        a: Assumptions (GPU price, mode, utilization, ops cost).

    Returns:
        Tokens per month, 0.0 when self-hosting is cheaper at any volume, or None when
        it never pays off (each GPU costs more than the API charges for what it can embed).
    """
    p = api_price_per_1m_tokens / 1e6
    if p <= 0:
        return None
    ops = a.selfhost_ops_usd_per_month
    if a.gpu_always_on:
        cap = gpu_capacity_tokens_per_month(tokens_per_second, a)
        gpu_month = a.gpu_usd_per_hour * a.hours_per_month
        margin = p * cap - gpu_month  # what a full GPU saves over the API
        first = (gpu_month + ops) / p
        if first <= cap:
            return first
        if margin <= 0:
            return None
        # The smallest n with n·(p·cap − G) ≥ ops; n = 1 failed above, so n ≥ 2.
        n = max(2, math.ceil(ops / margin))
        return (n * gpu_month + ops) / p
    c = a.gpu_usd_per_hour / (tokens_per_second * a.gpu_utilization * 3600.0)
    if c >= p:
        return None
    return ops / (p - c)


def break_even_throughput(api_price_per_1m_tokens: float, a: CostAssumptions) -> float:
    """Throughput below which a GPU never beats the API, however large the volume.

    A GPU pays off only if the tokens it can embed in an hour cost more at the API price
    than the hour itself: ``tps × utilization × 3600 × p ≥ $/h``.

    Args:
        api_price_per_1m_tokens: The API price compared against.
        a: Assumptions (GPU price, utilization).

    Returns:
        Tokens per second (before utilization).
    """
    return a.gpu_usd_per_hour / (api_price_per_1m_tokens / 1e6 * 3600.0 * a.gpu_utilization)


# --- storage -----------------------------------------------------------------------------


def storage_bytes(
    vectors: float,
    dimensions: int,
    precision: str = "float32",
    index_overhead: float = 1.0,
    replicas: int = 1,
) -> float:
    """Bytes to store vectors.

    Args:
        vectors: Number of vectors.
        dimensions: Stored dimensions per vector.
        precision: float32 (4 B), float16 (2 B), int8 (1 B) or binary (1/8 B) per dim.
        index_overhead: Index size ÷ raw size.
        replicas: Copies kept.

    Returns:
        Bytes.

    Raises:
        UserError: For an unknown precision.
    """
    if precision not in BYTES_PER_DIMENSION:
        raise UserError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    return vectors * dimensions * BYTES_PER_DIMENSION[precision] * index_overhead * replicas


def storage_gb(
    vectors: float,
    dimensions: int,
    precision: str = "float32",
    index_overhead: float = 1.0,
    replicas: int = 1,
) -> float:
    """Decimal GB to store vectors (100M × 1536 × float32 = 614.4 GB).

    Args:
        vectors: Number of vectors.
        dimensions: Stored dimensions per vector.
        precision: float32, float16, int8 or binary.
        index_overhead: Index size ÷ raw size.
        replicas: Copies kept.

    Returns:
        GB (10^9 bytes).
    """
    return storage_bytes(vectors, dimensions, precision, index_overhead, replicas) / BYTES_PER_GB


def stored_dimensions(native: int, mrl_options: Sequence[int], requested: int | None) -> int:
    """Dimensions actually stored for a model given a requested MRL size.

    Args:
        native: The model's full output size.
        mrl_options: Sizes it offers by MRL truncation (empty: none).
        requested: The size asked for (None: full).

    Returns:
        ``requested`` if the model supports MRL truncation to it, else ``native``.
    """
    if requested is None or requested >= native or not mrl_options:
        return native
    return requested


# --- per-model estimates -----------------------------------------------------------------


@dataclass(frozen=True)
class CostOption:
    """One way to run one model: through an API at a price, or self-hosted on GPUs.

    Attributes:
        model: Model name.
        deployment: ``api`` or ``self-host``.
        native_dimensions: The model's full output size.
        mrl_options: Sizes available by MRL truncation.
        price: The price record used (API), or None for self-host.
        throughput: Throughput used (self-host), or None for API.
        api_latency_ms: Published p95 round trip (low, high) of the API, when known.
    """

    model: str
    deployment: str
    native_dimensions: int
    mrl_options: tuple[int, ...] = ()
    price: PriceRecord | None = None
    throughput: Throughput | None = None
    api_latency_ms: tuple[float, float] | None = None

    @property
    def hardware(self) -> str:
        """``gpu`` or ``cpu`` for self-hosting; ``api`` for an API."""
        if self.deployment == "api":
            return "api"
        return self.throughput.hardware if self.throughput is not None else "gpu"

    @property
    def label(self) -> str:
        """``model · API``, ``model · self-host`` (one GPU) or ``model · self-host CPU``."""
        short = self.model.split("/")[-1]
        if self.deployment == "api":
            kind = "API" if self.price is None or self.price.hosting == "api" else "hosted API"
            return f"{short} · {kind}"
        return f"{short} · self-host CPU" if self.hardware == "cpu" else f"{short} · self-host"

    def query_latency(self) -> tuple[float | None, str]:
        """p95 time to embed one query with this option, and where the figure comes from."""
        if self.deployment == "api":
            if self.api_latency_ms is None:
                return None, "no published p95 for this API"
            lo, hi = self.api_latency_ms
            return hi, f"published p95 round trip ~{lo:g}–{hi:g} ms (KnowledgeSDK's 2026 guide); upper end used"
        tp = self.throughput
        if tp is None or tp.query_p95_ms is None:
            return None, "no latency figure"
        return tp.query_p95_ms, tp.latency_basis


@dataclass(frozen=True)
class CostEstimate:
    """Cost of one option under one set of assumptions.

    Attributes:
        option: What was costed.
        dimensions: Dimensions stored (after MRL truncation).
        tokens_per_month: Average tokens embedded per month in year 1.
        initial_tokens: Tokens of the one-off initial embedding.
        initial_usd: One-off cost of embedding today's corpus.
        embedding_usd_per_month: API bill or GPU bill, average month of year 1.
        ops_usd_per_month: Engineering/operations (self-host only).
        storage_gb: Storage at the end of year 1.
        storage_usd_per_month: Average month of year 1.
        gpus: Always-on instances (GPUs, or CPU instances) needed at year-1 peak (self-host only).
        notes: Caveats, e.g. a requested MRL size the model cannot produce.
        query_p95_ms: p95 time to embed one query with this option, when known.
        latency_basis: Where that figure comes from.
        meets_latency: Whether it meets ``max_query_p95_ms``; None when unknown.
        usd_per_hour: Price of one instance (self-host only).
    """

    option: CostOption
    dimensions: int
    tokens_per_month: float
    initial_tokens: float
    initial_usd: float
    embedding_usd_per_month: float
    ops_usd_per_month: float
    storage_gb: float
    storage_usd_per_month: float
    gpus: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)
    query_p95_ms: float | None = None
    latency_basis: str = ""
    meets_latency: bool | None = None
    usd_per_hour: float = 0.0

    @property
    def usd_per_month(self) -> float:
        """Recurring cost, average month of year 1."""
        return self.embedding_usd_per_month + self.ops_usd_per_month + self.storage_usd_per_month

    @property
    def usd_first_year(self) -> float:
        """One-off initial embedding plus twelve average months."""
        return self.initial_usd + 12 * self.usd_per_month


def estimate(option: CostOption, a: CostAssumptions, months: int = 12) -> CostEstimate:
    """Cost one option over the first ``months`` months.

    Args:
        option: Model and deployment.
        a: Assumptions.
        months: Window averaged over (12: "per month" is the average month of year 1).

    Returns:
        The estimate.

    Raises:
        UserError: If an API option has no price or a self-host option no throughput.
    """
    dims = stored_dimensions(option.native_dimensions, option.mrl_options, a.dimensions)
    notes: list[str] = []
    requested = a.dimensions
    if requested is not None and dims != requested and requested < option.native_dimensions:
        notes.append(f"no MRL: stores all {dims} dims")
    c0 = corpus_tokens(a)
    volumes = [month_tokens(a, m) for m in range(1, months + 1)]
    storage = [
        storage_gb(corpus_vectors(a, m), dims, a.precision, a.index_overhead, a.replicas) for m in range(1, months + 1)
    ]
    storage_usd = sum(s * a.storage_usd_per_gb_month for s in storage) / months
    gpus = 0
    ops = 0.0
    hourly = 0.0
    if option.deployment == "api":
        rec = option.price
        if rec is None or rec.price_per_1m_tokens is None:
            raise UserError(f"no API price for {option.model}: add one as an override")
        price = rec.price_per_1m_tokens
        corpus_price = price
        if a.use_batch_price and rec.batch_price_per_1m_tokens is not None:
            corpus_price = rec.batch_price_per_1m_tokens
        initial = api_cost_usd(c0, corpus_price)
        emb = sum(api_cost_usd(v.corpus, corpus_price) + api_cost_usd(v.queries, price) for v in volumes) / months
    else:
        tp = option.throughput
        if tp is None:
            raise UserError(f"no throughput for self-hosting {option.model}")
        tps = tp.tokens_per_second
        hourly = a.usd_per_hour(tp.hardware)
        # The initial embedding is a burst: billed as the extra instance-hours it takes.
        initial = gpu_hours(c0, tps, a.gpu_utilization) * hourly
        emb = sum(selfhost_gpu_usd_per_month(v.total, tps, a, hourly) for v in volumes) / months
        ops = a.selfhost_ops_usd_per_month
        if a.gpu_always_on:
            gpus = max(gpus_needed(v.total, tps, a) for v in volumes)
    p95, basis = option.query_latency()
    return CostEstimate(
        option=option,
        dimensions=dims,
        tokens_per_month=sum(v.total for v in volumes) / months,
        initial_tokens=c0,
        initial_usd=initial,
        embedding_usd_per_month=emb,
        ops_usd_per_month=ops,
        storage_gb=storage[-1],
        storage_usd_per_month=storage_usd,
        gpus=gpus,
        notes=tuple(notes),
        query_p95_ms=p95,
        latency_basis=basis,
        meets_latency=None if p95 is None else p95 <= a.max_query_p95_ms,
        usd_per_hour=hourly,
    )


def options_for_models(
    models: Iterable[str],
    effective: Mapping[str, PriceRecord],
    a: CostAssumptions,
    measured_tps: Mapping[str, float] | None = None,
    speeds: Mapping[str, MeasuredSpeed] | None = None,
    api_latency: Mapping[str, tuple[float, float]] | None = None,
) -> list[CostOption]:
    """Every way to run each model: its API price if any; self-hosting on one GPU and on a CPU instance.

    Self-hosting on a GPU uses, in this order: ``measured_tps`` (the user's own figure), a run
    of this app measured on a GPU, the articles' published figures. Self-hosting on a CPU
    instance exists only where one of this app's runs measured the model on a CPU: there is
    no published CPU figure to fall back on.

    Args:
        models: Model names (keys of ``effective``).
        effective: The effective price per model (:attr:`lib.pricing.PriceBook.effective`).
        a: Assumptions (tokens per passage for seed-derived throughput).
        measured_tps: The user's measured tokens/second per model on one GPU.
        speeds: This app's measured speeds per model (:class:`MeasuredSpeed`, latest run).
        api_latency: Published p95 round trip (low, high) per API model.

    Returns:
        Options in the order of ``models``; unknown models are skipped.
    """
    measured_tps = measured_tps or {}
    speeds = speeds or {}
    api_latency = api_latency or {}
    out: list[CostOption] = []
    for m in models:
        rec = effective.get(m)
        if rec is None:
            continue
        dims = rec.dimensions or 1024
        if rec.price_per_1m_tokens is not None:
            out.append(CostOption(m, "api", dims, rec.dimension_options, price=rec, api_latency_ms=api_latency.get(m)))
        if rec.open_weights:
            tps = measured_tps.get(m)
            speed = speeds.get(m)
            if tps:
                tp = measured_throughput(m, tps)
            elif speed is not None and speed.hardware == "gpu":
                tp = throughput_from_run(speed)
            else:
                tp = seed_throughput(m, rec.params_millions, a.seed_tokens_per_passage)
            out.append(CostOption(m, "self-host", dims, rec.dimension_options, throughput=tp))
            if speed is not None and speed.hardware == "cpu":
                cpu = throughput_from_run(speed)
                out.append(CostOption(m, "self-host", dims, rec.dimension_options, throughput=cpu))
    return out


def estimates_frame(estimates: Sequence[CostEstimate]) -> pd.DataFrame:
    """A table of estimates, one row per option, with the price's provenance.

    Args:
        estimates: From :func:`estimate`.

    Returns:
        DataFrame with model, deployment, price and its source/date/flags, volumes and
        monthly/yearly costs.
    """
    rows = []
    for e in estimates:
        rec = e.option.price
        tp = e.option.throughput
        rows.append(
            {
                "option": e.option.label,
                "model": e.option.model,
                "deployment": e.option.deployment,
                "price_per_1m": rec.price_per_1m_tokens if rec else None,
                "price_source": (rec.source_label if rec else (tp.basis if tp else "")),
                "price_flags": flag_text(rec) if rec is not None else "",
                "price_stale": bool(rec is not None and rec.stale),
                "price_conflict": bool(rec is not None and rec.conflict),
                "tokens_per_second": tp.tokens_per_second if tp else None,
                "hardware": e.option.hardware,
                "throughput_measured": bool(tp.measured) if tp else None,
                "gpus": e.gpus if e.option.deployment == "self-host" else None,
                "usd_per_hour": e.usd_per_hour if e.option.deployment == "self-host" else None,
                "query_p95_ms": e.query_p95_ms,
                "latency_basis": e.latency_basis,
                "meets_latency": e.meets_latency,
                "dimensions": e.dimensions,
                "tokens_per_month": e.tokens_per_month,
                "initial_usd": e.initial_usd,
                "embedding_usd_per_month": e.embedding_usd_per_month,
                "ops_usd_per_month": e.ops_usd_per_month,
                "storage_gb": e.storage_gb,
                "storage_usd_per_month": e.storage_usd_per_month,
                "usd_per_month": e.usd_per_month,
                "usd_first_year": e.usd_first_year,
                "notes": "; ".join(e.notes),
            }
        )
    return pd.DataFrame(rows)


def estimate_models(
    models: Iterable[str],
    effective: Mapping[str, PriceRecord],
    a: CostAssumptions,
    measured_tps: Mapping[str, float] | None = None,
    speeds: Mapping[str, MeasuredSpeed] | None = None,
    api_latency: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """One call for the report and other pages: every option of every model, costed.

    Args:
        models: Model names (keys of ``effective``; resolve aliases first with
            :func:`lib.pricing.resolve_model_name`).
        effective: :attr:`lib.pricing.PriceBook.effective`.
        a: Assumptions (the cost page leaves the user's in ``ems_cost_assumptions``).
        measured_tps: Measured tokens/second per model, replacing the seeds' figures.
        speeds: This app's measured speeds per model (CPU options come from these).
        api_latency: Published p95 round trip per API model.

    Returns:
        :func:`estimates_frame` of all options.
    """
    options = options_for_models(models, effective, a, measured_tps, speeds, api_latency)
    return estimates_frame([estimate(o, a) for o in options])


def cheapest_meeting_latency(frame: pd.DataFrame) -> tuple[pd.Series | None, str]:
    """The cheapest option that meets the p95 bound, from :func:`estimates_frame` rows of one model.

    Args:
        frame: Options of one model (``usd_per_month``, ``meets_latency``).

    Returns:
        (the row, why it was chosen) — or (the cheapest row, why none meets the bound) when no
        option is known to meet it, or (None, "") for an empty frame.
    """
    if frame.empty:
        return None, ""
    ordered = frame.sort_values("usd_per_month", kind="stable")
    ok = ordered[ordered["meets_latency"].eq(True)]
    if not ok.empty:
        best = ok.iloc[0]
        cheaper = ordered[ordered["usd_per_month"] < best["usd_per_month"]]
        why = "cheapest option that meets the p95 latency bound"
        if not cheaper.empty:
            why += "; cheaper but " + ", ".join(
                f"{r.option} ({'too slow' if r.meets_latency is False else 'latency unknown'})"
                for r in cheaper.itertuples()
            )
        return best, why
    return ordered.iloc[0], "no option is known to meet the p95 latency bound: cheapest shown"


def arithmetic(row: pd.Series, a: CostAssumptions) -> list[str]:
    """The cost of one option, step by step, from its :func:`estimates_frame` row.

    Args:
        row: One option.
        a: The assumptions it was costed with.

    Returns:
        Lines of plain text, each one step a reader can check with a calculator.
    """
    tpm = float(row["tokens_per_month"])
    lines = [f"Volume: {tpm / 1e6:,.1f}M tokens/month embedded (average month of year 1: growth, "
             f"re-embedding, {a.queries_per_month:,} queries × {a.tokens_per_query} tokens)"]
    if row["deployment"] == "api":
        lines.append(f"Embedding: {tpm / 1e6:,.1f}M × ${float(row['price_per_1m']):g} per 1M tokens ≈ "
                     f"${float(row['embedding_usd_per_month']):,.2f}/month ({row['price_source']})")
    else:
        tps = float(row["tokens_per_second"])
        cap = tps * a.gpu_utilization * 3600 * a.hours_per_month
        name = a.hardware_name(str(row["hardware"]))
        lines.append(f"Throughput of one {name}: {tps:,.0f} tokens/s — {row['price_source']}")
        lines.append(f"Capacity: {tps:,.0f} tokens/s × {a.gpu_utilization:.0%} utilisation × 3,600 s × "
                     f"{a.hours_per_month:g} h = {cap / 1e9:,.2f}B tokens/month per instance")
        if a.gpu_always_on:
            lines.append(f"Instances: {tpm / 1e6:,.1f}M ÷ {cap / 1e6:,.1f}M → {int(row['gpus'])} always on × "
                         f"{a.hours_per_month:g} h × ${float(row['usd_per_hour']):g}/h ≈ "
                         f"${float(row['embedding_usd_per_month']):,.2f}/month")
        else:
            lines.append(f"Hours used: {tpm / (tps * a.gpu_utilization * 3600):,.1f} h × "
                         f"${float(row['usd_per_hour']):g}/h ≈ ${float(row['embedding_usd_per_month']):,.2f}/month")
        lines.append(f"Operations: ${float(row['ops_usd_per_month']):,.0f}/month (engineering time, an assumption)")
    lines.append(f"Storage: {float(row['storage_gb']):,.1f} GB at the end of year 1 × "
                 f"${a.storage_usd_per_gb_month:g}/GB-month "
                 f"(average month ${float(row['storage_usd_per_month']):,.2f})")
    lines.append(f"Total: ${float(row['usd_per_month']):,.2f}/month")
    p95 = row.get("query_p95_ms")
    if p95 is None or pd.isna(p95):
        lines.append(f"Query latency: unknown ({row.get('latency_basis') or 'no figure'}) — not known to meet "
                     f"p95 ≤ {a.max_query_p95_ms:g} ms")
    else:
        verdict = "meets" if float(p95) <= a.max_query_p95_ms else "misses"
        lines.append(f"Query latency: p95 {float(p95):,.1f} ms ({row['latency_basis']}) — {verdict} the bound "
                     f"p95 ≤ {a.max_query_p95_ms:g} ms")
    return lines


def rerank_usd_per_month(
    a: CostAssumptions, *, api: bool, seconds_per_query: float | None = None,
    tokens_per_query: float | None = None, price_per_mtok: float | None = None,
) -> tuple[float | None, str]:
    """What a reranking second stage adds to a system's monthly cost, with its arithmetic.

    A rerank API bills tokens: ``queries_per_month × tokens per query`` (measured in the run:
    the query and its top-N documents) ``× price per 1M tokens``. A local cross-encoder costs
    compute: ``queries_per_month × seconds per query`` (measured in the run) as CPU-instance hours
    at ``cpu_usd_per_hour`` — the hours the instance spends reranking, on top of embedding.

    Args:
        a: The assumptions (queries per month, the CPU instance price).
        api: A rerank API (else a local cross-encoder).
        seconds_per_query: Measured reranking time per query (local).
        tokens_per_query: Measured tokens per query (API).
        price_per_mtok: The API's price per 1M tokens, if known.

    Returns:
        (USD per month, or None when it cannot be priced; one line saying how, or why not).
    """
    q = a.queries_per_month
    if api:
        if price_per_mtok is None or tokens_per_query is None:
            return None, ("Reranking: not priced — a rerank API's price is not in data/pricing.csv; add "
                          "price_per_mtok=… to its spec (e.g. >>rerank:MODEL?price_per_mtok=0.05) to price it")
        usd = q * tokens_per_query * price_per_mtok / 1e6
        return usd, (f"Reranking: {q:,} queries × {tokens_per_query:,.0f} tokens (measured per query: the query "
                     f"and its top-N documents) × ${price_per_mtok:g} per 1M tokens = ${usd:,.2f}/month")
    if seconds_per_query is None:
        return None, "Reranking: not priced — the run did not measure its time per query"
    hours = q * seconds_per_query / 3600
    usd = hours * a.cpu_usd_per_hour
    return usd, (f"Reranking on CPU: {q:,} queries × {seconds_per_query * 1000:,.1f} ms measured per query = "
                 f"{hours:,.1f} h × ${a.cpu_usd_per_hour:g}/h ({a.cpu_name}) = ${usd:,.2f}/month of compute")


# --- curves for charts -------------------------------------------------------------------


def log_range(lo: float, hi: float, n: int = 61) -> list[float]:
    """``n`` points evenly spaced on a log scale from ``lo`` to ``hi``.

    Args:
        lo: First point (> 0).
        hi: Last point.
        n: Number of points.

    Returns:
        The points.
    """
    a, b = math.log10(lo), math.log10(hi)
    return [10 ** (a + (b - a) * i / (n - 1)) for i in range(n)]


def cost_vs_volume(
    options: Sequence[CostOption], a: CostAssumptions, volumes: Sequence[float] | None = None
) -> pd.DataFrame:
    """Monthly embedding cost of each option as the monthly token volume varies.

    Storage is left out: it does not depend on who computes the embeddings.

    Args:
        options: API and self-host options.
        a: Assumptions.
        volumes: Tokens per month to evaluate (default 1M to 1T, log-spaced).

    Returns:
        Long DataFrame: option, deployment, tokens_per_month, usd_per_month.
    """
    volumes = list(volumes or log_range(1e6, 1e12))
    rows = []
    for o in options:
        for t in volumes:
            if o.deployment == "api" and o.price and o.price.price_per_1m_tokens is not None:
                usd = api_cost_usd(t, o.price.price_per_1m_tokens)
            elif o.throughput is not None:
                usd = selfhost_usd_per_month(t, o.throughput.tokens_per_second, a, a.usd_per_hour(o.hardware))
            else:
                continue
            rows.append(
                {
                    "option": o.label,
                    "deployment": o.deployment,
                    "tokens_per_month": t,
                    "usd_per_month": usd,
                }
            )
    return pd.DataFrame(rows, columns=["option", "deployment", "tokens_per_month", "usd_per_month"])


def break_even_table(
    api_options: Sequence[CostOption],
    selfhost: Sequence[CostOption],
    a: CostAssumptions,
    gpu_prices: Sequence[float] = SEED_GPU_USD_PER_HOUR,
) -> pd.DataFrame:
    """Break-even volume of every (API, self-host) pair at several GPU prices.

    Args:
        api_options: Options with a price.
        selfhost: Options with a throughput.
        a: Assumptions (the GPU price in it is replaced by each of ``gpu_prices``).
        gpu_prices: GPU $/h to evaluate (default the seeds' $1 and $2).

    Returns:
        DataFrame: api, self_host, gpu_usd_per_hour, tokens_per_second,
        break_even_tokens_per_month (NaN = never), vs_seed_claim (ratio to 100M).
    """
    rows = []
    for api in api_options:
        if api.price is None or api.price.price_per_1m_tokens is None:
            continue
        for sh in selfhost:
            if sh.throughput is None:
                continue
            for g in gpu_prices:
                be = break_even_tokens_per_month(
                    api.price.price_per_1m_tokens,
                    sh.throughput.tokens_per_second,
                    replace(a, gpu_usd_per_hour=g),
                )
                rows.append(
                    {
                        "api": api.label,
                        "api_price_per_1m": api.price.price_per_1m_tokens,
                        "self_host": sh.label,
                        "gpu_usd_per_hour": g,
                        "tokens_per_second": sh.throughput.tokens_per_second,
                        "break_even_tokens_per_month": math.nan if be is None else be,
                        "vs_seed_claim": math.nan if be is None else be / SEED_BREAK_EVEN_CLAIM_TOKENS,
                    }
                )
    return pd.DataFrame(rows)


def break_even_vs_throughput(
    api_price_per_1m_tokens: float,
    a: CostAssumptions,
    throughputs: Sequence[float] | None = None,
    gpu_prices: Sequence[float] = SEED_GPU_USD_PER_HOUR,
) -> pd.DataFrame:
    """How the break-even volume moves with throughput, GPU price and GPU mode.

    Args:
        api_price_per_1m_tokens: The API price compared against.
        a: Assumptions (GPU price and mode are varied).
        throughputs: Tokens/second to evaluate (default 1k to 10M, log-spaced).
        gpu_prices: GPU $/h lines.

    Returns:
        Long DataFrame: tokens_per_second, gpu_usd_per_hour, mode ("always-on" or
        "on-demand"), series label, break_even_tokens_per_month (NaN = never).
    """
    throughputs = list(throughputs or log_range(1e3, 1e7))
    rows = []
    for mode, always in (("always-on", True), ("on-demand", False)):
        for g in gpu_prices:
            aa = replace(a, gpu_usd_per_hour=g, gpu_always_on=always)
            for t in throughputs:
                be = break_even_tokens_per_month(api_price_per_1m_tokens, t, aa)
                rows.append(
                    {
                        "tokens_per_second": t,
                        "gpu_usd_per_hour": g,
                        "mode": mode,
                        "series": f"{mode}, ${g:g}/h",
                        "break_even_tokens_per_month": math.nan if be is None else be,
                    }
                )
    return pd.DataFrame(rows)


def storage_grid(
    vectors: float,
    dimensions: Sequence[int],
    a: CostAssumptions,
    precisions: Sequence[str] = PRECISIONS,
) -> pd.DataFrame:
    """Storage and its monthly cost for each (dimensions, precision) pair.

    Args:
        vectors: Vectors stored.
        dimensions: Sizes to compare (e.g. the MRL options of the shortlist).
        a: Assumptions (overhead, replicas, $/GB-month).
        precisions: Precisions to compare.

    Returns:
        DataFrame: dimensions, precision, gb, usd_per_month.
    """
    rows = []
    for d in sorted(set(dimensions)):
        for p in precisions:
            gb = storage_gb(vectors, d, p, a.index_overhead, a.replicas)
            rows.append(
                {
                    "dimensions": d,
                    "precision": p,
                    "gb": gb,
                    "usd_per_month": gb * a.storage_usd_per_gb_month,
                }
            )
    return pd.DataFrame(rows, columns=["dimensions", "precision", "gb", "usd_per_month"])
