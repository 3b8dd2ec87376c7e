from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import store


def _app(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("EMS_DB", str(db))
    return AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)


def test_shows_mtebs_table_with_provenance(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _app(monkeypatch, lb_db).run()
    assert not at.exception
    assert at.selectbox(key="lb_benchmark").value == "MTEB(eng, v2)"
    df = at.dataframe[0].value
    assert len(df) == 317
    top = df.set_index("Rank (Borda)")
    assert top.loc[1, "Model"] == "jcorners/ingot-8b-r3"
    assert round(top.loc[1, "Mean (Task)"], 2) == 75.98  # shown x100
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "mteb 2.26.24" in sidebar and "1,293,183 results" in sidebar


def test_switching_benchmark_recomputes(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _app(monkeypatch, lb_db).run()
    at.selectbox(key="lb_benchmark").select("MTEB(Multilingual, v2)").run()
    assert not at.exception
    df = at.dataframe[0].value
    assert len(df) == 426
    assert "BitextMining" in df.columns


def test_first_start_with_a_broken_source_shows_the_reason_expanded_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "empty2.duckdb"
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(tmp_path / "missing-copy"))
    at = _app(monkeypatch, db).run()
    assert not at.exception
    # The failure is in an expanded status box whose label carries the specific reason.
    failed = [s for s in at.status if s.state == "error"]
    assert failed and failed[0].proto.expanded
    assert "does not exist" in failed[0].label and "missing-copy" in failed[0].label
    assert any("does not exist" in e.value for e in at.error)
    text = at.info[0].value  # and the page says how to get data
    assert "python -m lib refresh" in text and "EMS_MTEB_RESULTS" in text and "snapshot" in text
    assert not at.dataframe
    # Nothing half-written: no leaderboard file, no temporary file left beside it.
    assert not [p.name for p in tmp_path.iterdir() if "leaderboard" in p.name]
    store.close(db)


def test_first_start_loads_by_itself(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared_dir: Path) -> None:
    db = tmp_path / "load.duckdb"
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(shared_dir / "mteb-results"))
    at = _app(monkeypatch, db).run(timeout=300)  # no button, no command
    assert not at.exception
    assert len(at.dataframe[0].value) == 317
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "EMS_MTEB_RESULTS" in sidebar and "date of the results unknown" in sidebar


def test_first_start_offline_uses_the_bundled_snapshot_and_says_it_is_stale(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("EMS_MTEB_RESULTS", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = _app(monkeypatch, tmp_path / "fresh.duckdb").run(timeout=300)
    assert not at.exception
    assert len(at.dataframe[0].value) == 317
    sidebar = " ".join(c.value for c in at.sidebar.caption)
    assert "the bundled snapshot: mteb/results@f4cc6c8b365a" in sidebar
    assert "results dated **2026-08-20**" in sidebar
    # Today's date decides staleness: the snapshot is older than 90 days from 2026-11-18 on.
    import datetime as dt

    if (dt.datetime.now(dt.UTC).date() - dt.date(2026, 8, 20)).days > 90:
        warning = " ".join(w.value for w in at.sidebar.warning)
        assert "older than 90 days" in warning and "python -m lib refresh" in warning


def test_page_render_never_imports_mteb(lb_db: Path) -> None:
    import subprocess
    import sys

    store.close(lb_db)
    root = Path(__file__).resolve().parent.parent
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({str(root / 'app.py')!r}, default_timeout=120).run()\n"
        "assert not at.exception, at.exception\n"
        "assert len(at.dataframe[0].value) == 317\n"
        "print('mteb' in sys.modules, 'torch' in sys.modules)\n"
    )
    env = {**__import__("os").environ, "EMS_DB": str(lb_db)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180, cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "False False"


# --- Explorer (issue 5) ------------------------------------------------------------------


def _table(at: AppTest):  # the explorer table is the first dataframe on the Table tab
    return at.dataframe[0].value


def test_licence_group_filter_leaves_only_that_group(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _app(monkeypatch, lb_db).run()
    at.multiselect(key="lb_lgroups").select("non-commercial").run()
    assert not at.exception
    df = _table(at)
    assert 0 < len(df) < 317 and set(df["License group"]) == {"non-commercial"}
    at.multiselect(key="lb_lgroups").unselect("non-commercial").run()
    at.toggle(key="lb_commercial").set_value(True).run()
    assert set(_table(at)["License group"]) <= {"permissive", "proprietary API"}


def test_dimension_range_excludes_models_outside(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    from lib import pricing
    from lib.leaderboard import explorer, queries

    offered = explorer.model_attributes(queries.models(lb_db), pricing.load_prices())["Dims offered"]
    at = _app(monkeypatch, lb_db).run()
    full = _table(at)
    at.select_slider(key="lb_dims").set_range(256, 768).run()
    assert not at.exception
    df = _table(at)
    assert 0 < len(df) < len(full)
    # Every model shown offers a size in range (natively or by Matryoshka truncation) ...
    assert all(any(256 <= d <= 768 for d in offered[m]) for m in df["Model"])
    assert df["Embedding Dimensions"].astype(float).between(256, 768).mean() > 0.8
    # ... and every model that offers none is gone.
    outside = [m for m in full["Model"] if not any(256 <= d <= 768 for d in offered[m])]
    assert "jcorners/ingot-8b-r3" in outside  # 4096 dims, no smaller size offered
    assert not set(outside) & set(df["Model"])


def test_task_subset_reranks_like_mteb(
    monkeypatch: pytest.MonkeyPatch, lb_db: Path, results_parquet: list[Path]
) -> None:
    from lib.leaderboard import queries
    from tests.reference.mteb_tables import mteb_summary

    at = _app(monkeypatch, lb_db).run()
    full = _table(at).set_index("Model")["Rank (Borda)"]
    at.multiselect(key="lb_types").select("Retrieval").select("STS").run()
    assert not at.exception
    ours = _table(at).set_index("Model")["Rank (Borda)"]
    tasks = queries.benchmark_tasks("MTEB(eng, v2)", lb_db)
    subset = tasks[tasks["type"].isin(["Retrieval", "STS"])]["task_name"].tolist()
    theirs = mteb_summary("MTEB(eng, v2)", results_parquet, tasks=subset).set_index("Model")["Rank (Borda)"]
    common = ours.index.intersection(theirs.index)
    assert len(common) >= 300
    assert (ours[common].astype(int) == theirs[common].astype(int)).all()
    assert (full.reindex(common) != ours[common]).any()  # the subset really re-ranked


def test_weights_pins_and_sort(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _app(monkeypatch, lb_db)
    at.query_params["lb_weighted"] = "true"
    at.query_params["lb_w_Retrieval"] = "70"
    at.query_params["lb_w_STS"] = "30"
    for t in ("Clustering", "Reranking", "Classification", "PairClassification", "Summarization"):
        at.query_params[f"lb_w_{t}"] = "0"
    at.query_params["lb_pins"] = ["BAAI/bge-m3", "intfloat/multilingual-e5-small"]
    at.query_params["lb_sort"] = "Rank (weighted)"
    at.run()
    assert not at.exception
    df = _table(at)
    assert df["Model"].iloc[:2].tolist() == ["BAAI/bge-m3", "intfloat/multilingual-e5-small"]
    rest = df.iloc[2:].dropna(subset=["Weighted score"])
    assert rest["Rank (weighted)"].is_monotonic_increasing and rest["Rank (weighted)"].iloc[0] == 1
    top = rest.iloc[0]
    assert abs(top["Weighted score"] - (0.7 * top["Retrieval"] + 0.3 * top["STS"])) < 1e-9
    assert any("Retrieval 70%" in c.value for c in at.caption)


def test_url_restores_view_and_compare(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    from lib.leaderboard.filters import LeaderboardFilters

    f = LeaderboardFilters(
        license_groups=("permissive",), dims=(256, 1024), pins=("BAAI/bge-m3", "intfloat/multilingual-e5-small")
    )
    at = _app(monkeypatch, lb_db)
    for k, v in {**f.to_query_params(), "lb_view": "Compare"}.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert at.multiselect(key="lb_lgroups").value == ["permissive"]
    assert at.select_slider(key="lb_dims").value == (256, 1024)
    assert at.multiselect(key="lb_pins").value == ["BAAI/bge-m3", "intfloat/multilingual-e5-small"]
    facts, tasks = at.dataframe[0].value, at.dataframe[1].value
    assert list(facts.columns) == ["BAAI/bge-m3", "intfloat/multilingual-e5-small"]
    spread = tasks["Spread"].dropna()
    assert spread.is_monotonic_decreasing and len(spread) > 5


def test_charts_detail_and_shortlist(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _app(monkeypatch, lb_db)
    at.query_params["lb_pins"] = ["intfloat/multilingual-e5-small", "openai/text-embedding-3-small"]
    at.query_params["lb_view"] = "Charts"
    at.run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 5  # params, price, dims, date, radar: all SVG, well under 8 WebGL contexts
    at.query_params["lb_view"] = "Model detail"  # a bound tab follows the URL, as a pasted link would
    at.run()
    assert not at.exception
    assert any(h.value == "intfloat/multilingual-e5-small" for h in at.subheader)
    text = " ".join(m.value for m in at.markdown)
    assert "not zero-shot" in text and "ModelMeta" in text
    at = _app(monkeypatch, lb_db)
    at.query_params["lb_pins"] = ["intfloat/multilingual-e5-small", "openai/text-embedding-3-small"]
    at.run()
    next(b for b in at.button if b.label == "Add pinned to shortlist").click().run()
    assert at.session_state["ems_shortlist"] == ["intfloat/multilingual-e5-small", "openai/text-embedding-3-small"]
    # (the sidebar text itself is checked in the browser test: AppTest mixes up sidebar deltas on reruns)
