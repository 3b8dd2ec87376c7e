"""AppTest of the Label page: demo documents + pasted queries → pool → judge (undo, skip) → resume → evaluate.

The oracle is the database itself, read with lib.labelling (never through the page): every
click must be one stored row, the page must show the candidate the store says comes next
(in the judge's shuffled order), and bad input must leave every labelling table as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import store
from lib.evaluation import datasets, uploads
from lib.labelling import pool as lpool
from lib.labelling import store as lstore
from tests.conftest import wait_for_jobs
from tests.fake_chat import FakeChat, fake_score

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "label.py")
EVALUATE = str(ROOT / "pages" / "evaluate.py")
QUERIES = ["how do I reset my password", "the VPN keeps disconnecting", "refund for a duplicate charge"]
TABLES = ("label_sets", "label_docs", "label_queries", "label_pool", "label_pool_systems", "label_judgements")


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _counts(db: Path) -> dict[str, int]:
    with store.connect(db) as cur:
        return {t: int(cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in TABLES}


def _current_doc(at: AppTest) -> str:
    cap = next(c.value for c in at.caption if c.value.startswith("Candidate "))
    return cap.rsplit("`", 2)[-2]


def _progress(at: AppTest) -> str:
    return next(p.proto.text for p in at.get("progress"))


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "label.duckdb"
    monkeypatch.setenv("EMS_DB", str(path))
    return path


def _pool(at: AppTest, models: list[str], paste: str = "\n".join(QUERIES), extra: str = "") -> None:
    at.text_area(key="lab_paste").set_value(paste)
    at.text_input(key="lab_name").set_value("northwind-labels")
    at.button(key="lab_check").click()
    at.run()
    _no_errors(at)
    at.multiselect(key="lab_pool_models").set_value(models)
    at.text_input(key="lab_pool_extra").set_value(extra)
    at.form_submit_button[0].click()
    at.run()


def test_flow_pool_judge_undo_skip_resume(db: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    _no_errors(at)
    _pool(at, ["bm25", "minilm"])
    _no_errors(at)
    sid = at.session_state["lab_set"]
    info = lstore.get_set(db, sid)
    assert (info.name, info.n_docs, info.n_queries, info.query_source) == ("northwind-labels", 149, 3, "pasted")
    assert [s for s, _ in info.systems] == ["bm25", "minilm"] and {d for _, d in info.systems} == {10}
    stats = lpool.pool_stats(db, sid)
    assert all(10 <= n <= 20 for n in stats.per_query["size"])  # two top-10s, merged
    assert any(m.value.startswith(f"**{stats.size:,} pairs to judge** · 3 queries") for m in at.markdown)
    # The pool holds exactly each system's top 10 per query.
    hits = lstore.pool_hits(db, sid)
    assert hits.groupby(["system", "query_id"]).size().eq(10).all()

    at.text_input(key="lab_judge").set_value("alice")
    at.run()
    _no_errors(at)
    assert _progress(at) == f"0 of {stats.size} pairs judged by alice"
    q1 = lstore.next_query(db, sid, "alice")
    order = list(lstore.candidates(db, sid, q1, "alice")["doc_id"])
    assert _current_doc(at) == order[0]
    judging = [c.value for c in at.caption if c.value.startswith("Candidate ")] + [m.value for m in at.markdown]
    assert not any(name in text for text in judging for name in ("bm25", "minilm", "MiniLM"))  # blind

    for grade, doc in zip((2, 0, 1, 2), order, strict=False):
        assert _current_doc(at) == doc
        at.button(key=f"lab_grade_{grade}").click()
        at.run()
        _no_errors(at)
    mine = lstore.latest_judgements(db, sid, ["alice"])
    assert list(zip(mine["doc_id"], mine["grade"], strict=True)) == list(zip(order[:4], (2, 0, 1, 2), strict=True))
    assert set(mine["kind"]) == {"human"} and set(mine["query_id"]) == {q1}
    assert _progress(at) == f"4 of {stats.size} pairs judged by alice"

    at.button(key="lab_undo").click()  # the last grade goes, its document comes back
    at.run()
    assert len(lstore.latest_judgements(db, sid, ["alice"])) == 3
    assert _current_doc(at) == order[3]
    assert _progress(at) == f"3 of {stats.size} pairs judged by alice"

    before = _counts(db)
    at.button(key="lab_skip").click()  # skipping stores nothing
    at.run()
    assert _counts(db) == before and _current_doc(at) == order[4]
    at.button(key="lab_skip_query").click()
    at.run()
    q2 = lstore.next_query(db, sid, "alice", exclude=[q1])
    assert any(m.value.startswith(f"**Query {q2}:**") for m in at.markdown)
    at.button(key="lab_grade_1").click()
    at.run()

    # A new session (reload / second tab): the URL names set and judge; the work resumes.
    again = AppTest.from_file(PAGE, default_timeout=120)
    again.query_params["set"] = sid
    again.query_params["judge"] = "alice"
    again.run()
    _no_errors(again)
    assert _progress(again) == f"4 of {stats.size} pairs judged by alice"
    assert _current_doc(again) == order[3]  # skips were this session's only: back at the first ungraded pair
    st_rows = lstore.progress(db, sid)
    assert st_rows.set_index("judge").loc["alice", "judged"] == 4


def test_bad_inputs_are_clear_and_store_nothing(db: Path, tmp_path: Path) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    empty = _counts(db)
    at.text_area(key="lab_paste").set_value("   \n\n  ")
    at.button(key="lab_check").click()
    at.run()
    assert any("pasted queries are empty" in e.value for e in at.error)
    assert "lab_collection" not in at.session_state

    _pool(at, ["bm25"], extra="no-such-org/no-such-model-xyz")
    assert at.error and "Pooling failed; nothing was stored" in at.error[0].value
    assert "no-such-org/no-such-model-xyz" in at.error[0].value
    assert _counts(db) == empty and at.session_state["lab_set"] == "new"

    at.radio(key="lab_src").set_value("upload")
    at.run()
    at.text_area(key="lab_paste").set_value("")
    at.button(key="lab_check").click()
    at.run()
    assert any("upload a documents file first" in e.value for e in at.error)
    bad = b'{"_id": "a", "text": "fine"}\n{"_id": "b", "text": \n'
    at.file_uploader(key="lab_docs").set_value([("my docs.jsonl", bad, "application/jsonl")])
    at.run()
    at.button(key="lab_check").click()
    at.run()
    msg = next(e.value for e in at.error)
    assert "my docs.jsonl" in msg and "line 2" in msg and ".incoming-" not in msg
    assert _counts(db) == empty and "lab_collection" not in at.session_state
    assert not list(uploads.uploads_dir().glob(f"{uploads.STAGING_PREFIX}*"))  # no staged copy left behind


def test_upload_and_synthetic_queries_then_llm_agreement(db: Path) -> None:
    corpus = (ROOT / "data" / "demo" / "corpus.jsonl").read_bytes()
    with FakeChat() as fake:
        at = AppTest.from_file(PAGE, default_timeout=300)
        at.run()
        at.radio(key="lab_src").set_value("upload")
        at.run()
        at.file_uploader(key="lab_docs").set_value([("kb corpus.jsonl", corpus, "application/jsonl")])
        at.run()
        at.button(key="lab_check").click()
        at.run()
        _no_errors(at)
        assert any("149 documents · 0 queries" in s.value for s in at.success)
        assert any("favours lexical matching" in w.value for w in at.warning)  # the bias, before anything is sent
        at.text_input(key="lab_syn_model").set_value(fake.spec(price_per_mtok="0.15", output_price_per_mtok="0.6"))
        at.number_input(key="lab_syn_n").set_value(4)
        at.run()
        est = next(i.value for i in at.info if i.value.startswith("estimate:"))
        assert "4 requests" in est and "nothing sent yet" in est and fake.calls == 0
        at.button(key="lab_syn_go").click()
        at.run()
        _no_errors(at)
        # A background job (lib/jobs.py): the click returns at once; the next run opens the new set.
        [job] = [j for j in wait_for_jobs(db) if j.kind == "synth"]
        assert job.status == "done" and "4 questions written" in job.log[-1]
        at.run()
        _no_errors(at)
        assert fake.calls == 4
        sid = at.session_state["lab_set"]
        assert sid == job.result_ref
        info = lstore.get_set(db, sid)
        assert info.n_synthetic == 4 and info.query_source == "synthetic"
        assert any("4 of 4 queries are synthetic" in w.value for w in at.warning)

        # Pool the synthetic queries with BM25, judge two pairs, then let the LLM grade those two.
        at.multiselect(key="lab_more_models").set_value(["bm25"])
        at.form_submit_button[0].click()
        at.run()
        _no_errors(at)
        assert [s for s, _ in lstore.get_set(db, sid).systems] == ["synthetic-source", "bm25"]
        at.text_input(key="lab_judge").set_value("bob")
        at.run()
        for g in (2, 0, 0):
            at.button(key=f"lab_grade_{g}").click()
            at.run()
        fake.set("ok")
        at.text_input(key="lab_llm_model").set_value(fake.spec(price_per_mtok="0.15", output_price_per_mtok="0.6"))
        at.run()
        est = next(i.value for i in at.info if i.value.startswith("estimate:"))
        assert "3 requests" in est and fake.calls == 0
        at.button(key="lab_llm_go").click()
        at.run()
        _no_errors(at)
        [job] = [j for j in wait_for_jobs(db) if j.kind == "llm_judge"]
        assert job.status == "done" and job.log[-1].startswith("3 judged · 3 requests")
        at.run()
        _no_errors(at)
        assert any("LLM judging of 3 pair(s)" in m.value and "done" in m.value for m in at.markdown)
        assert fake.calls == 3
        llm = lstore.latest_judgements(db, sid, ["llm:fake-chat"])
        bobs = lstore.latest_judgements(db, sid, ["bob"])
        assert set(zip(llm["query_id"], llm["doc_id"], strict=True)) == set(
            zip(bobs["query_id"], bobs["doc_id"], strict=True))
        qs = lstore.queries(db, sid).set_index("query_id")["text"]
        docs = dict(lstore.documents(db, sid))
        umbrela = {0: 0, 1: 0, 2: 1, 3: 2}
        assert all(g == umbrela[fake_score(qs[q], docs[d])]
                   for q, d, g in zip(llm["query_id"], llm["doc_id"], llm["grade"], strict=True))
        assert any("bob vs llm:fake-chat" in m.value and "3 shared pairs" in m.value for m in at.markdown)


def test_evaluate_with_the_labels(db: Path) -> None:
    coll = datasets.load_collection(ROOT / "data" / "demo", folder_queries=False, query_lines=QUERIES)
    sid = lpool.pool_collection(coll, ["bm25"], depth=5, db=db, name="handoff").set_id
    for q in lstore.queries(db, sid)["query_id"]:
        top = lstore.pool(db, sid)
        for d in top[top["query_id"] == q]["doc_id"].head(2):
            lstore.record_judgement(db, sid, q, d, "carol", 2)
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params["set"] = sid
    at.run()
    _no_errors(at)
    assert any("6 judgements on 3 queries" in c.value for c in at.caption)
    # The Evaluate page takes the set as its dataset, runs, and shows judged@10 with the pool note.
    ev = AppTest.from_file(EVALUATE, default_timeout=300)
    ev.run()
    ev.selectbox(key="ev_label_set").set_value(sid)
    ev.button(key="ev_use_label").click()
    ev.run()
    _no_errors(ev)
    assert any("3 queries" in s.value and "6 relevance judgements" in s.value for s in ev.success)
    ev.multiselect[0].set_value(["bm25", "minilm"])
    ev.checkbox[0].uncheck()
    ev.form_submit_button[0].click()
    ev.run()
    _no_errors(ev)
    wait_for_jobs(db)  # the evaluation is a background job; the next script run shows its results
    ev.run()
    _no_errors(ev)
    cap = next(c.value for c in ev.caption if "judged@10" in c.value)
    assert "BM25" in cap and "(not in the pool)" in cap
    assert any("minilm did not contribute to the pool" in w.value for w in ev.warning)
