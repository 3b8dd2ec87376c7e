"""Label sets, judgements, undo, resume and blind candidates in a tmp DuckDB file."""

from __future__ import annotations

import pandas as pd
import pytest

from lib import store
from lib.errors import UserError
from lib.labelling import store as lstore

DOCS = [(f"d{i}", f"document number {i}") for i in range(6)]
QUERIES = [lstore.QueryRecord("q1", "first"), lstore.QueryRecord("q2", "second")]


@pytest.fixture
def labelled(tmp_path):
    db = tmp_path / "s.duckdb"
    sid = lstore.create_set(db, name="My Set!", source="t", fingerprint="f", docs=DOCS, queries=QUERIES,
                            query_source="pasted")
    hits = pd.DataFrame([(q.query_id, d, r + 1, 0.0) for q in QUERIES for r, (d, _) in enumerate(DOCS[:4])],
                        columns=["query_id", "doc_id", "rank", "score"])
    lstore.add_pool(db, sid, "bm25", "{}", 4, hits)
    return db, sid


def test_set_identity(labelled):
    db, sid = labelled
    info = lstore.get_set(db, sid)
    assert sid.startswith("my-set-") and (info.n_docs, info.n_queries, info.systems) == (6, 2, (("bm25", 4),))
    with pytest.raises(UserError, match="no label set 'nope'"):
        lstore.get_set(db, "nope")


def test_judge_undo_resume(labelled):
    db, sid = labelled
    assert lstore.next_query(db, sid, "ann") == "q1"
    for d in ("d0", "d1", "d2", "d3"):
        lstore.record_judgement(db, sid, "q1", d, "ann", 1)
    assert lstore.next_query(db, sid, "ann") == "q2"
    assert lstore.next_query(db, sid, "bob") == "q1"  # per judge
    assert lstore.next_query(db, sid, "ann", exclude=["q2"]) is None  # skipped
    lstore.record_judgement(db, sid, "q1", "d3", "ann", 2)  # re-grade
    cur = lstore.latest_judgements(db, sid, ["ann"]).set_index("doc_id")["grade"]
    assert cur["d3"] == 2 and len(cur) == 4
    undone = lstore.undo(db, sid, "ann")
    assert undone is not None and (undone.doc_id, undone.grade) == ("d3", 2)
    assert lstore.latest_judgements(db, sid, ["ann"]).set_index("doc_id")["grade"]["d3"] == 1  # earlier grade back
    lstore.undo(db, sid, "ann")
    assert lstore.next_query(db, sid, "ann") == "q1"
    assert lstore.undo(db, sid, "nobody") is None
    prog = lstore.progress(db, sid).set_index("judge")
    assert (prog.loc["ann", "judged"], prog.loc["ann", "total"], prog.loc["ann", "queries_done"]) == (3, 8, 0)


def test_saved_at_once_survives_closing_the_file(labelled):
    db, sid = labelled
    lstore.record_judgement(db, sid, "q1", "d0", "ann", 2)
    store.close(db)  # what a killed server leaves: the file as committed
    assert lstore.latest_judgements(db, sid)["grade"].tolist() == [2]


def test_bad_judgements_are_refused(labelled):
    db, sid = labelled
    for args, msg in ((("q9", "d0", "ann", 1), "no query"), (("q1", "d9", "ann", 1), "no document"),
                      (("q1", "d0", "ann", 3), "grade must be"), (("q1", "d0", " ", 1), "judge name"),
                      (("q1", "d0", "ann", True), "grade must be")):
        with pytest.raises(UserError, match=msg):
            lstore.record_judgement(db, sid, *args)
    bad = pd.DataFrame({"query_id": ["q1", "q1"], "doc_id": ["d0", "zz"], "grade": [1, 1]})
    with pytest.raises(UserError, match="nothing was imported"):
        lstore.record_judgements(db, sid, bad, "ann")
    assert lstore.latest_judgements(db, sid).empty  # all or nothing


def test_candidates_are_blind_and_stably_shuffled(labelled):
    db, sid = labelled
    a = lstore.candidates(db, sid, "q1", "ann")
    assert list(a.columns) == ["doc_id", "text", "grade"]  # no system, no rank
    assert sorted(a["doc_id"]) == ["d0", "d1", "d2", "d3"]
    assert a["doc_id"].tolist() == lstore.candidates(db, sid, "q1", "ann")["doc_id"].tolist()  # after a reload
    keys = sorted((lstore.shuffle_key(sid, "ann", "q1", d), d) for d in a["doc_id"])
    assert [d for _, d in keys] == a["doc_id"].tolist()
    lstore.record_judgement(db, sid, "q1", a["doc_id"][0], "ann", 2)
    assert lstore.candidates(db, sid, "q1", "ann")["grade"].tolist()[0] == 2


def test_resolved_grades_precedence(labelled):
    db, sid = labelled
    lstore.record_judgement(db, sid, "q1", "d0", "llm:x", 0, kind="llm")
    lstore.record_judgement(db, sid, "q1", "d0", "ann", 2)
    lstore.record_judgement(db, sid, "q1", "d1", "llm:x", 1, kind="llm")
    g = lstore.resolved_grades(db, sid).set_index("doc_id")
    assert (g.loc["d0", "judge"], g.loc["d0", "grade"]) == ("ann", 2)  # people before LLMs
    assert g.loc["d1", "judge"] == "llm:x"
    only_llm = lstore.resolved_grades(db, sid, ["llm:x"]).set_index("doc_id")
    assert only_llm.loc["d0", "grade"] == 0
    with pytest.raises(UserError, match="no judgements by"):
        lstore.resolved_grades(db, sid, ["zed"])


def test_delete_set(labelled):
    db, sid = labelled
    lstore.record_judgement(db, sid, "q1", "d0", "ann", 2)
    lstore.delete_set(db, sid)
    assert lstore.list_sets(db).empty


def test_judge_progress_matches_the_full_table(labelled):
    db, sid = labelled
    assert lstore.judge_progress(db, sid, "ann") == (0, 8)
    lstore.record_judgement(db, sid, "q1", "d0", "ann", 2)
    lstore.record_judgement(db, sid, "q1", "d0", "ann", 0)  # a re-grade is still one pair
    lstore.record_judgement(db, sid, "q2", "d1", "ann", 1)
    lstore.record_judgement(db, sid, "q2", "d5", "ann", 1)  # outside the pool: not counted
    lstore.record_judgement(db, sid, "q1", "d2", "bob", 1)  # another judge: not counted
    lstore.undo(db, sid, "bob")
    full = lstore.progress(db, sid).set_index("judge").loc["ann"]
    assert lstore.judge_progress(db, sid, "ann") == (int(full["judged"]), int(full["total"])) == (2, 8)
    assert lstore.query_text(db, sid, "q2") == "second"
    with pytest.raises(UserError, match="no query 'q9'"):
        lstore.query_text(db, sid, "q9")
