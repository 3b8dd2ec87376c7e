"""Cost: what each shortlisted model costs per month and per year, API vs self-hosting,
and storage by dimensions × precision. Every price shows its source and date.

Thin page: widgets (ui.cost) → lib.pricing / lib.cost → render (ui.cost, lib.charts.cost).
Results are left in ``st.session_state`` for the leaderboard's price filter / Pareto chart and
the report: ``state.PRICE_OVERRIDES`` (list[PriceOverride]), ``state.COST_ASSUMPTIONS``
(CostAssumptions), ``state.COST_ESTIMATES`` (DataFrame from lib.cost.estimates_frame).
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from lib import cost, pricing
from lib.errors import UserError
from ui import cost as view
from ui import data, ensure_router, state

ensure_router()

DEFAULT_MODELS = [
    "openai/text-embedding-3-small",
    "openai/text-embedding-3-large",
    "BAAI/bge-m3",
    "Qwen/Qwen3-Embedding-8B",
]
D = cost.CostAssumptions()  # defaults live in lib, shown and editable here

st.title("Cost")
st.caption(
    "What each model costs per month and per year, API vs self-hosting, and what the vectors "
    "cost to store. Every price shows its source and the date it was checked; "
    "**⚠ stale** marks prices checked more than 180 days ago, **⚠ sources disagree** marks "
    "models whose sources give different prices. Every assumption below is editable."
)

# Visual order of the page; filled out of order because the price editor (near the bottom)
# must be read before costs are computed.
c_models = st.container()
c_inputs = st.container()
c_results = st.container()
c_breakeven = st.container()
c_storage = st.container()
c_prices = st.container()

# ---- prices: published + local file + the session editor -----------------------------
try:
    published = view.published_prices()
except UserError as exc:
    st.error(str(exc))
    st.stop()
file_overrides = view.file_overrides()

with c_prices:
    edited = view.price_editor(pricing.editor_rows(published, file_overrides))
    session_overrides, all_yours = pricing.overrides_from_editor(edited, file_overrides)
    view.save_button(all_yours, date.today())
    st.session_state[state.PRICE_OVERRIDES] = session_overrides

book = pricing.build_price_book(published, [*file_overrides, *session_overrides])

# ---- models ------------------------------------------------------------------------------
with c_models:
    known = list(book.effective)
    shortlist = list(st.session_state.get(state.SHORTLIST) or [])
    resolved = [pricing.resolve_model_name(m, book.effective) for m in shortlist]
    unpriced = [m for m, r in zip(shortlist, resolved, strict=True) if r is None]
    default = [r for r in resolved if r] or [m for m in DEFAULT_MODELS if m in known]
    default = list(dict.fromkeys(default))
    models = st.multiselect(
        "Models to cost" + (" (from your shortlist)" if shortlist else ""),
        options=known,
        default=default,
        key="cost_models",
        help="Starts from the shortlist other pages build; add or remove any priced model. "
        "Open-weight models are costed twice: at a hosting provider's price and self-hosted.",
    )
    if unpriced:
        st.info(
            "No price data for "
            + ", ".join(f"`{m}`" for m in unpriced)
            + ": give it a price in the table at the bottom of the page."
        )
    if not models:
        st.warning("Pick at least one model.")
        st.stop()

# ---- assumptions -------------------------------------------------------------------------
with c_inputs:
    inputs = view.assumption_inputs(D)
    open_models = [m for m in models if book.effective[m].open_weights]
    measured = view.throughput_inputs(open_models, book, inputs["seed_tokens_per_passage"])

try:
    a = cost.CostAssumptions(**inputs)
    try:
        speeds = data.measured_speeds()
    except UserError as exc:  # e.g. the database is held by another process: published figures only
        st.warning(f"Measured speeds of your runs are not available ({exc}); using published figures only.")
        speeds = {}
    options = cost.options_for_models(models, book.effective, a, measured, speeds, data.api_latency())
    estimates = [cost.estimate(o, a) for o in options]
except UserError as exc:
    st.error(str(exc))
    st.stop()
est = cost.estimates_frame(estimates)
st.session_state[state.COST_ASSUMPTIONS] = a
st.session_state[state.COST_ESTIMATES] = est

# ---- results -----------------------------------------------------------------------------
with c_results:
    st.subheader("Cost per month and per year")
    cheapest, why = cost.cheapest_meeting_latency(est)
    if cheapest is None:
        st.warning("None of these models has a price or open weights to cost.")
        st.stop()
    measured_here = {m: sp for m, sp in speeds.items() if m in models}
    view.results(est, a, cheapest, why, measured_here, book, models)

with c_breakeven:
    view.break_even(options, a)

with c_storage:
    view.storage(options, a)

with c_prices:
    view.sources_and_assumptions(book, models, a, D)
