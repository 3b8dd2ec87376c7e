"""The explorer's view state (URL round trip), licence groups, task subsets and model filters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lib import pricing
from lib.leaderboard import explorer, queries
from lib.leaderboard.filters import LeaderboardFilters, select_tasks
from lib.leaderboard.ranking import summary_table

FULL = LeaderboardFilters(
    benchmark="MTEB(Multilingual, v2)",
    task_types=("Retrieval", "STS"),
    tasks=("ArguAna",),
    languages=("deu", "fra"),
    domains=("Legal",),
    modalities=("text",),
    license_groups=("permissive", "proprietary API"),
    licenses=("mit",),
    commercial_only=True,
    open_weights="open",
    dims=(256, 1024),
    price=(0, 0.02),
    include_unpriced=False,
    params=(100e6, 1e9),
    memory_gb=(0.5, 4),
    include_unknown_size=False,
    min_max_tokens=8192,
    instructions="yes",
    zero_shot="only",
    mrl_only=True,
    search="e5",
    weighted=True,
    weights=(("Retrieval", 70.0), ("STS", 30.0)),
    pins=("BAAI/bge-m3", "intfloat/multilingual-e5-small"),
    sort="Retrieval",
    sort_reverse=True,
)


def test_url_round_trip_restores_every_field() -> None:
    params = FULL.to_query_params()
    assert LeaderboardFilters.from_query_params(params) == FULL
    # The widget formats: range labels, radio labels, repeated list params.
    assert params["lb_params"] == ["100M", "1B"]
    assert params["lb_price"] == ["$0", "$0.02"]
    assert params["lb_open"] == "Open weights"
    assert params["lb_pins"] == ["BAAI/bge-m3", "intfloat/multilingual-e5-small"]
    assert params["lb_w_Retrieval"] == "70"


def test_defaults_make_an_empty_url_and_junk_is_ignored() -> None:
    assert LeaderboardFilters().to_query_params() == {}
    f = LeaderboardFilters.from_query_params(
        {"lb_dims": ["7", "1024"], "lb_open": "sometimes", "lb_w_STS": "-3", "lb_maxtok": "12", "other": "x"}
    )
    assert f == LeaderboardFilters()


def test_select_tasks_by_type_language_and_name(lb_db: Path) -> None:
    tasks = queries.benchmark_tasks("MTEB(eng, v2)", lb_db)
    assert select_tasks(tasks, LeaderboardFilters()) is None
    retrieval = select_tasks(tasks, LeaderboardFilters(task_types=("Retrieval",)))
    assert retrieval and set(tasks.set_index("task_name").loc[retrieval, "type"]) == {"Retrieval"}
    assert select_tasks(tasks, LeaderboardFilters(task_types=("Retrieval",), tasks=("ArguAna", "STS12"))) == ["ArguAna"]
    multi = queries.benchmark_tasks("MTEB(Multilingual, v2)", lb_db)
    deu = select_tasks(multi, LeaderboardFilters(languages=("deu",)))
    assert deu and all("deu" in set(ls) for ls in multi.set_index("task_name").loc[deu, "languages"])


@pytest.fixture(scope="module")
def view_inputs(lb_db: Path) -> tuple[object, pd.DataFrame, dict[str, str]]:
    table = summary_table("MTEB(eng, v2)", lb_db)
    attrs = explorer.model_attributes(queries.models(lb_db), pricing.load_prices())
    tasks = queries.benchmark_tasks("MTEB(eng, v2)", lb_db)
    return table, attrs, dict(zip(tasks["task_name"], tasks["type"], strict=True))


def _view(inputs: tuple[object, pd.DataFrame, dict[str, str]], **kw: object) -> pd.DataFrame:
    table, attrs, types = inputs
    return explorer.build_view(table, attrs, None, LeaderboardFilters(**kw), types).table  # type: ignore[arg-type]


def test_model_filters(view_inputs: tuple[object, pd.DataFrame, dict[str, str]]) -> None:
    full = _view(view_inputs)
    assert len(full) == 317
    nc = _view(view_inputs, license_groups=("non-commercial",))
    assert 0 < len(nc) < len(full) and set(nc["License group"]) == {"non-commercial"}
    com = _view(view_inputs, commercial_only=True)
    assert set(com["License group"]) <= {"permissive", "proprietary API"}
    dims = _view(view_inputs, dims=(256, 768))
    assert all(any(256 <= d <= 768 for d in ds) for ds in dims["Dims offered"])
    assert "openai/text-embedding-3-large" in set(dims["Model"])  # MRL 256 is in range
    outside = full[full["Dims offered"].map(lambda ds: all(d > 768 or d < 256 for d in ds))]
    assert len(outside) and not set(outside["Model"]) & set(dims["Model"])
    cheap = _view(view_inputs, price=(0, 0.02), include_unpriced=False)
    assert cheap["Price ($/1M tok)"].between(0, 0.02).all()
    small = _view(view_inputs, params=(0, 300e6), include_unknown_size=False)
    assert (small["Total Parameters (B)"].astype(float) <= 0.3).all()
    api = _view(view_inputs, open_weights="closed")
    assert set(api["License group"]) == {"proprietary API"}
    zs = _view(view_inputs, zero_shot="only")
    assert (zs["Zero-shot"] == 100).all()
    mrl = _view(view_inputs, mrl_only=True)
    assert mrl["MRL"].all() and mrl["Dims offered"].map(len).min() > 1
    e5 = _view(view_inputs, search="E5")
    assert e5["Model"].str.lower().str.contains("e5").all()
    toks = _view(view_inputs, min_max_tokens=8192)
    assert (toks["Max Tokens"].astype(float) >= 8192).all()


def test_pins_on_top_and_kept_through_filters(view_inputs: tuple[object, pd.DataFrame, dict[str, str]]) -> None:
    pins = ("BAAI/bge-m3", "intfloat/multilingual-e5-small")
    v = _view(view_inputs, pins=pins, license_groups=("non-commercial",))
    assert tuple(v["Model"].iloc[:2]) == pins and v["Pinned"].iloc[:2].all()
    assert set(v["License group"].iloc[2:]) == {"non-commercial"}


def test_weighted_score_and_rank(view_inputs: tuple[object, pd.DataFrame, dict[str, str]]) -> None:
    v = _view(view_inputs, weighted=True, weights=(("Retrieval", 70.0), ("STS", 30.0)), sort="Rank (weighted)")
    row = v.dropna(subset=["Weighted score"]).iloc[0]
    assert row["Rank (weighted)"] == 1
    assert row["Weighted score"] == pytest.approx(0.7 * row["Retrieval"] + 0.3 * row["STS"])
    assert explorer.normalise_weights({"Retrieval": 70, "STS": 30, "Nope": 5}, ["Retrieval", "STS"]) == {
        "Retrieval": 0.7,
        "STS": 0.3,
    }


def test_prices_api_and_selfhost_estimates(view_inputs: tuple[object, pd.DataFrame, dict[str, str]]) -> None:
    _, attrs, _ = view_inputs
    small = attrs.loc["openai/text-embedding-3-small"]
    assert small["Price ($/1M tok)"] == 0.02 and small["Price basis"] == "api" and small["Price source"]
    est = attrs[attrs["Price basis"] == explorer.EST_SELFHOST]
    assert len(est) > 100 and est["Open weights"].all() and est["Price source"].isna().all()
    assert explorer.selfhost_price_per_1m(None) is None
    assert explorer.selfhost_price_per_1m(8e9) > explorer.selfhost_price_per_1m(100e6)  # type: ignore[operator]


def test_from_session_rebuilds_every_widget_value() -> None:
    from lib.leaderboard.filters import DEFAULT_WEIGHT, PARAM_KEYS, WEIGHT_PREFIX

    skip = {"benchmark", "weights"}
    state: dict[str, object] = {PARAM_KEYS[n]: getattr(FULL, n) for n in PARAM_KEYS if n not in skip}
    state[PARAM_KEYS["pins"]] = list(FULL.pins)  # multiselects hold lists
    state.update({WEIGHT_PREFIX + t: w for t, w in FULL.weights})
    assert LeaderboardFilters.from_session(state, FULL.benchmark, ["Retrieval", "STS"]) == FULL
    # Empty widgets keep the defaults; a type without its weight widget gets the default weight.
    empty = {PARAM_KEYS["tasks"]: [], PARAM_KEYS["search"]: None, PARAM_KEYS["min_max_tokens"]: None}
    f = LeaderboardFilters.from_session(empty, "MTEB(eng, v2)", ["Clustering"])
    assert f == LeaderboardFilters(benchmark="MTEB(eng, v2)", weights=(("Clustering", float(DEFAULT_WEIGHT)),))
    assert LeaderboardFilters.from_session({}, "X").weights == ()


def test_sort_columns_order_and_weighted_columns() -> None:
    class Summary:
        rank_col = "Rank (Borda)"
        mean_cols = ("Mean (Task)", "Mean (TaskType)")

    cols = explorer.sort_columns(Summary(), ["Retrieval", "STS"])  # type: ignore[arg-type]
    assert cols[:5] == ["Rank (Borda)", "Mean (Task)", "Mean (TaskType)", "Retrieval", "STS"]
    assert cols[-1] == "Model" and explorer.PRICE_COL in cols and explorer.WEIGHTED_COL not in cols
    weighted = explorer.sort_columns(Summary(), ["Retrieval", "Retrieval"], weighted=True)
    assert weighted[1:3] == [explorer.WEIGHTED_RANK_COL, explorer.WEIGHTED_COL]
    assert len(weighted) == len(set(weighted))
