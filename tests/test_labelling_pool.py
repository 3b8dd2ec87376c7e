"""Pooling on the demo set with its qrels removed, judged with the original qrels as the "human".

The oracle for the pool is the evaluation itself: an ordinary evaluation of the original
demo set stores each model's ranked top-k (eval_topk); the pool must be exactly the union
of those top-10 lists. The original qrels then judge the pool through the CSV round trip
(export-pool → fill in → import), and the labelled set must rank the models as the
original qrels do.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from lib.evaluation import engine, runs
from lib.evaluation.datasets import load_collection, load_dataset
from lib.labelling import export, pool
from lib.labelling import store as lstore

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
POOLED = ["bm25", "minilm"]
#: A BM25 variant that is *not* pooled: shows what judged@10 reports for an outsider.
OUTSIDER = "bm25?k1=1.5&b=0.75"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("label-demo")
    db = tmp / "label.duckdb"
    bare = tmp / "demo-without-qrels"
    bare.mkdir()
    for f in ("corpus.jsonl", "queries.jsonl"):
        shutil.copy(DEMO / f, bare / f)
    original = load_dataset(DEMO)
    cfg = engine.EvaluationConfig(models=(*POOLED, OUTSIDER), sweep=False, bootstrap_resamples=200,
                                  paired_resamples=500, latency_queries=1)
    before = engine.evaluate(original, cfg, db_path=db)
    coll = load_collection(bare)
    stats = pool.pool_collection(coll, POOLED, depth=10, db=db)
    # The "human" judges the exported pool CSV with the original qrels (0 where not listed).
    csv_path = tmp / "pool.csv"
    csv_path.write_text(export.pool_csv(db, stats.set_id), encoding="utf-8")
    sheet = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    sheet["grade"] = [original.qrels.get(q, {}).get(d, 0) for q, d in zip(sheet["query_id"], sheet["doc_id"],
                                                                          strict=True)]
    sheet.to_csv(csv_path, index=False)
    imported = export.import_judgements(db, stats.set_id, csv_path, "human")
    labelled = export.labelled_dataset(db, stats.set_id)
    after = engine.evaluate(labelled, cfg, db_path=db)
    return {"db": db, "original": original, "coll": coll, "stats": stats, "before": before,
            "after": after, "labelled": labelled, "imported": imported}


def _ndcg(result: engine.EvaluationResult) -> dict[str, float]:
    s = result.summary
    return dict(zip(s[s["metric"] == "nDCG@10"]["model"], s[s["metric"] == "nDCG@10"]["mean"], strict=True))


def test_inputs_without_qrels(demo):
    coll = demo["coll"]
    assert (len(coll.doc_ids), len(coll.query_ids), coll.query_source) == (149, 60, "file")


def test_pool_is_the_union_of_the_evaluations_top10(demo):
    db, stats, before = demo["db"], demo["stats"], demo["before"]
    topk = runs.load_run(before.run_id, db).topk
    expected = {(q, d) for m, q, docs in zip(topk["model"], topk["query_id"], topk["doc_ids"], strict=True)
                if m in POOLED for d in list(docs)[:10]}
    merged = lstore.pool(db, stats.set_id)
    assert set(zip(merged["query_id"], merged["doc_id"], strict=True)) == expected
    assert stats.size == len(expected) == len(merged)
    assert stats.n_queries == 60 and stats.max_size == 2 * 10 * 60
    # Every pair is credited to each system that retrieved it, with its rank.
    hits = lstore.pool_hits(db, stats.set_id)
    assert (hits.groupby(["system", "query_id"]).size() == 10).all()
    assert sorted(hits["rank"].unique()) == list(range(1, 11))
    print(f"\npool: {stats.size} pairs, {stats.mean_per_query:.1f} per query, unique {dict(stats.unique)}")


def test_pool_holds_most_relevant_pairs(demo):
    db, stats, original = demo["db"], demo["stats"], demo["original"]
    merged = lstore.pool(db, stats.set_id)
    share = pool.coverage(merged, original.qrels)
    share2 = pool.coverage(merged, original.qrels, min_grade=2)
    relevant = sum(1 for row in original.qrels.values() for g in row.values() if g > 0)
    held = round(share * relevant)
    assert relevant == 77
    assert held == sum(1 for q, row in original.qrels.items() for d, g in row.items()
                       if g > 0 and ((merged["query_id"] == q) & (merged["doc_id"] == d)).any())
    assert 0.85 <= share < 1.0  # most, not all: some relevant documents neither model ranks in its top 10
    print(f"\nrelevant pairs in the pool: {held}/{relevant} = {share:.3f} (grade 2: {share2:.3f})")


def test_labelled_set_gives_the_original_model_order(demo):
    before, after, labelled = _ndcg(demo["before"]), _ndcg(demo["after"]), demo["labelled"]
    assert demo["imported"].stored == demo["stats"].size and demo["imported"].outside_pool == 0
    order_before = sorted(POOLED, key=lambda m: -before[m])
    order_after = sorted(POOLED, key=lambda m: -after[m])
    assert order_before == order_after == ["minilm", "bm25"]
    assert labelled.source == f"label:{demo['stats'].set_id}"
    # A query whose relevant documents no pooled model found has no positive grade: dropped.
    assert len(labelled.query_ids) + labelled.dropped_queries == 60
    assert any("judge human (human)" in n for n in labelled.notes)
    print(f"\nnDCG@10 original qrels: {before}\nnDCG@10 labelled set:   {after}")


def test_judged_at_10_is_complete_for_pooled_models_only(demo):
    db, after = demo["db"], demo["after"]
    table = export.judged_at_k_for_run(db, after.run_id).set_index("model")
    assert table.loc["bm25", "judged_at_k"] == 1.0 and table.loc["minilm", "judged_at_k"] == 1.0
    assert table.loc["bm25", "pooled"] and not table.loc[OUTSIDER, "pooled"]
    assert table.loc[OUTSIDER, "judged_at_k"] < 1.0
    assert "did not contribute to the pool" in table.loc[OUTSIDER, "note"]
    # Independent count from the stored top-k and the judgements.
    topk = runs.load_run(after.run_id, db).topk
    judged = lstore.latest_judgements(db, demo["stats"].set_id)
    pairs = set(zip(judged["query_id"], judged["doc_id"], strict=True))
    rows = topk[topk["model"] == OUTSIDER]
    share = sum((q, d) in pairs for q, docs in zip(rows["query_id"], rows["doc_ids"], strict=True)
                for d in list(docs)[:10]) / (10 * len(rows))
    assert table.loc[OUTSIDER, "judged_at_k"] == pytest.approx(share)
    print(f"\njudged@10: {table['judged_at_k'].to_dict()}")


def test_extend_pool_adds_a_system_and_keeps_judgements(demo, tmp_path):
    db = tmp_path / "x.duckdb"
    coll = demo["coll"]
    stats = pool.pool_collection(coll, ["bm25"], depth=5, db=db)
    first = lstore.pool(db, stats.set_id)
    q, d = first["query_id"][0], first["doc_id"][0]
    lstore.record_judgement(db, stats.set_id, q, d, "ann", 2)
    grown = pool.extend_pool(db, stats.set_id, [OUTSIDER], depth=5)
    assert [s for s, _ in grown.systems] == ["bm25", OUTSIDER]
    assert grown.size >= stats.size
    again = pool.extend_pool(db, stats.set_id, ["bm25"], depth=5)  # re-pooling replaces, never duplicates
    assert again.size == grown.size and [s for s, _ in again.systems] == ["bm25", OUTSIDER]
    assert len(lstore.latest_judgements(db, stats.set_id)) == 1


def test_pool_errors_store_nothing(tmp_path, demo):
    from lib.errors import UserError

    db = tmp_path / "e.duckdb"
    no_queries = load_collection(DEMO, folder_queries=False)
    with pytest.raises(UserError, match="no queries to pool"):
        pool.pool_collection(no_queries, ["bm25"], db=db)
    with pytest.raises(UserError, match="depth must be between"):
        pool.pool_collection(demo["coll"], ["bm25"], depth=0, db=db)
    with pytest.raises(UserError, match="twice"):
        pool.pool_collection(demo["coll"], ["bm25", "bm25"], db=db)
    with pytest.raises(UserError, match="unknown option"):
        pool.pool_collection(demo["coll"], ["bm25", "bm25?colour=red"], db=db)
    assert lstore.list_sets(db).empty
