"""Reranked systems (``FIRST>>cross:…``, ``FIRST>>rerank:…``): specs, a real CrossEncoder, a fake /rerank API.

No cross-encoder ships offline, so one is made here from the packaged MiniLM weights (a few
training steps on demo pairs): the point is the real code path, not its quality. Its reranking is
checked against CrossEncoder.predict run here on each query's top-N, and the stored metrics
against pytrec_eval on that independent ranking.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import pytrec_eval

from lib import store
from lib.errors import UserError
from lib.evaluation import engine, models, runs, timing
from lib.evaluation.models import hybrid, rerank, sbert
from lib.evaluation.models.rerank_api import RerankAPI
from tests.fake_rerank import FakeRerank, fake_score, fake_tokens

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
KEY = "rk-test-0123456789abcdef"
FAST = {"sweep": False, "bootstrap_resamples": 100, "paired_resamples": 200}


def _cfg(*specs: str, **kw: object) -> engine.EvaluationConfig:
    return engine.EvaluationConfig(models=specs, **{**FAST, **kw})  # type: ignore[arg-type]


def _result_rows(db: Path) -> int:
    counts = runs.row_counts(db)
    return sum(v for t, v in counts.items() if t != "eval_runs")


def _stored_text(db: Path) -> str:
    """Everything stored, as text (to look for a key that must never be there)."""
    out = []
    with store.connect(db) as cur:
        for t in ("eval_runs", "eval_run_models", "eval_summary", "eval_topk"):
            out.append(cur.execute(f"SELECT * FROM {t}").df().to_csv())
    return "\n".join(out)


# --------------------------------------------------------------------------- specs


def test_specs_parse_and_label() -> None:
    r = rerank.parse("minilm>>cross:/models/my-ce?top_n=20&batch_size=8")
    assert (r.first, r.stage, r.name, r.top_n, r.kind) == ("minilm", "cross", "/models/my-ce", 20, "cross-encoder")
    assert r.second == "cross:/models/my-ce?top_n=20&batch_size=8"
    assert rerank.parse("minilm>>cross:x").top_n == 50  # the default depth
    h = rerank.parse("bm25+minilm#rrf:k=20>>rerank:jina-reranker-v2?base_url=http://127.0.0.1:8080")
    assert h.first == "bm25+minilm#rrf:k=20" and h.stage == "rerank" and h.kind == "rerank-api"
    # ">>" is read first: a reranked spec is never a hybrid, though its first stage may be.
    assert not hybrid.is_hybrid("bm25+minilm>>cross:x") and hybrid.is_hybrid(h.first)
    assert rerank.is_reranked("bm25+minilm>>cross:x") and not rerank.is_reranked("bm25+minilm")
    assert models.display_label("minilm>>cross:/models/my-ce") == "all-MiniLM-L6-v2 → rerank top-50 by my-ce"
    assert models.display_label(
        "bm25+minilm>>rerank:jina/jina-reranker-v2?base_url=http://h:1&top_n=10"
    ) == "BM25 + all-MiniLM-L6-v2 (RRF k=60) → rerank top-10 by jina-reranker-v2"
    assert models.display_label("minilm>>nonsense") == "minilm>>nonsense"  # never raises


@pytest.mark.parametrize(("text", "message"), [
    (">>cross:/x", "first stage before '>>' is empty"),
    ("minilm>>", "reranker after '>>' is empty"),
    ("minilm>>  ", "reranker after '>>' is empty"),
    ("minilm>>colbert:/x", "unknown reranker 'colbert:/x'"),
    ("minilm>>/x", "unknown reranker"),
    ("minilm>>cross:", "give the cross-encoder's folder or hub name"),
    ("minilm>>rerank:?base_url=http://h", "give the API's model name"),
    ("minilm>>cross:/x?top_n=0", "top_n must be a whole number ≥ 1"),
    ("minilm>>cross:/x?top_n=-3", "top_n must be a whole number ≥ 1"),
    ("minilm>>cross:/x?top_n=ten", "top_n must be a whole number ≥ 1"),
    ("minilm>>cross:/x?colour=red", "unknown option.*colour"),
    ("minilm>>cross:/x?base_url=http://h", "unknown option.*base_url"),
    ("minilm>>cross:/x?batch_size=0", "batch_size must be a positive integer"),
    ("minilm>>rerank:m", "give the server"),
    ("minilm>>rerank:m?base_url=ftp://h", "base_url must start with http"),
    ("minilm>>rerank:m?base_url=http://h&timeout=0", "timeout must be more than 0"),
    ("minilm>>rerank:m?base_url=http://h&price_per_mtok=cheap", "price_per_mtok must be a number"),
    ("minilm>>cross:/a>>cross:/b", "only one reranking stage"),
])
def test_bad_specs_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        rerank.parse(text)


def test_registry_refuses_a_reranked_spec_as_one_model() -> None:
    with pytest.raises(UserError, match="reranked system"):
        models.resolve("minilm>>cross:/x")


@pytest.mark.parametrize(("spec", "message"), [
    ("bm25>>cross:/x?top_n=101", "top_n=101 is more than the 100 documents"),
    ("bm25>>colbert:/x", "unknown reranker"),
    ("bm25>>cross:/x?top_n=0", "top_n must be"),
    ("bm25+>>cross:/x", "two or more"),  # the first stage is checked too
    ("no/such-first-stage>>cross:/x", "neither a local folder"),
    ("bm25>>cross:nobody/no-such-reranker", r"no-such-reranker.*hub is offline \(HF_HUB_OFFLINE=1\)"),
    ("bm25>>cross:minilm", "is not a cross-encoder"),  # an embedding model's folder
])
def test_invalid_reranked_systems_store_nothing(tmp_path: Path, spec: str, message: str) -> None:
    db = tmp_path / "bad.duckdb"
    before = runs.row_counts(db)
    with pytest.raises(UserError, match=message):
        engine.evaluate(DEMO, _cfg("bm25", spec), db_path=db)
    assert runs.row_counts(db) == before
    assert runs.list_runs(db).empty


def test_top_n_above_a_lower_retrieve_k_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="top_n=50 is more than the 30 documents"):
        engine.evaluate(DEMO, _cfg("bm25>>cross:/x", retrieve_k=30), db_path=tmp_path / "k.duckdb")
    assert runs.list_runs(tmp_path / "k.duckdb").empty


def test_time_estimate_names_both_stages() -> None:
    (est,) = timing.estimate(["bm25>>cross:/nowhere"], 100, 10, {})
    assert est.seconds is None and "cannot resolve" in est.basis
    (est,) = timing.estimate(["bm25>>rerank:m?base_url=http://127.0.0.1:9&top_n=7"], 100, 10, {})
    assert "first stage" in est.basis and "reranking 7 documents" in est.basis


# --------------------------------------------------------------------------- a real CrossEncoder


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CrossEncoder made from the packaged MiniLM weights: a new scoring head, seeded, saved as a folder.

    Untrained (no training set, and the machine is small): the head is seeded and scaled so that
    scores spread out; the test is about the code path, not the reranker's quality.
    """
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    ce = CrossEncoder(sbert.locate("minilm", "minilm").path, num_labels=1, max_length=128, local_files_only=True)
    hf = ce.model
    assert hf is not None
    with torch.no_grad():
        hf.classifier.weight.mul_(50.0)
    folder = tmp_path_factory.mktemp("ce") / "tiny-demo-ce"
    ce.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def cross_run(cross_encoder_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    db = tmp_path_factory.mktemp("rr") / "rr.duckdb"
    spec = f"minilm>>cross:{cross_encoder_dir}?top_n=10&batch_size=16"
    res = engine.evaluate(DEMO, _cfg("minilm", spec, latency_queries=2), db_path=db)
    return res, db, spec


def test_cross_encoder_rerank_equals_an_independent_predict(cross_run, cross_encoder_dir) -> None:  # type: ignore[no-untyped-def]
    from sentence_transformers import CrossEncoder

    res, db, spec = cross_run
    ds = res.dataset
    by = {m.info.spec: m for m in res.models}
    first, ranked = by["minilm"], by[spec]
    # Below the top 10: the first stage's order, untouched, for every query.
    np.testing.assert_array_equal(ranked.topk_idx[:, 10:], first.topk_idx[:, 10:])
    oracle = CrossEncoder(str(cross_encoder_dir), local_files_only=True)
    for r in range(0, len(ds.query_ids), 4):  # every 4th query: CPU time is shared on this machine
        top = first.topk_idx[r, :10]
        s = oracle.predict([(ds.query_texts[r], ds.doc_texts[int(j)]) for j in top], batch_size=16)
        assert len(set(np.round(s, 5))) == len(s)  # no near-ties: the order does not depend on tie rules
        np.testing.assert_array_equal(ranked.topk_idx[r, :10], top[np.argsort(-s, kind="stable")])
        np.testing.assert_allclose(ranked.topk_scores[r, :10], np.sort(s)[::-1], atol=1e-5)
    # The stored metrics equal pytrec_eval on the stored ranking read as positions (not as scores).
    own_run = {q: {ds.doc_ids[int(j)]: float(100 - pos) for pos, j in enumerate(ranked.topk_idx[r])}
               for r, q in enumerate(ds.query_ids)}
    ev = pytrec_eval.RelevanceEvaluator(ds.qrels, {"ndcg_cut.10", "recall.100"}).evaluate(own_run)
    stored = runs.load_run(res.run_id, db).summary.set_index(["model", "metric"])["mean"]
    assert stored[(spec, "nDCG@10")] == pytest.approx(np.mean([ev[q]["ndcg_cut_10"] for q in ds.query_ids]), abs=1e-9)
    assert stored[(spec, "Recall@100")] == pytest.approx(np.mean([ev[q]["recall_100"] for q in ds.query_ids]),
                                                         abs=1e-9)
    # Reranking only reorders the top 10: Recall@10 and Recall@100 cannot change.
    for m in ("Recall@10", "Recall@100"):
        assert stored[(spec, m)] == pytest.approx(stored[("minilm", m)], abs=1e-12)


def test_cross_encoder_identity_cost_and_storage(cross_run, cross_encoder_dir) -> None:  # type: ignore[no-untyped-def]
    res, db, spec = cross_run
    stored = runs.load_run(res.run_id, db)
    assert list(stored.models["model"]) == ["minilm", spec]
    row = stored.models.set_index("model").loc[spec]
    assert row["kind"] == "rerank"
    ident = json.loads(row["identity"])["options"]
    assert ident["first_stage"] == "minilm" and ident["top_n"] == "10" and ident["reranker_batch_size"] == "16"
    assert ident["reranker"] == str(cross_encoder_dir.resolve()) and ident["reranker_kind"] == "cross-encoder"
    assert ident["reranker_revision"].startswith("sha256:")
    assert ident["reranker_source"] == f"path:{cross_encoder_dir.resolve()}"
    first = stored.models.set_index("model").loc["minilm"]
    # Cost of use: the first stage's plus the reranker's.
    assert row["latency_p50_ms"] > first["latency_p50_ms"] and row["latency_p95_ms"] > first["latency_p95_ms"]
    assert row["load_s"] > first["load_s"] and row["search_s"] > first["search_s"]
    assert row["index_bytes"] == first["index_bytes"] and row["api_tokens"] == 0
    assert row["queries_per_s"] < first["queries_per_s"]
    assert models.display_label(spec) == "all-MiniLM-L6-v2 → rerank top-10 by tiny-demo-ce"
    assert set(stored.topk["model"]) == {"minilm", spec}


def test_reorder_ties_and_tail() -> None:
    ids = ["d0", "d1", "d2", "d3", "d4"]
    idx, sc = rerank.reorder(np.array([0, 1, 2]), np.array([0.5, 0.9, 0.5]), np.array([4, 3]), ids)
    # Equal scores: document id descending (trec_eval's order); the tail keeps its order below.
    assert list(idx) == [1, 2, 0, 4, 3]
    assert list(sc) == [0.9, 0.5, 0.5, -0.5, -1.5]
    with pytest.raises(UserError, match="finite"):
        rerank.reorder(np.array([0, 1]), np.array([np.nan, 1.0]), np.array([], dtype=int), ids)


def test_offline_hub_cross_encoder_fails_fast_naming_it() -> None:
    r = rerank.parse("minilm>>cross:cross-encoder/ms-marco-MiniLM-L6-v2")
    with pytest.raises(UserError, match=r"ms-marco-MiniLM-L6-v2.*HF_HUB_OFFLINE=1"):
        rerank.resolve(r)


# --------------------------------------------------------------------------- a /rerank API


@pytest.fixture(scope="module")
def fake():  # type: ignore[no-untyped-def]
    with FakeRerank() as server:
        yield server


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RERANK_API_KEY", KEY)
    return KEY


def _client(fake: FakeRerank, **opts: str) -> RerankAPI:
    info = rerank.resolve(rerank.parse(fake.spec(**opts)))
    return RerankAPI(info)


def test_api_rerank_in_an_evaluation(fake, key, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "api.duckdb"
    fake.set("ok")
    spec = fake.spec(top_n="5", price_per_mtok="0.05")
    res = engine.evaluate(DEMO, _cfg("bm25", spec), db_path=db)
    ds = res.dataset
    # The request format: POST {base_url}/rerank, Cohere/Jina body, the key as a bearer token.
    req = fake.requests[0]
    assert req["path"] == "/v1/rerank"
    assert set(req["body"]) == {"model", "query", "documents", "top_n"}
    assert req["body"]["model"] == "fake-reranker" and req["body"]["top_n"] == len(req["body"]["documents"]) == 5
    assert req["headers"]["authorization"] == f"Bearer {KEY}"
    by = {m.info.spec: m for m in res.models}
    first, ranked = by["bm25"], by[spec]
    tokens = 0
    for r in range(len(ds.query_ids)):
        top = first.topk_idx[r, :5]
        texts = [ds.doc_texts[int(j)] for j in top]
        s = [fake_score(ds.query_texts[r], t) for t in texts]
        expect = sorted(range(5), key=lambda j: (s[j], ds.doc_ids[int(top[j])]), reverse=True)
        assert list(ranked.topk_idx[r, :5]) == [int(top[j]) for j in expect]
        assert list(ranked.topk_idx[r, 5:]) == list(first.topk_idx[r, 5:])
        assert fake.requests[r]["body"]["documents"] == texts
        tokens += fake_tokens(ds.query_texts[r], texts)
    # Usage: every request's reported tokens (the run's, and the timed single queries') are counted and priced.
    n_lat = engine.EvaluationConfig(models=()).latency_queries_api
    timed_rows = [i % n_lat for i in range(n_lat + 1)]  # a warm-up, then n_lat timed queries, cycling
    timed = sum(fake_tokens(ds.query_texts[r], [ds.doc_texts[int(j)] for j in first.topk_idx[r, :5]])
                for r in timed_rows)
    n_timed = len(timed_rows)
    assert fake.calls == len(ds.query_ids) + n_timed
    assert ranked.cost.api_requests == fake.calls
    assert ranked.cost.api_tokens == tokens + timed
    assert ranked.cost.api_cost_usd == pytest.approx((tokens + timed) * 0.05 / 1e6)
    assert ranked.cost.latency_p50_ms is not None and ranked.cost.latency_p50_ms > first.cost.latency_p50_ms
    ident = json.loads(runs.load_run(res.run_id, db).models.set_index("model").loc[spec, "identity"])["options"]
    assert ident["reranker_tokens"] == "from usage" and ident["reranker_served_model"] == "fake-reranker"
    assert ident["reranker_base_url"] == fake.url and ident["top_n"] == "5"
    assert KEY not in _stored_text(db) and KEY.encode() not in db.read_bytes()


def test_a_hybrid_first_stage_is_computed_once_and_not_stored(fake, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "hyb.duckdb"
    a, b = "bm25", "bm25?k1=0.9&b=0.4"
    fake.set("ok")
    spec = fake.spec(first=f"{a}+{b}", top_n="5")
    res = engine.evaluate(DEMO, _cfg(a, spec), db_path=db)
    assert list(runs.load_run(res.run_id, db).models["model"]) == [a, spec]  # the hybrid and b were helpers
    # The same hybrid evaluated on its own gives the first stage's list.
    solo = engine.evaluate(DEMO, _cfg(f"{a}+{b}"), db_path=db)
    hyb, ranked, ds = solo.models[0], next(m for m in res.models if m.info.spec == spec), res.dataset
    for r in range(len(ds.query_ids)):
        top = hyb.topk_idx[r, :5]
        s = [fake_score(ds.query_texts[r], ds.doc_texts[int(j)]) for j in top]
        expect = sorted(range(5), key=lambda j: (s[j], ds.doc_ids[int(top[j])]), reverse=True)
        assert list(ranked.topk_idx[r, :5]) == [int(top[j]) for j in expect]
        assert list(ranked.topk_idx[r, 5:]) == list(hyb.topk_idx[r, 5:])
    assert json.loads(ranked.info.to_json())["options"]["first_stage_kind"] == "hybrid"
    assert models.display_label(spec) == "BM25 + BM25 (RRF k=60) → rerank top-5 by fake-reranker"


def test_tokens_are_estimated_only_with_a_price(fake) -> None:  # type: ignore[no-untyped-def]
    fake.set("no_usage")
    priced = _client(fake, price_per_mtok="1")
    priced.score("a query", ["one document", "another document here"])
    assert priced.usage().tokens > 0 and priced.usage().cost_usd == pytest.approx(priced.usage().tokens / 1e6)
    assert priced.identity().options["tokens"] == "estimated"
    free = _client(fake)
    free.score("a query", ["one document"])
    assert free.usage().tokens == 0 and free.usage().cost_usd is None and free.usage().requests == 1


def test_tei_form_and_a_server_without_v1(fake) -> None:  # type: ignore[no-untyped-def]
    fake.set("tei")
    client = _client(fake)
    docs = ["alpha beta", "beta gamma delta", "query words beta"]
    got = client.score("beta words", docs)
    np.testing.assert_allclose(got, [fake_score("beta words", d) for d in docs])
    assert "documents" in fake.requests[0]["body"] and fake.requests[1]["body"]["texts"] == docs
    client.score("beta", docs)  # remembered: no second 422
    assert fake.calls == 3
    fake.set("v1_missing")
    client = _client(fake)
    np.testing.assert_allclose(client.score("beta", docs), [fake_score("beta", d) for d in docs])
    assert [r["path"] for r in fake.requests] == ["/v1/rerank", "/rerank"]


def test_batch_size_splits_requests(fake) -> None:  # type: ignore[no-untyped-def]
    fake.set("ok")
    docs = [f"doc {i} words" for i in range(7)]
    got = _client(fake, batch_size="3").score("doc words", docs)
    np.testing.assert_allclose(got, [fake_score("doc words", d) for d in docs])
    assert [len(r["body"]["documents"]) for r in fake.requests] == [3, 3, 1]


def test_429_is_retried(fake) -> None:  # type: ignore[no-untyped-def]
    fake.set("429_then_ok")
    client = _client(fake)
    assert len(client.score("q", ["a", "b"])) == 2
    assert fake.calls == 2 and client.usage().requests == 1


@pytest.mark.parametrize(("mode", "opts", "message"), [
    ("500", {}, "HTTP 500 after 2 retries: kaputt"),
    ("timeout", {"timeout": "0.3", "max_retries": "1"}, r"timed out after 0.3 s \(1 retries\)"),
    ("malformed", {}, "malformed response: not JSON"),
    ("short", {}, "malformed response: 1 scores for 2 documents"),
    ("bad_index", {}, "malformed response: index 5"),
    ("echo_key", {}, "HTTP 401 .*not authorised.*RERANK_API_KEY"),
])
def test_api_faults_are_clear_errors(fake, key, mode, opts, message) -> None:  # type: ignore[no-untyped-def]
    fake.set(mode)
    with pytest.raises(UserError, match=message):
        _client(fake, **opts).score("q", ["a", "b"])
    if mode == "500":
        assert fake.calls == 3  # one request and two retries


@pytest.mark.parametrize(("mode", "message"), [
    ("500", "HTTP 500 after 2 retries"),
    ("malformed", "malformed response"),
    ("echo_key", "HTTP 401"),
])
def test_engine_stores_a_failed_rerank_as_failed_with_no_key(fake, key, tmp_path, mode, message) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "fail.duckdb"
    fake.set(mode)
    with pytest.raises(UserError, match=message) as err:
        engine.evaluate(DEMO, _cfg("bm25", fake.spec()), db_path=db)
    assert KEY not in str(err.value)
    listing = runs.list_runs(db)
    assert list(listing["status"]) == ["failed"] and message.split(" after")[0] in listing.iloc[0]["error"]
    assert _result_rows(db) == 0  # nothing half-written: not even the first stage's results
    assert KEY not in _stored_text(db) and KEY.encode() not in db.read_bytes()


def test_the_session_openai_key_is_never_sent_to_a_reranker(fake, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("RERANK_API_KEY", raising=False)
    fake.set("ok")
    engine.evaluate(DEMO, _cfg("bm25", fake.spec(top_n="3")), db_path=tmp_path / "s.duckdb",
                    api_key="sk-session-openai-key-123456")
    assert all("authorization" not in r["headers"] for r in fake.requests)


# --------------------------------------------------------------------------- pages and report


def test_runs_page_and_report_render_a_reranked_run(fake, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Results, drill-down and the report name a reranked system by its parts (display_label)."""
    from streamlit.testing.v1 import AppTest

    from lib import report

    monkeypatch.setenv("EMS_DB", str(tmp_path / "pages.duckdb"))
    fake.set("ok")
    spec = fake.spec(top_n="5", price_per_mtok="0.05")
    run_id = engine.evaluate(DEMO, _cfg("bm25", spec)).run_id
    label = "BM25 → rerank top-5 by fake-reranker"
    assert models.display_label(spec) == label
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "runs.py"), default_timeout=120).run()
    at.selectbox(key="runs_open").set_value(run_id).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    frames = [df.value for df in at.dataframe]
    metrics_table = next(f for f in frames if "Model" in f.columns and "Group" in f.columns)
    assert label in set(metrics_table["Model"])
    assert any(label in f.columns for f in frames)  # the drill-down's per-query table
    assert any(label in m.value for m in at.markdown)  # the drill-down's top-k column heading
    md = report.to_markdown(report.build_report([run_id], with_figures=False))
    assert label in md
