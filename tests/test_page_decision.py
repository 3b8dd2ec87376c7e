"""AppTest walks through the decision wizard (pages/decision.py) to a shortlist."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.decision import build_shortlist, load_tree, preset_choices, resolve

ROOT = Path(__file__).resolve().parent.parent
TREE = load_tree()
N_Q = len(TREE.questions)


def _wizard(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("EMS_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/decision.py").run()
    assert not at.exception
    return at


def _texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def test_walk_through_every_question_with_a_preset(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _wizard(monkeypatch, lb_db)
    assert at.title[0].value == "Decision wizard"
    at.radio(key="dw_preset_pick").set_value("multilingual_kb").run()
    assert any("BGE-M3" in c.value for c in at.caption)  # the expert pick is named before starting
    at.button(key="dw_start").click().run()
    seen = []
    for i in range(1, N_Q + 1):
        assert not at.exception
        q = TREE.questions[i - 1]
        seen.append(q.id)
        # One question at a time, with its explanation quoted from the articles, attributed by name.
        assert at.subheader[0].value == q.prompt
        assert len(at.radio) == 1 and at.radio[0].value == TREE.preset("multilingual_kb").answers.get(q.id, q.default)
        assert any(q.why[0].text[:40] in m.value for m in at.markdown)
        assert any(f"— *{TREE.attribution(q.why[0].source)}*" in m.value for m in at.markdown)
        assert any("Your answers" in m.value for m in at.markdown)  # the running summary
        at.button(key="dw_next").click().run()
    assert seen == [q.id for q in TREE.questions]
    assert not at.exception
    assert at.subheader[0].value == "Shortlist · Multilingual knowledge base"
    table = at.dataframe[0].value
    expected = build_shortlist(TREE, resolve(TREE, *preset_choices(TREE, "multilingual_kb")), db=lb_db)
    assert table["Model"].tolist() == expected.models and len(table) == 5
    assert table["Score"].tolist() == pytest.approx([e.score * 100 for e in expected.entries])
    text = _texts(at)
    assert "Ranked on **Multilingual retrieval**" in text
    assert "Expert pick (KnowledgeSDK's guide) for Multilingual knowledge base: BGE-M3" in text
    assert f"#{expected.expert_status[0].rank} of {len(expected.ranking)}" in text
    assert all(f"`{m}`" in text for m in expected.models)  # each has a why-line
    excluded = at.dataframe[1].value
    assert {"Model", "Excluded by", "Evidence"} <= set(excluded.columns) and len(excluded) > 0


def test_custom_answers_change_the_shortlist_and_summary_jumps_back(
    monkeypatch: pytest.MonkeyPatch, lb_db: Path
) -> None:
    at = _wizard(monkeypatch, lb_db)
    at.button(key="dw_start").click().run()
    answers = {"hosting": "on_device", "scale": "large"}
    for i in range(1, N_Q + 1):
        q = TREE.questions[i - 1]
        if q.id in answers:
            at.radio(key=f"dw_q_{q.id}").set_value(answers[q.id]).run()
        at.button(key="dw_next").click().run()
    assert not at.exception
    plan = resolve(TREE, answers)
    expected = build_shortlist(TREE, plan, db=lb_db)
    assert at.dataframe[0].value["Model"].tolist() == expected.models
    assert "your answers match no use case" in _texts(at)
    # Jump back to one question from the result, change it, and come back.
    at.button(key="dw_change").click().run()
    at.button(key="dw_goto_hosting").click().run()
    assert at.subheader[0].value == TREE.question("hosting").prompt
    at.radio(key="dw_q_hosting").set_value("self_host").run()
    at.button(key="dw_skip").click().run()
    assert not at.exception
    again = build_shortlist(TREE, resolve(TREE, {"hosting": "self_host", "scale": "large"}), db=lb_db)
    assert at.dataframe[0].value["Model"].tolist() == again.models


def test_parameters_are_asked_and_validated(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _wizard(monkeypatch, lb_db)
    at.button(key="dw_start").click().run()
    step = [q.id for q in TREE.questions].index("languages") + 1
    at.session_state["dw_step"] = step
    at.run()
    at.radio(key="dw_q_languages").set_value("multilingual").run()
    box = at.text_input(key="dw_p_multilingual_languages")
    assert box.value == "eng, deu, fra, jpn, zho"
    box.set_value("eng, spanish").run()
    assert any("ISO 639-3" in e.value for e in at.error)
    box.set_value("eng, spa").run()
    assert not at.error
    assert at.session_state["dw_params"]["languages"] == ["eng", "spa"]
    at.button(key="dw_skip").click().run()
    assert "eng, spa" in _texts(at)
    assert not at.exception


def test_actions_send_the_shortlist_on(monkeypatch: pytest.MonkeyPatch, lb_db: Path) -> None:
    at = _wizard(monkeypatch, lb_db)
    at.radio(key="dw_preset_pick").set_value("code_search").run()
    at.button(key="dw_direct").click().run()
    assert at.subheader[0].value == "Shortlist · Code search"
    models = at.dataframe[0].value["Model"].tolist()
    at.button(key="dw_report").click().run()
    assert not at.exception
    assert at.session_state["ems_shortlist"] == models
    md = at.session_state["ems_report_sections"]["decision"]
    assert "Code search" in md and "gte-large or CodeBERT" in md
    # Shortlist length is adjustable.
    at.number_input(key="dw_n").set_value(8).run()
    assert len(at.dataframe[0].value) == 8
    models = at.dataframe[0].value["Model"].tolist()
    at.button(key="dw_send_eval").click().run()
    assert not at.exception
    assert at.session_state["ems_shortlist"] == models
    if (ROOT / "pages" / "evaluate.py").exists():
        # "Send to evaluation" switches page: the evaluation form is what renders now.
        assert any(getattr(w, "form_id", None) == "ev_form" for w in at.number_input)
    else:
        assert any("Shortlist saved" in s.value for s in at.success)


def test_empty_database_explains_how_to_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # An empty database loads by itself on first start; when that fails the page says how to load.
    monkeypatch.setenv("EMS_MTEB_RESULTS", str(tmp_path / "no-copy-here"))
    at = _wizard(monkeypatch, tmp_path / "empty.duckdb")
    assert "python -m lib refresh" in at.info[0].value


def test_long_documents_and_languages_answers_suggest_pipelines_that_reach_the_evaluate_picker(
    monkeypatch: pytest.MonkeyPatch, lb_db: Path
) -> None:
    at = _wizard(monkeypatch, lb_db)
    at.radio(key="dw_preset_pick").set_value("long_documents").run()
    at.button(key="dw_direct").click().run()
    assert not at.exception
    md = _texts(at)
    assert "Pipelines to evaluate" in md and "?chunk=auto" in md and "(MaxP)" in md
    at.button(key="dw_report").click().run()
    assert "### Pipelines to evaluate" in at.session_state["ems_report_sections"]["decision"]
    at.button(key="dw_send_eval").click().run()
    assert not at.exception
    sent = at.session_state["ems_pipelines"]
    assert any(s.endswith("?chunk=auto") for s in sent)
    # The Evaluate page's picker offers them, preselected, each named as the wizard's suggestion.
    picker = next(m for m in at.multiselect if getattr(m, "form_id", None) == "ev_form")
    assert set(sent) <= set(picker.value)
    assert any(o.endswith("(pipeline the wizard suggests)") and "?chunk=auto" in o for o in picker.options)

    at = _wizard(monkeypatch, lb_db)
    at.radio(key="dw_preset_pick").set_value("multilingual_kb").run()
    at.button(key="dw_direct").click().run()
    assert any("bm25+" in m.value and "RRF k=60" in m.value for m in at.markdown)
    assert not at.exception
