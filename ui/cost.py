"""Streamlit glue of the Cost page: the price editor, the assumption inputs and the result
sections. Each function takes values computed by ``lib.pricing`` / ``lib.cost`` and draws them;
the widget keys are the page's (``cost_*``) and stay stable for tests and reloads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from lib import cost, fmt, pricing
from lib.charts import cost as charts
from lib.errors import UserError
from lib.fmt import dollars as md

EDITOR_KEY = "cost_price_editor"
REEMBED_CHOICES = {0: "never", 12: "every 12 months", 6: "every 6 months", 3: "every 3 months", 1: "every month"}
DIM_CHOICES: list[int | None] = [None, 64, 128, 256, 512, 768, 1024, 1536, 2048, 3072]
HELP = cost.assumption_help()

EDITOR_COLUMNS = [
    "marks", "model", "published_price", "your_price", "your_note",
    "batch_price", "date_checked", "kind", "source", "source_url",
]  # fmt: skip
EDITOR_READ_ONLY = ["marks", "model", "published_price", "batch_price", "source", "source_url", "kind", "date_checked"]
COST_COLUMNS = [
    "option", "usd_per_month", "usd_first_year", "price_per_1m", "price_flags", "price_source",
    "initial_usd", "embedding_usd_per_month", "ops_usd_per_month", "storage_usd_per_month",
    "storage_gb", "dimensions", "tokens_per_month", "hardware", "query_p95_ms", "meets_latency",
    "gpus", "tokens_per_second", "notes",
]  # fmt: skip


def _help(name: str) -> str:
    return md(HELP.get(name, ""))


@st.cache_data(show_spinner=False)
def _published(path: str, mtime: float) -> list[pricing.PriceRecord]:
    del mtime  # part of the cache key only: a edited CSV is re-read
    return pricing.read_pricing_csv(Path(path))


def published_prices() -> list[pricing.PriceRecord]:
    """The published prices (``data/pricing.csv``), re-read when the file changes."""
    return _published(str(pricing.PRICING_CSV), pricing.PRICING_CSV.stat().st_mtime)


def file_overrides() -> list[pricing.PriceOverride]:
    """The local overrides file; a broken file is reported and ignored."""
    try:
        return pricing.read_overrides()
    except UserError as exc:
        st.error(f"Local price overrides ignored: {exc}")
        return []


def price_editor(rows: list[dict[str, object]]) -> list[dict[str, Any]]:
    """Draw the price editor over :func:`lib.pricing.editor_rows`; returns the edited rows."""
    st.subheader("Prices, sources and your overrides")
    st.caption(
        "One row per model: the published price the app uses and where it comes from. Type "
        "**your price** to override it for this session; **Save** writes your prices to "
        f"`{pricing.local_prices_path().name}` (git-ignored; `EMS_PRICES_LOCAL` moves it), "
        "which the app loads on every start."
    )
    edited = st.data_editor(
        pd.DataFrame(rows).astype({"your_price": "float64", "your_note": "str"}),
        key=EDITOR_KEY,
        hide_index=True,
        num_rows="fixed",
        height=320,
        column_order=EDITOR_COLUMNS,
        disabled=EDITOR_READ_ONLY,
        column_config={
            "marks": st.column_config.TextColumn("flags", width="medium"),
            "published_price": st.column_config.NumberColumn("$/1M tokens", format="$%.3f"),
            "batch_price": st.column_config.NumberColumn("batch $/1M", format="$%.4f"),
            "source_url": st.column_config.LinkColumn("link"),
            "date_checked": st.column_config.DateColumn("checked"),
            "your_price": st.column_config.NumberColumn(
                "your price $/1M ✎",
                min_value=0.0,
                format="$%.4f",
                help="Overrides the published price everywhere in the app.",
            ),
            "your_note": st.column_config.TextColumn("your note ✎"),
        },
    )
    return list(edited.to_dict("records"))


def save_button(all_yours: Sequence[pricing.PriceOverride], today: Any) -> None:
    """The *Save my prices* button: writes every price of the user to the local file."""
    b1, b2 = st.columns([1, 3])
    if b1.button("Save my prices to the local file", key="cost_save_prices"):
        try:
            written = pricing.write_overrides(pricing.dated(all_yours, today))
            b2.success(f"Saved {len(all_yours)} price(s) to {written}")
        except UserError as exc:
            b2.error(str(exc))


def assumption_inputs(d: cost.CostAssumptions) -> dict[str, Any]:
    """Draw the three assumption columns (defaults from ``d``); returns CostAssumptions kwargs."""
    st.subheader("Assumptions")
    col1, col2, col3 = st.columns(3)
    with col1, st.container(border=True):
        st.markdown("**Corpus and queries**")
        documents = st.number_input(
            "Documents", 0, value=d.documents, step=100_000, key="cost_documents", help=_help("documents")
        )
        chunks = st.number_input(
            "Chunks per document", 0.0, value=d.chunks_per_document, step=1.0, key="cost_chunks",
            help=_help("chunks_per_document"),
        )  # fmt: skip
        tpc = st.number_input(
            "Tokens per chunk", 1, value=d.tokens_per_chunk, step=50, key="cost_tokens_chunk",
            help=_help("tokens_per_chunk"),
        )  # fmt: skip
        growth = st.number_input(
            "Corpus growth, % per month", 0.0, 100.0, value=d.growth_per_month * 100, step=0.5,
            key="cost_growth", help=_help("growth_per_month"),
        )  # fmt: skip
        reembed = st.selectbox(
            "Re-embed the whole corpus",
            list(REEMBED_CHOICES),
            index=list(REEMBED_CHOICES).index(d.reembed_every_months),
            format_func=REEMBED_CHOICES.__getitem__,
            key="cost_reembed",
            help=_help("reembed_every_months"),
        )
        queries = st.number_input("Queries per month", 0, value=d.queries_per_month, step=100_000, key="cost_queries")
        tpq = st.number_input("Tokens per query", 1, value=d.tokens_per_query, step=5, key="cost_tokens_query")
        batch = st.checkbox(
            "Use batch prices for the corpus", value=d.use_batch_price, key="cost_batch", help=_help("use_batch_price")
        )
    with col2, st.container(border=True):
        st.markdown(md("**Self-hosting** (KnowledgeSDK's guide: one A10G, $1–2/h)"))
        gpu_name = st.text_input("GPU", value=d.gpu_name, key="cost_gpu_name")
        gpu_price = st.number_input(
            "GPU $/hour", 0.0, value=d.gpu_usd_per_hour, step=0.25, key="cost_gpu_price", help=_help("gpu_usd_per_hour")
        )
        always_on = st.checkbox(
            "GPU always on (serves queries online)", value=d.gpu_always_on, key="cost_always_on",
            help=_help("gpu_always_on"),
        )  # fmt: skip
        hours = st.number_input(
            "Billed hours per month (always on)", 0.0, 744.0, value=d.hours_per_month, step=10.0, key="cost_hours"
        )
        util = st.number_input(
            "GPU utilization, %", 1.0, 100.0, value=d.gpu_utilization * 100, step=5.0, key="cost_util",
            help=_help("gpu_utilization"),
        )  # fmt: skip
        cpu = cost.CPU_INSTANCE
        cpu_price = st.number_input(
            f"CPU instance $/hour ({d.cpu_name})", 0.0, value=d.cpu_usd_per_hour, step=0.01, format="%.4f",
            key="cost_cpu_price",
            help=md(f"Default: {cpu.name}, ${cpu.usd_per_hour:g}/h — "
                    f"{cpu.source}, {cpu.date} ({cpu.kind}). Its "
                    "throughput is the one this app measured on a CPU in your evaluation runs."),
        )  # fmt: skip
        p95_bound = st.number_input(
            "p95 query latency bound, ms", 1.0, value=d.max_query_p95_ms, step=10.0, key="cost_p95",
            help=_help("max_query_p95_ms"),
        )  # fmt: skip
        ops = st.number_input(
            "Engineering / ops $ per month", 0.0, value=d.selfhost_ops_usd_per_month, step=100.0, key="cost_ops",
            help=_help("selfhost_ops_usd_per_month"),
        )  # fmt: skip
        tpp = st.number_input(
            "Tokens per passage in the articles' latency figures", 1, value=d.seed_tokens_per_passage, step=32,
            key="cost_tpp", help=_help("seed_tokens_per_passage"),
        )  # fmt: skip
    with col3, st.container(border=True):
        st.markdown("**Vector storage**")
        precision = st.selectbox(
            "Precision",
            list(cost.PRECISIONS),
            index=list(cost.PRECISIONS).index(d.precision),
            key="cost_precision",
            help="float32 4 B, float16 2 B, int8 1 B, binary 1/8 B per dim",
        )
        dims = st.selectbox(
            "Stored dimensions (MRL)",
            DIM_CHOICES,
            index=0,
            format_func=lambda v: "full (each model's own)" if v is None else str(v),
            key="cost_dims",
            help="Truncate to this size where the model supports MRL; models without MRL keep their full size.",
        )
        overhead = st.number_input(
            "Index overhead ×", 1.0, value=d.index_overhead, step=0.1, key="cost_overhead", help=_help("index_overhead")
        )
        replicas = st.number_input("Replicas", 1, value=d.replicas, step=1, key="cost_replicas")
        storage_price = st.number_input(
            "Storage $ per GB-month", 0.0, value=d.storage_usd_per_gb_month, step=0.05, format="%.3f",
            key="cost_storage_price", help=_help("storage_usd_per_gb_month"),
        )  # fmt: skip
    return {
        "documents": int(documents),
        "chunks_per_document": float(chunks),
        "tokens_per_chunk": int(tpc),
        "growth_per_month": float(growth) / 100,
        "reembed_every_months": int(reembed),
        "queries_per_month": int(queries),
        "tokens_per_query": int(tpq),
        "use_batch_price": bool(batch),
        "gpu_name": gpu_name or "GPU",
        "gpu_usd_per_hour": float(gpu_price),
        "cpu_usd_per_hour": float(cpu_price),
        "max_query_p95_ms": float(p95_bound),
        "gpu_always_on": bool(always_on),
        "hours_per_month": float(hours),
        "gpu_utilization": float(util) / 100,
        "selfhost_ops_usd_per_month": float(ops),
        "seed_tokens_per_passage": int(tpp),
        "precision": str(precision),
        "dimensions": dims,
        "index_overhead": float(overhead),
        "replicas": int(replicas),
        "storage_usd_per_gb_month": float(storage_price),
    }


def throughput_inputs(open_models: Sequence[str], book: pricing.PriceBook, tokens_per_passage: int) -> dict[str, float]:
    """Per open-weight model, a measured tokens/second input; returns the figures entered (> 0)."""
    measured: dict[str, float] = {}
    if not open_models:
        return measured
    with st.expander("Self-hosting throughput per model (tokens/second on one GPU)", expanded=True):
        st.caption(
            "Derived from the articles' latency per batch of 32 passages (BGE-M3 ~5–15 ms, "
            "Qwen3-8B ~20–40 ms, small models 5–10× faster) with the tokens-per-passage "
            "assumption above. Enter a measured figure (e.g. from an evaluation run) to "
            "replace it; 0 keeps the published figure."
        )
        tcols = st.columns(min(len(open_models), 4))
        for i, m in enumerate(open_models):
            seed = cost.seed_throughput(m, book.effective[m].params_millions, tokens_per_passage)
            v = tcols[i % len(tcols)].number_input(
                f"{m.split('/')[-1]} measured tok/s",
                0.0,
                value=0.0,
                step=1000.0,
                key=f"cost_tps_{m}",
                help=f"Estimate from the articles' figures: {seed.tokens_per_second:,.0f} tok/s "
                f"(range {seed.low:,.0f}–{seed.high:,.0f}). {seed.basis}",
            )
            if v > 0:
                measured[m] = v
    return measured


def results(
    est: pd.DataFrame,
    a: cost.CostAssumptions,
    cheapest: pd.Series,
    why: str,
    measured_here: Mapping[str, cost.MeasuredSpeed],
    book: pricing.PriceBook,
    models: Sequence[str],
) -> None:
    """The headline metrics, the price warnings and the cost table with its chart."""
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        "Corpus today",
        f"{fmt.tokens(cost.corpus_tokens(a))} tokens",
        help="documents × chunks per document × tokens per chunk",
    )
    m2.metric(
        "Tokens embedded per month",
        fmt.tokens(cost.steady_tokens_per_month(a)),
        help="growth + re-embedding (spread over its interval) + queries; average of months 1–12",
    )
    m3.metric("Cheapest per month", fmt.usd(float(cheapest["usd_per_month"])), help=str(cheapest["option"]))
    m4.metric(
        "Cheapest, year 1 total",
        fmt.usd(float(cheapest["usd_first_year"])),
        help="one-off initial embedding + 12 average months",
    )
    st.caption(
        f"Cheapest within p95 ≤ {a.max_query_p95_ms:g} ms: **{cheapest['option']}** ({why}). Per month = average "
        "month of year 1; year 1 = one-off initial embedding + 12 months."
    )
    with st.expander(f"How {cheapest['option']} costs {fmt.usd(float(cheapest['usd_per_month']))} a month"):
        st.markdown(md("\n".join(f"{i}. {x}" for i, x in enumerate(cost.arithmetic(cheapest, a), 1))))
    st.caption(md(
        "Self-hosting throughput: "
        + ("; ".join(f"**{m.split('/')[-1]}** measured by this app in run {sp.run_id} on {sp.machine} "
                     f"({sp.docs_per_second:,.1f} documents/s, {sp.tokens_per_second:,.0f} tokens/s)"
                     for m, sp in measured_here.items()) + "; other models: " if measured_here else "")
        + "the articles' published GPU figures by model size. CPU options exist only for models this app measured."
    ))  # fmt: skip
    lines = pricing.check_lines(book, models)
    if lines:
        head = "**Check these prices** (or override them at the bottom of the page):"
        st.warning(md("\n".join([head, *lines])), icon=":material/warning:")
    for m in models:
        rec = book.effective[m]
        if rec.is_override:
            st.info(md(f"**{rec.display_name}**: ✎ {rec.source_label}"), icon=":material/edit:")
    dollars = {"format": "dollar"}
    st.dataframe(
        est,
        hide_index=True,
        column_order=COST_COLUMNS,
        column_config={
            "option": st.column_config.TextColumn("model · deployment", pinned=True),
            "price_per_1m": st.column_config.NumberColumn("$/1M tokens", format="$%.3f"),
            "price_flags": st.column_config.TextColumn("price flags", width="medium"),
            "usd_per_month": st.column_config.NumberColumn("$/month", **dollars),
            "usd_first_year": st.column_config.NumberColumn("$ year 1", **dollars),
            "initial_usd": st.column_config.NumberColumn("initial embed $", **dollars),
            "embedding_usd_per_month": st.column_config.NumberColumn("embedding $/mo", **dollars),
            "ops_usd_per_month": st.column_config.NumberColumn("ops $/mo", **dollars),
            "storage_usd_per_month": st.column_config.NumberColumn("storage $/mo", **dollars),
            "storage_gb": st.column_config.NumberColumn("storage GB (yr-1 end)", format="%.1f"),
            "tokens_per_month": st.column_config.NumberColumn("tokens/mo", format="compact"),
            "tokens_per_second": st.column_config.NumberColumn("tok/s per instance", format="compact"),
            "gpus": st.column_config.NumberColumn("instances"),
            "query_p95_ms": st.column_config.NumberColumn("query p95 ms", format="%.1f"),
            "meets_latency": st.column_config.CheckboxColumn("meets p95 bound"),
            "price_source": st.column_config.TextColumn("price source (kind, date) / throughput basis", width="medium"),
        },
        key="cost_table",
    )
    st.plotly_chart(charts.monthly_cost_chart(est), key="cost_chart_monthly")


def break_even(options: Sequence[cost.CostOption], a: cost.CostAssumptions) -> None:
    """API vs self-hosting: the volume chart, the guide's claim checked, the break-even table."""
    st.subheader("API vs self-hosting: break-even")
    api_opts = [o for o in options if o.deployment == "api"]
    sh_opts = [o for o in options if o.hardware == "gpu"]  # the break-even sweeps GPU prices
    st.plotly_chart(
        charts.cost_vs_volume_chart(cost.cost_vs_volume(options, a), cost.steady_tokens_per_month(a)),
        key="cost_chart_volume",
    )
    if not (api_opts and sh_opts):
        st.caption("Pick at least one API-priced and one open-weight model to compare.")
        return
    api_pick = st.selectbox(
        "Compare self-hosting against",
        api_opts,
        format_func=lambda o: f"{o.label} (${o.price.price_per_1m_tokens:g}/1M)",
        key="cost_be_api",
    )
    price = float(api_pick.price.price_per_1m_tokens)  # type: ignore[union-attr]
    gpu_prices = sorted({*cost.SEED_GPU_USD_PER_HOUR, a.gpu_usd_per_hour})
    be = cost.break_even_table([api_pick], sh_opts, a, gpu_prices)
    first_sh = sh_opts[0]
    tps = first_sh.throughput.tokens_per_second  # type: ignore[union-attr]
    be_now = cost.break_even_tokens_per_month(price, tps, a)
    floor = cost.break_even_throughput(price, a)
    st.info(
        md(
            'KnowledgeSDK\'s guide: *"at scale (>100M tokens/month), self-hosting pays for itself"*. '
            f"With these assumptions ({a.gpu_name} at ${a.gpu_usd_per_hour:g}/h, "
            f"{'always on' if a.gpu_always_on else 'billed per hour used'}, "
            f"${a.selfhost_ops_usd_per_month:,.0f}/month ops), self-hosting "
            f"**{first_sh.label}** breaks even with **{api_pick.label}** at "
            f"**{fmt.tokens(be_now) if be_now is not None else 'never'} tokens/month**"
            + (f" ({be_now / cost.SEED_BREAK_EVEN_CLAIM_TOKENS:,.0f}× the guide's figure)" if be_now else "")
            + f". Below **{floor:,.0f} tok/s** per GPU it never pays off against this API "
            f"(${price:g}/1M: {api_pick.price.source_label})."  # type: ignore[union-attr]
        ),
        icon=":material/balance:",
    )
    st.dataframe(
        be.drop(columns=["api", "api_price_per_1m"]),
        hide_index=True,
        column_config={
            "self_host": "self-host",
            "gpu_usd_per_hour": st.column_config.NumberColumn("GPU $/h", format="$%.2f"),
            "tokens_per_second": st.column_config.NumberColumn("GPU tok/s", format="compact"),
            "break_even_tokens_per_month": st.column_config.NumberColumn(
                "break-even tokens/month",
                format="compact",
                help="Empty: never (each GPU costs more than the API for what it embeds)",
            ),
            "vs_seed_claim": st.column_config.NumberColumn("× guide's ~100M", format="%.0f×"),
        },
        key="cost_break_even_table",
    )
    st.plotly_chart(
        charts.break_even_vs_throughput_chart(
            cost.break_even_vs_throughput(price, a),
            {o.label: o.throughput.tokens_per_second for o in sh_opts if o.throughput},
            api_pick.label,
        ),
        key="cost_chart_throughput",
    )


def storage(options: Sequence[cost.CostOption], a: cost.CostAssumptions) -> None:
    """Storage by dimensions × precision: chart and table."""
    st.subheader("Storage by dimensions × precision")
    vectors = cost.corpus_vectors(a, 12)
    grid_dims = sorted({d for o in options for d in (o.native_dimensions, *o.mrl_options)})
    grid = cost.storage_grid(vectors, grid_dims, a)
    st.caption(
        md(
            f"{fmt.tokens(vectors)} vectors at the end of year 1 × dims × bytes per dim × "
            f"{a.index_overhead:g} index overhead × {a.replicas} replica(s), at "
            f"${a.storage_usd_per_gb_month:g}/GB-month. Dimensions: the shortlist's full sizes and "
            "MRL options."
        )
    )
    st.plotly_chart(charts.storage_chart(grid, vectors), key="cost_chart_storage")
    with st.expander("Storage table"):
        st.dataframe(
            grid,
            hide_index=True,
            key="cost_storage_table",
            column_config={
                "gb": st.column_config.NumberColumn("GB", format="%.2f"),
                "usd_per_month": st.column_config.NumberColumn("$/month", format="dollar"),
            },
        )


def sources_and_assumptions(
    book: pricing.PriceBook, models: Sequence[str], a: cost.CostAssumptions, d: cost.CostAssumptions
) -> None:
    """Every price source of the chosen models, and every assumption as used vs its default."""
    with st.expander("Every source for the models above (conflicting sources side by side)"):
        df = pricing.prices_frame(book)
        st.dataframe(
            df[df["model"].isin(models)],
            hide_index=True,
            key="cost_sources_table",
            column_config={
                "source_url": st.column_config.LinkColumn("link"),
                "used": st.column_config.CheckboxColumn("used"),
            },
        )
    with st.expander("All assumptions as used"):
        st.dataframe(
            pd.DataFrame(
                [
                    {"assumption": f.name, "value": str(getattr(a, f.name)), "default": str(getattr(d, f.name))}
                    for f in fields(a)
                ]
            ),
            hide_index=True,
            key="cost_assumptions_table",
        )
