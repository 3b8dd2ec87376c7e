"""The UMBRELA judge against a fake OpenAI-compatible chat server on 127.0.0.1 (deterministic grades)."""

from __future__ import annotations

import hashlib
import warnings

import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from lib import store
from lib.errors import UserError
from lib.labelling import agreement, llm_judge
from lib.labelling import store as lstore
from lib.labelling.chat import resolve_chat
from tests.fake_chat import COMPLETION_TOKENS, PROMPT_TOKENS, FakeChat, fake_score

DOCS = [
    ("d1", "Parental leave gives sixteen weeks of paid leave after a birth or adoption."),
    ("d2", "Sick leave: report illness to your manager before nine o'clock."),
    ("d3", "Snapshots restore a volume to the state it had when the snapshot was taken."),
    ("d4", "Point-in-time recovery restores a database to any second within seven days."),
    ("d5", "Expense reports need receipts for every purchase above twenty euros."),
]
QUERIES = [("q1", "how many weeks of paid parental leave after birth"),
           ("q2", "restore database point-in-time recovery seven days"),
           ("q3", "receipts expense purchase euros reports")]


@pytest.fixture
def labelled(tmp_path):
    db = tmp_path / "llm.duckdb"
    sid = lstore.create_set(db, name="tiny", source="test", fingerprint="f", docs=DOCS,
                            queries=[lstore.QueryRecord(q, t) for q, t in QUERIES], query_source="pasted")
    hits = pd.DataFrame([(q, d, r + 1, 1.0) for q, _ in QUERIES for r, (d, _) in enumerate(DOCS)],
                        columns=["query_id", "doc_id", "rank", "score"])
    lstore.add_pool(db, sid, "bm25", "{}", 5, hits)
    return db, sid


@pytest.fixture
def fake():
    with FakeChat() as f:
        yield f


def _expected(q: str, d: str) -> int:
    return fake_score(dict(QUERIES)[q], dict(DOCS)[d])


def test_prompt_is_umbrelas_verbatim():
    # sha256 of prefix_user as yaml.safe_load reads qrel_zeroshot_bing.yaml at castorini/umbrela@e2c4e41.
    assert hashlib.sha256(llm_judge.UMBRELA_PROMPT.encode()).hexdigest() == (
        "c92537a4f97293dfe1fd5f3dccc3f7dea44e3ace65061a74dbf8afc833441546"
    )
    assert llm_judge.UMBRELA_PROMPT.startswith("Given a query and a passage, you must provide a score")
    assert "Provide each score in the format of: ##final score: score without providing any reasoning." \
        in llm_judge.UMBRELA_PROMPT
    msgs = llm_judge.messages("Q?", "P.")
    assert msgs[0] == {"role": "system", "content": "You are a helpful assistant."}
    assert "Query: Q?\nPassage: P.\n" in msgs[1]["content"]


@pytest.mark.parametrize(("answer", "score"), [
    ("##final score: 3", 3), ("##Final Score: 0", 0), ("M: 2, T: 1\n##final score: 2", 2),
    ("##final score: 1\n##final score: 2", 2), ("final score: **3**", 3), ("I think it is relevant", None),
    ("##final score: 7", None), ("##final score: 10", None), ("", None),
])
def test_parse_score(answer, score):
    assert llm_judge.parse_score(answer) == score


def test_mapping_0_3_to_grades():
    assert [llm_judge.to_grade(s) for s in range(4)] == [0, 0, 1, 2]


def test_judges_every_pair_once_then_serves_the_cache(labelled, fake):
    db, sid = labelled
    spec = fake.spec(price_per_mtok="0.15", output_price_per_mtok="0.6")
    seen = []
    rep = llm_judge.judge_pairs(db, sid, spec, on_estimate=seen.append)
    n = len(QUERIES) * len(DOCS)
    assert (rep.pairs, rep.requests, rep.cache_hits, rep.judged, fake.calls) == (n, n, 0, n, n)
    assert seen[0].requests == n and seen[0].cost_usd is not None and seen[0].cost_usd > 0
    # Cost from the billed usage: 100 prompt + 6 completion tokens per request.
    assert (rep.prompt_tokens, rep.completion_tokens) == (PROMPT_TOKENS * n, COMPLETION_TOKENS * n)
    assert rep.cost_usd == pytest.approx((PROMPT_TOKENS * n * 0.15 + COMPLETION_TOKENS * n * 0.6) / 1e6)
    got = lstore.latest_judgements(db, sid)
    assert set(got["judge"]) == {"llm:fake-chat"} and set(got["kind"]) == {"llm"}
    for r in got.itertuples():
        assert r.raw_score == _expected(r.query_id, r.doc_id)
        assert r.grade == llm_judge.GRADE_MAP[r.raw_score]
        assert r.prompt_version == llm_judge.PROMPT_VERSION
    # Each request: one pair, umbrela's parameters.
    body = fake.requests[0]
    assert body["temperature"] == 0 and body["frequency_penalty"] == 0.5 and body["max_tokens"] == 100
    assert len(body["messages"]) == 2
    # A re-run under another judge name (same model, same texts): everything from the cache.
    fake.set("ok")
    again = llm_judge.judge_pairs(db, sid, spec, judge="llm-again")
    assert (again.requests, again.cache_hits, again.judged, fake.calls) == (0, n, n, 0)
    assert again.estimate.requests == 0 and again.estimate.cached == n and again.estimate.cost_usd == 0.0
    # The default re-run of the same judge finds nothing left to do.
    assert llm_judge.judge_pairs(db, sid, spec).pairs == 0


def test_429_and_500_are_retried(labelled, fake):
    db, sid = labelled
    pairs = llm_judge.pairs_to_judge(db, sid, "llm:fake-chat", limit=2)
    fake.set("429_then_ok")
    rep = llm_judge.judge_pairs(db, sid, fake.spec(), pairs=pairs)
    assert rep.judged == 2 and fake.calls == 3  # one 429, retried, then two answers
    fake.set("500_then_ok")
    rep = llm_judge.judge_pairs(db, sid, fake.spec("fake-chat-2"), pairs=pairs.head(1))  # not cached
    assert rep.judged == 1 and fake.calls == 2


@pytest.mark.parametrize(("mode", "message"), [
    ("500", "HTTP 500 after 1 retries"), ("timeout", "timed out"), ("malformed", "malformed response"),
])
def test_faults_are_reported_and_store_nothing_half(labelled, fake, mode, message):
    db, sid = labelled
    fake.set("fail_after", fail_after_n=4)
    with pytest.raises(UserError, match="HTTP 500") as info:
        llm_judge.judge_pairs(db, sid, fake.spec())
    assert "4 judgement(s) were saved before this" in str(info.value)
    assert len(lstore.latest_judgements(db, sid)) == 4
    with store.connect(db) as cur:
        assert cur.execute("SELECT count(*) FROM llm_judge_cache").fetchone() == (4,)
    fake.set(mode, delay=1.5)
    with pytest.raises(UserError, match=message):
        llm_judge.judge_pairs(db, sid, fake.spec(max_retries="1", timeout="0.3"))
    # Nothing more stored: judgements and cache rows always come in complete pairs.
    assert len(lstore.latest_judgements(db, sid)) == 4
    with store.connect(db) as cur:
        assert cur.execute("SELECT count(*) FROM llm_judge_cache").fetchone() == (4,)
    # Back to normal: the run resumes where it stopped.
    fake.set("ok")
    rep = llm_judge.judge_pairs(db, sid, fake.spec())
    assert rep.judged == len(QUERIES) * len(DOCS) - 4 and fake.calls == rep.requests


def test_answer_without_score_is_reported_not_stored(labelled, fake):
    db, sid = labelled
    fake.set("noscore")
    rep = llm_judge.judge_pairs(db, sid, fake.spec())
    n = len(QUERIES) * len(DOCS)
    assert rep.judged == 0 and len(rep.unparsed) == n and rep.requests == n
    assert "relevant" in rep.unparsed[0][2]
    assert lstore.latest_judgements(db, sid).empty
    with store.connect(db) as cur:
        assert cur.execute("SELECT count(*) FROM llm_judge_cache").fetchone() == (0,)


def test_key_never_reaches_the_error_or_the_store(labelled, fake, monkeypatch):
    db, sid = labelled
    key = "sk-test-" + "k" * 30
    monkeypatch.setenv("FAKE_CHAT_KEY", key)
    fake.set("echo_key")
    with pytest.raises(UserError) as info:
        llm_judge.judge_pairs(db, sid, fake.spec(api_key_env="FAKE_CHAT_KEY"))
    assert key not in str(info.value) and "[redacted]" in str(info.value)
    assert info.value.__cause__ is None
    assert fake.requests  # it was sent, to the server only


def test_estimate_unknown_price_and_budget(labelled, fake):
    from lib.labelling.chat import check_budget

    db, sid = labelled
    spec = resolve_chat(fake.spec())
    pairs = llm_judge.pairs_to_judge(db, sid, "llm:fake-chat")
    est = llm_judge.estimate(db, spec, pairs)
    assert est.requests == 15 and est.cost_usd is None and "unknown" in est.describe()
    with pytest.raises(UserError, match="price of this model is unknown"):
        check_budget(est, 1.0)
    check_budget(est, None)  # no bound: an unknown price is shown, not refused
    priced = fake.spec(price_per_mtok="1000", output_price_per_mtok="1000")
    with pytest.raises(UserError, match="above --max-cost"):
        llm_judge.judge_pairs(db, sid, priced, max_cost=0.01)
    dry = llm_judge.judge_pairs(db, sid, priced, dry_run=True)
    assert dry.requests == 0 and dry.estimate.requests == 15
    assert fake.calls == 0 and lstore.latest_judgements(db, sid).empty


def test_kappa_with_a_person_equals_sklearn(labelled, fake):
    db, sid = labelled
    pool = lstore.pool(db, sid)
    # The person: grade 2 when the word overlap is large, 1 when some, else 0 (close to, not equal to, the LLM).
    for i, r in enumerate(pool.itertuples()):
        s = _expected(r.query_id, r.doc_id)
        lstore.record_judgement(db, sid, r.query_id, r.doc_id, "alice", 2 if s >= 3 else (1 if s == 2 or i % 4 == 0
                                                                                        else 0))
    rep = llm_judge.judge_pairs(db, sid, fake.spec(), pairs=llm_judge.pairs_to_judge(
        db, sid, "llm:fake-chat", only_judged_by="alice"))
    assert rep.judged == len(pool)
    ag = agreement.agreement(db, sid, "alice", "llm:fake-chat")
    pairs = agreement.paired_grades(db, sid, "alice", "llm:fake-chat")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cohen_kappa_score(pairs["grade_a"], pairs["grade_b"], labels=[0, 1, 2])
        ref_w = cohen_kappa_score(pairs["grade_a"], pairs["grade_b"], labels=[0, 1, 2], weights="quadratic")
    assert ag.n == len(pool) and ag.kappa == pytest.approx(ref, abs=1e-12)
    assert ag.weighted_kappa == pytest.approx(ref_w, abs=1e-12)
    assert int(ag.confusion.to_numpy().sum()) == ag.n
    assert 0 < ag.kappa < 1
    print(f"\nkappa alice vs llm: {ag.kappa:.4f} (sklearn {ref:.4f}), weighted {ag.weighted_kappa:.4f}, "
          f"observed {ag.observed:.3f} on {ag.n} pairs")
