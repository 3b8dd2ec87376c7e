"""Synthetic queries against the fake chat server: marked synthetic, linked to their source, judged 2."""

from __future__ import annotations

import pytest

from lib.errors import UserError
from lib.evaluation.datasets import load_collection
from lib.labelling import export, synth
from lib.labelling import store as lstore
from tests.fake_chat import FakeChat

DEMO = "data/demo"


@pytest.fixture
def fake():
    with FakeChat() as f:
        yield f


def test_generate_marks_links_and_judges(tmp_path, fake):
    db = tmp_path / "syn.duckdb"
    coll = load_collection(DEMO, folder_queries=False)
    seen = []
    rep = synth.generate(coll, fake.spec(price_per_mtok="0.15", output_price_per_mtok="0.6"), n=12, db=db,
                         on_estimate=seen.append)
    assert seen[0].requests == 12 and seen[0].cost_usd is not None
    assert fake.calls == 12 and rep.requests == 12 and rep.queries + rep.duplicates + len(rep.skipped) == 12
    assert rep.cost_usd == pytest.approx((100 * 12 * 0.15 + 6 * 12 * 0.6) / 1e6)
    qs = lstore.queries(db, rep.set_id)
    assert qs["synthetic"].all() and qs["source_doc"].notna().all()
    assert qs["generator"].str.contains("synth-v1").all()
    texts = dict(zip(coll.doc_ids, coll.doc_texts, strict=True))
    for q, d in zip(qs["text"], qs["source_doc"], strict=True):
        assert q == "What about " + " ".join(texts[d].split()[:5]) + "?"  # the fake's question for that doc
    j = lstore.latest_judgements(db, rep.set_id)
    assert set(j["kind"]) == {"synthetic"} and set(j["grade"]) == {2}
    assert set(zip(j["query_id"], j["doc_id"], strict=True)) == set(zip(qs["query_id"], qs["source_doc"],
                                                                        strict=True))
    ds = export.labelled_dataset(db, rep.set_id)
    assert any("synthetic" in n and "lexical" in n for n in ds.notes)  # results say so, with the bias
    # The prompt was sent as shown.
    assert fake.requests[0]["messages"][0]["content"].startswith(synth.DEFAULT_PROMPT.split("{passage}")[0])


def test_dry_run_budget_prompt_and_faults(tmp_path, fake):
    db = tmp_path / "syn.duckdb"
    coll = load_collection(DEMO, folder_queries=False)
    dry = synth.generate(coll, fake.spec(), n=5, db=db, dry_run=True)
    assert dry.set_id is None and dry.estimate.requests == 5 and dry.estimate.cost_usd is None
    with pytest.raises(UserError, match="above --max-cost"):
        synth.generate(coll, fake.spec(price_per_mtok="5000", output_price_per_mtok="5000"), n=5, db=db,
                       max_cost=0.01)
    with pytest.raises(UserError, match=r"\{passage\}"):
        synth.generate(coll, fake.spec(), n=5, db=db, prompt="Write a question.")
    assert synth.prompt_version("Q for {passage}").startswith("custom-")
    fake.set("fail_after", fail_after_n=3)
    with pytest.raises(UserError, match="HTTP 500"):
        synth.generate(coll, fake.spec(), n=5, db=db)
    assert fake.calls > 3 and lstore.list_sets(db).empty  # nothing stored on a fault


@pytest.mark.parametrize(("answer", "question"), [
    ('"How do I reset it?"', "How do I reset it?"), ("Question: Why?\nextra", "Why?"), ("\n\n", ""),
])
def test_clean_question(answer, question):
    assert synth.clean_question(answer) == question
