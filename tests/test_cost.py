"""Hand-computed cases of the cost model (each expected number is worked out in a comment)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from lib import cost, pricing
from lib.cost import CostAssumptions, CostOption
from lib.errors import UserError

TODAY = date(2026, 11, 25)
A = CostAssumptions()
# The seeds' A10G case with no engineering cost, to isolate the GPU arithmetic.
GPU_ONLY = replace(A, selfhost_ops_usd_per_month=0.0)
BGE_TPS = 819_200.0  # 32 passages × 256 tokens / 0.010 s (BGE-M3 midpoint of 5–15 ms)


@pytest.fixture(autouse=True)
def _no_local_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pricing.LOCAL_PRICES_ENV, str(tmp_path / "prices.local.csv"))


# --- API -------------------------------------------------------------------------------


def test_api_cost_10m_tokens_on_3_small() -> None:
    # 10M tokens × $0.02 / 1M = $0.20
    assert cost.api_cost_usd(10e6, 0.02) == pytest.approx(0.20)
    assert cost.api_cost_usd(1e9, 0.13) == pytest.approx(130.0)


# --- storage ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("precision", "gb"),
    [("float32", 614.4), ("float16", 307.2), ("int8", 153.6), ("binary", 19.2)],
)
def test_storage_100m_vectors_1536_dims(precision: str, gb: float) -> None:
    # 100M × 1536 × 4 B = 614.4e9 B = 614.4 GB; binary is 1/32 of that = 19.2 GB.
    assert cost.storage_gb(100e6, 1536, precision) == pytest.approx(gb)


def test_storage_overhead_replicas_and_mrl() -> None:
    # 614.4 GB × 1.5 overhead × 2 replicas = 1843.2 GB
    assert cost.storage_gb(100e6, 1536, "float32", 1.5, 2) == pytest.approx(1843.2)
    # MRL to 256 dims: 100M × 256 × 4 B = 102.4 GB
    assert cost.storage_gb(100e6, 256, "float32") == pytest.approx(102.4)
    assert cost.stored_dimensions(3072, (256, 1024, 3072), 256) == 256
    assert cost.stored_dimensions(1024, (), 256) == 1024  # no MRL: full size stored
    assert cost.stored_dimensions(1024, (256, 512, 1024), 4096) == 1024
    with pytest.raises(UserError, match="precision"):
        cost.storage_gb(1, 1, "float8")


def test_storage_grid_rows_and_cost() -> None:
    a = replace(A, index_overhead=1.0, storage_usd_per_gb_month=0.10)
    df = cost.storage_grid(100e6, [1536, 256], a)
    assert len(df) == 8
    row = df[(df.dimensions == 1536) & (df.precision == "binary")].iloc[0]
    assert row.gb == pytest.approx(19.2) and row.usd_per_month == pytest.approx(1.92)


# --- throughput from the seeds ----------------------------------------------------------


def test_seed_throughput_derivation() -> None:
    bge = cost.seed_throughput("BAAI/bge-m3", 568, 256)
    assert bge.tokens_per_second == pytest.approx(BGE_TPS)
    assert bge.low == pytest.approx(32 * 256 / 0.015)  # 546,133 tok/s at 15 ms
    assert bge.high == pytest.approx(32 * 256 / 0.005)  # 1,638,400 tok/s at 5 ms
    assert "BGE-M3" in bge.basis and "256 tokens/passage" in bge.basis
    qwen = cost.seed_throughput("Qwen/Qwen3-Embedding-8B", 7567, 256)
    assert qwen.tokens_per_second == pytest.approx(32 * 256 / 0.030)  # 273,067 tok/s
    small = cost.seed_throughput("sentence-transformers/all-MiniLM-L6-v2", 23, 256)
    assert small.tokens_per_second == pytest.approx(32 * 256 / 0.005)
    # Half the assumed passage length halves the throughput.
    assert cost.seed_throughput("x", 568, 128).tokens_per_second == pytest.approx(BGE_TPS / 2)
    measured = cost.measured_throughput("BAAI/bge-m3", 30_000, "run 7")
    assert measured.measured and measured.tokens_per_second == 30_000
    with pytest.raises(UserError):
        cost.measured_throughput("BAAI/bge-m3", 0)


# --- break-even -------------------------------------------------------------------------


def test_break_even_always_on_a10g_vs_3_small() -> None:
    # One A10G always on: 730 h × $1 = $730/month; the API costs $0.02 per 1M tokens,
    # so break-even = 730 / 0.02 × 1M = 36.5B tokens/month ($2/h: 73B).
    one = cost.break_even_tokens_per_month(0.02, BGE_TPS, replace(GPU_ONLY, gpu_usd_per_hour=1))
    two = cost.break_even_tokens_per_month(0.02, BGE_TPS, replace(GPU_ONLY, gpu_usd_per_hour=2))
    assert one == pytest.approx(36.5e9)
    assert two == pytest.approx(73e9)
    # Against text-embedding-3-large at $0.13: 730 / 0.13 × 1M = 5.615B (11.23B at $2/h).
    large = cost.break_even_tokens_per_month(0.13, BGE_TPS, replace(GPU_ONLY, gpu_usd_per_hour=1))
    assert large == pytest.approx(730 / 0.13 * 1e6)
    # With the default $500/month engineering at $1/h: (730 + 500) / 0.02 × 1M = 61.5B.
    with_ops = cost.break_even_tokens_per_month(0.02, BGE_TPS, replace(A, gpu_usd_per_hour=1))
    assert with_ops == pytest.approx(61.5e9)


def test_seed_claim_of_100m_tokens_is_not_reproduced_for_an_always_on_gpu() -> None:
    """Seed 002: 'at scale (>100M tokens/month), self-hosting pays for itself'.

    With one always-on A10G at $1–2/h the computed break-even against
    text-embedding-3-small is 36.5–73B tokens/month, 365–730× the seed's figure; the claim
    would need an API price of $7.30–14.60 per 1M tokens (730 or 1460 $ / 100M tokens).
    """
    for g, ratio in ((1.0, 365), (2.0, 730)):
        be = cost.break_even_tokens_per_month(0.02, BGE_TPS, replace(GPU_ONLY, gpu_usd_per_hour=g))
        assert be is not None
        assert be / cost.SEED_BREAK_EVEN_CLAIM_TOKENS == pytest.approx(ratio)
        implied_price = g * 730 / (cost.SEED_BREAK_EVEN_CLAIM_TOKENS / 1e6)
        assert implied_price == pytest.approx(7.30 * g)
    # And below 10M tokens/month the API is cheaper, as the seed says: $0.20 vs $730.
    assert cost.api_cost_usd(
        cost.SEED_API_CHEAPER_BELOW_TOKENS, 0.02
    ) < cost.selfhost_usd_per_month(10e6, BGE_TPS, replace(GPU_ONLY, gpu_usd_per_hour=1))


def test_break_even_depends_on_throughput() -> None:
    a = replace(A, gpu_usd_per_hour=1.0)  # $500 ops, utilization 0.5
    # Below this throughput a GPU never beats $0.02/1M: $1 / (0.02e-6 × 3600 × 0.5) tok/s.
    threshold = cost.break_even_throughput(0.02, a)
    assert threshold == pytest.approx(27_777.78, rel=1e-6)
    assert cost.break_even_tokens_per_month(0.02, threshold * 0.99, a) is None
    # At 30k tok/s one GPU holds 30k × 0.5 × 3600 × 730 = 39.42B tokens/month, and each
    # full GPU saves 0.02e-6 × 39.42e9 − 730 = $58.40 over the API; paying back $500 of ops
    # needs n = ceil(500 / 58.4) = 9 GPUs: (9 × 730 + 500) / 0.02e-6 = 353.5B tokens/month.
    assert cost.break_even_tokens_per_month(0.02, 30_000, a) == pytest.approx(353.5e9)
    # With one GPU's capacity to spare, throughput no longer matters: (730 + 500)/0.02e-6.
    assert cost.break_even_tokens_per_month(0.02, BGE_TPS, a) == pytest.approx(61.5e9)
    assert cost.break_even_tokens_per_month(0.02, 10 * BGE_TPS, a) == pytest.approx(61.5e9)


def test_break_even_on_demand_gpu() -> None:
    a = replace(A, gpu_usd_per_hour=1.0, gpu_always_on=False)
    # GPU cost per token at BGE-M3's seed throughput: $1 / (819,200 × 0.5 × 3600) tokens
    # = $0.000678 per 1M; break-even = $500 / (0.02e-6 − 6.78e-13) = 25.88B tokens/month.
    c = 1 / (BGE_TPS * 0.5 * 3600)
    expected = 500 / (0.02e-6 - c)
    assert expected == pytest.approx(25.877e9, rel=1e-3)
    assert cost.break_even_tokens_per_month(0.02, BGE_TPS, a) == pytest.approx(expected)
    # No engineering cost: cheaper at any volume.
    assert (
        cost.break_even_tokens_per_month(0.02, BGE_TPS, replace(a, selfhost_ops_usd_per_month=0))
        == 0.0
    )
    # A slow GPU costs more per token than the API: never.
    assert cost.break_even_tokens_per_month(0.02, 10_000, a) is None


def test_break_even_vs_throughput_frame() -> None:
    df = cost.break_even_vs_throughput(0.02, A, throughputs=[10_000, BGE_TPS])
    assert set(df["series"]) == {
        "always-on, $1/h",
        "always-on, $2/h",
        "on-demand, $1/h",
        "on-demand, $2/h",
    }
    slow = df[(df.tokens_per_second == 10_000) & (df["mode"] == "always-on")]
    assert slow.break_even_tokens_per_month.isna().all()
    fast = df[(df.tokens_per_second == BGE_TPS) & (df.series == "always-on, $2/h")].iloc[0]
    assert fast.break_even_tokens_per_month == pytest.approx((1460 + 500) / 0.02e-6)


# --- monthly / yearly estimates ---------------------------------------------------------


def _book() -> pricing.PriceBook:
    return pricing.load_prices(today=TODAY)


def test_estimate_api_hand_computed() -> None:
    book = _book()
    a = replace(
        A,
        documents=1000,
        chunks_per_document=10,
        tokens_per_chunk=1000,  # corpus = 10M tokens
        growth_per_month=0.0,
        reembed_every_months=0,
        queries_per_month=1_000_000,
        tokens_per_query=10,  # 10M query tokens / month
        index_overhead=1.0,
        storage_usd_per_gb_month=0.10,
    )
    small = book.effective["openai/text-embedding-3-small"]
    e = cost.estimate(CostOption(small.model, "api", 1536, small.dimension_options, small), a)
    assert e.initial_usd == pytest.approx(0.20)  # 10M × $0.02/1M
    assert e.embedding_usd_per_month == pytest.approx(0.20)  # 10M query tokens
    # 10,000 vectors × 1536 × 4 B = 0.06144 GB × $0.10 = $0.006144
    assert e.storage_gb == pytest.approx(0.06144)
    assert e.storage_usd_per_month == pytest.approx(0.006144)
    assert e.usd_per_month == pytest.approx(0.206144)
    assert e.usd_first_year == pytest.approx(0.20 + 12 * 0.206144)
    # Re-embedding yearly adds 10M / 12 tokens a month: + $0.016667.
    e2 = cost.estimate(e.option, replace(a, reembed_every_months=12))
    assert e2.embedding_usd_per_month == pytest.approx(0.20 + 0.20 / 12)
    # Batch price for the corpus (not queries): 10M × $0.01 = $0.10 one-off.
    e3 = cost.estimate(e.option, replace(a, use_batch_price=True))
    assert e3.initial_usd == pytest.approx(0.10)
    assert e3.embedding_usd_per_month == pytest.approx(0.20)
    # MRL to 512 dims: a third of the storage.
    e4 = cost.estimate(e.option, replace(a, dimensions=512))
    assert e4.dimensions == 512 and e4.storage_gb == pytest.approx(0.02048)


def test_growth_compounds() -> None:
    a = replace(A, growth_per_month=0.10, reembed_every_months=0, queries_per_month=0)
    c0 = cost.corpus_tokens(a)
    assert cost.month_tokens(a, 1).growth == pytest.approx(0.10 * c0)
    assert cost.month_tokens(a, 2).growth == pytest.approx(0.11 * c0)
    assert cost.corpus_vectors(a, 12) == pytest.approx(1e7 * 1.1**12)


def test_estimate_self_host_always_on() -> None:
    book = _book()
    bge = book.effective["BAAI/bge-m3"]
    opts = cost.options_for_models(["BAAI/bge-m3"], book.effective, A)
    assert [o.deployment for o in opts] == ["api", "self-host"]
    sh = opts[1]
    assert sh.throughput is not None and sh.throughput.tokens_per_second == pytest.approx(BGE_TPS)
    e = cost.estimate(sh, A)
    # One A10G at $1.5/h × 730 h = $1095 + $500 ops.
    assert e.gpus == 1
    assert e.embedding_usd_per_month == pytest.approx(1095.0)
    assert e.ops_usd_per_month == 500.0
    # Initial corpus 1M × 10 × 300 = 3B tokens / (819,200 × 0.5 tok/s) = 2.03 h × $1.5.
    assert e.initial_usd == pytest.approx(3e9 / (BGE_TPS * 0.5 * 3600) * 1.5)
    assert bge.dimensions == 1024 and e.dimensions == 1024
    # A measured throughput replaces the seed's.
    m = cost.options_for_models(["BAAI/bge-m3"], book.effective, A, {"BAAI/bge-m3": 20_000.0})
    assert m[1].throughput is not None and m[1].throughput.measured


def test_estimates_frame_carries_price_provenance() -> None:
    book = _book()
    models = ["openai/text-embedding-3-small", "openai/text-embedding-3-large", "BAAI/bge-m3"]
    opts = cost.options_for_models(models, book.effective, A)
    df = cost.estimates_frame([cost.estimate(o, A) for o in opts])
    assert list(df.option) == [
        "text-embedding-3-small · API",
        "text-embedding-3-large · API",
        "bge-m3 · hosted API",
        "bge-m3 · self-host",
    ]
    large = df[df.option == "text-embedding-3-large · API"].iloc[0]
    assert "stale" in large.price_flags and "2026-01-01" in large.price_source
    assert "official" in large.price_source
    assert math.isclose(large.usd_first_year, large.initial_usd + 12 * large.usd_per_month)


def test_cost_vs_volume_and_break_even_table() -> None:
    book = _book()
    opts = cost.options_for_models(
        ["openai/text-embedding-3-small", "BAAI/bge-m3"], book.effective, A
    )
    curve = cost.cost_vs_volume(opts, A, volumes=[1e6, 1e9])
    api = curve[(curve.option == "text-embedding-3-small · API") & (curve.tokens_per_month == 1e9)]
    assert api.usd_per_month.iloc[0] == pytest.approx(20.0)
    api_opts = [o for o in opts if o.deployment == "api"]
    sh = [o for o in opts if o.deployment == "self-host"]
    table = cost.break_even_table(api_opts, sh, GPU_ONLY)
    row = table[
        (table.api == "text-embedding-3-small · API") & (table.gpu_usd_per_hour == 1.0)
    ].iloc[0]
    assert row.break_even_tokens_per_month == pytest.approx(36.5e9)
    assert row.vs_seed_claim == pytest.approx(365)


def test_assumptions_validate() -> None:
    with pytest.raises(UserError, match="precision"):
        CostAssumptions(precision="float8")
    with pytest.raises(UserError, match="utilization"):
        CostAssumptions(gpu_utilization=0)
    with pytest.raises(UserError, match="documents"):
        CostAssumptions(documents=-1)


def test_estimate_models_one_call() -> None:
    book = _book()
    df = cost.estimate_models(["openai/text-embedding-3-small", "thenlper/gte-large"], book.effective, A)
    assert list(df.option) == ["text-embedding-3-small · API", "gte-large · self-host"]
    assert df.set_index("option").loc["gte-large · self-host"].gpus == 1


# --- self-hosting on CPU, measured throughput, the p95 bound (issue 12) ------------------

MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def _speed(docs_per_s: float = 150.0, p95: float | None = 12.0) -> cost.MeasuredSpeed:
    return cost.MeasuredSpeed(MINILM, "run-1", "2026-12-01", docs_per_s, 100.0, "≈ chars ÷ 4", p95, "cpu",
                              "2 CPU cores (x86_64)")


def test_cpu_option_exists_only_with_a_measurement_and_uses_it() -> None:
    book = _book()
    plain = cost.options_for_models([MINILM], book.effective, A)
    assert [o.label for o in plain] == ["all-MiniLM-L6-v2 · self-host"]  # GPU, published figures only
    opts = cost.options_for_models([MINILM], book.effective, A, speeds={MINILM: _speed()})
    assert [o.label for o in opts] == ["all-MiniLM-L6-v2 · self-host", "all-MiniLM-L6-v2 · self-host CPU"]
    cpu = opts[1]
    assert cpu.hardware == "cpu" and cpu.throughput is not None and cpu.throughput.measured
    # 150 documents/s × 100 tokens/document = 15,000 tokens/s
    assert cpu.throughput.tokens_per_second == pytest.approx(15_000)
    assert "run run-1" in cpu.throughput.basis and "2 CPU cores" in cpu.throughput.basis
    e = cost.estimate(cpu, A)
    # Capacity 15,000 × 0.5 × 3,600 × 730 = 19.71B tokens/month ≫ ~372M/month → one instance,
    # always on: 730 h × $0.0816 = $59.568, plus $500 operations.
    assert e.gpus == 1
    assert e.embedding_usd_per_month == pytest.approx(730 * 0.0816)
    assert e.ops_usd_per_month == 500.0
    assert e.usd_per_hour == 0.0816
    # Initial 3B tokens ÷ (15,000 × 0.5) tok/s = 111.1 h × $0.0816
    assert e.initial_usd == pytest.approx(3e9 / (15_000 * 0.5 * 3600) * 0.0816)
    assert (e.query_p95_ms, e.meets_latency) == (12.0, True)


def test_a_gpu_measurement_replaces_the_published_gpu_figure() -> None:
    book = _book()
    gpu = replace(_speed(2_000.0, 3.0), device="cuda (NVIDIA A10G)")
    opts = cost.options_for_models([MINILM], book.effective, A, speeds={MINILM: gpu})
    assert [o.label for o in opts] == ["all-MiniLM-L6-v2 · self-host"]
    assert opts[0].throughput is not None and opts[0].throughput.measured
    assert opts[0].throughput.tokens_per_second == pytest.approx(200_000)


def test_cheapest_option_that_meets_the_p95_bound() -> None:
    book = _book()
    fast = cost.estimate_models([MINILM], book.effective, A, speeds={MINILM: _speed(p95=12.0)})
    best, why = cost.cheapest_meeting_latency(fast)
    # CPU $59.57 + $500 + storage beats the GPU's $1,095 + $500 + storage, and meets 12 ≤ 100 ms.
    assert best is not None and best["option"] == "all-MiniLM-L6-v2 · self-host CPU"
    assert why == "cheapest option that meets the p95 latency bound"
    slow = cost.estimate_models([MINILM], book.effective, A, speeds={MINILM: _speed(p95=1008.9)})
    best, why = cost.cheapest_meeting_latency(slow)
    assert best is not None and best["option"] == "all-MiniLM-L6-v2 · self-host"  # GPU: published ≤ 8 ms
    assert "cheaper but all-MiniLM-L6-v2 · self-host CPU (too slow)" in why
    # A user bound of 5 ms: nothing is known to meet it → the cheapest is shown, and said so.
    tight = cost.estimate_models([MINILM], book.effective, replace(A, max_query_p95_ms=5.0),
                                 speeds={MINILM: _speed(p95=12.0)})
    best, why = cost.cheapest_meeting_latency(tight)
    assert best is not None and best["option"] == "all-MiniLM-L6-v2 · self-host CPU"
    assert why.startswith("no option is known to meet")
    assert cost.cheapest_meeting_latency(fast.iloc[0:0]) == (None, "")


def test_api_latency_is_the_published_upper_end_and_unknown_is_never_assumed() -> None:
    book = _book()
    small = "openai/text-embedding-3-small"
    known = cost.estimate_models([small], book.effective, A, api_latency={small: (50.0, 80.0)})
    assert (known.iloc[0].query_p95_ms, known.iloc[0].meets_latency) == (80.0, True)
    unknown = cost.estimate_models([small], book.effective, A)
    assert unknown.iloc[0].query_p95_ms is None and unknown.iloc[0].meets_latency is None
    assert "no published p95" in unknown.iloc[0].latency_basis


def test_arithmetic_shows_every_step_with_the_numbers_used() -> None:
    book = _book()
    est = cost.estimate_models([MINILM], book.effective, A, speeds={MINILM: _speed()})
    row = est[est.option.str.endswith("CPU")].iloc[0]
    lines = cost.arithmetic(row, A)
    text = "\n".join(lines)
    assert "15,000 tokens/s" in text and "run run-1" in text
    assert "15,000 tokens/s × 50% utilisation × 3,600 s × 730 h = 19.71B tokens/month per instance" in text
    assert "1 always on × 730 h × $0.0816/h ≈ $59.57/month" in text
    assert "Operations: $500/month" in text
    assert lines[-2].startswith("Total: $") and f"{row.usd_per_month:,.2f}" in lines[-2]
    assert "p95 12.0 ms" in lines[-1] and "meets the bound p95 ≤ 100 ms" in lines[-1]
    api = cost.estimate_models(["openai/text-embedding-3-small"], book.effective, A).iloc[0]
    api_text = "\n".join(cost.arithmetic(api, A))
    assert "× $0.02 per 1M tokens" in api_text and "unknown" in api_text


def test_cpu_volume_curve_uses_the_cpu_price() -> None:
    book = _book()
    opts = cost.options_for_models([MINILM], book.effective, GPU_ONLY, speeds={MINILM: _speed()})
    curve = cost.cost_vs_volume(opts, GPU_ONLY, volumes=[1e6])
    by = curve.set_index("option").usd_per_month
    assert by["all-MiniLM-L6-v2 · self-host CPU"] == pytest.approx(730 * 0.0816)  # no ops in GPU_ONLY
    assert by["all-MiniLM-L6-v2 · self-host"] == pytest.approx(730 * 1.5)


def test_default_cpu_price_has_a_public_source_and_date() -> None:
    c = cost.CPU_INSTANCE
    assert c.usd_per_hour == CostAssumptions().cpu_usd_per_hour == 0.0816
    assert c.url.startswith("https://") and date.fromisoformat(c.date) and c.kind == "third-party"
    with pytest.raises(UserError, match="p95"):
        CostAssumptions(max_query_p95_ms=0)
    with pytest.raises(UserError, match="cpu usd per hour"):
        CostAssumptions(cpu_usd_per_hour=-1)


def test_rerank_second_stage_per_month_hand_computed() -> None:
    a = CostAssumptions()  # 1,000,000 queries/month, CPU instance m7g.large at $0.0816/h
    # API: 1,000,000 queries × 800 tokens × $0.05 per 1M tokens = 800M tokens × $0.05/M = $40.00
    usd, line = cost.rerank_usd_per_month(a, api=True, tokens_per_query=800, price_per_mtok=0.05)
    assert usd == pytest.approx(40.0)
    assert "1,000,000 queries × 800 tokens" in line and "$40.00/month" in line
    # Local cross-encoder: 1,000,000 × 0.084 s = 84,000 s = 23.33 h × $0.0816/h = $1.904
    usd, line = cost.rerank_usd_per_month(a, api=False, seconds_per_query=0.084)
    assert usd == pytest.approx(84_000 / 3600 * 0.0816)
    assert "84.0 ms measured per query = 23.3 h × $0.0816/h (m7g.large) = $1.90/month" in line
    # An API without a price is said to be unpriced, never costed as free.
    usd, line = cost.rerank_usd_per_month(a, api=True, tokens_per_query=800)
    assert usd is None and "not priced" in line and "price_per_mtok" in line
    assert cost.rerank_usd_per_month(a, api=False)[0] is None
