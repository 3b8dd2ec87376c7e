"""The demo dataset in data/demo is valid for the engine and has the mix its README promises."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from lib.evaluation import datasets

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def _queries() -> list[dict[str, str]]:
    return [json.loads(line) for line in (DEMO / "queries.jsonl").read_text(encoding="utf-8").splitlines()]


def test_demo_loads_with_the_engine_validation() -> None:
    ds = datasets.load_dataset(DEMO)
    assert 120 <= len(ds.doc_ids) <= 200
    assert 40 <= len(ds.query_ids) <= 60
    assert ds.dropped_queries == 0
    for rel in ds.qrels.values():
        assert 1 <= len(rel) <= 3
        assert set(rel.values()) <= {1, 2}
        assert 2 in rel.values()  # every query has a document that answers it


def test_demo_documents_are_short_and_titled() -> None:
    docs = [json.loads(line) for line in (DEMO / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    for d in docs:
        assert d["title"].strip()
        assert 40 <= len(d["text"].split()) <= 150, d["_id"]
    prefixes = Counter(d["_id"].split("-")[0] for d in docs)
    assert set(prefixes) == {"prod", "api", "rb", "hr", "it", "sec", "bill"}


def test_demo_query_mix() -> None:
    kinds = Counter(q["kind"].split("-")[0] for q in _queries())
    assert kinds["paraphrase"] >= 10
    assert kinds["identifier"] >= 10
    assert kinds["multilingual"] >= 3
    langs = {q["kind"] for q in _queries() if q["kind"].startswith("multilingual")}
    assert langs == {"multilingual-de", "multilingual-es", "multilingual-fr"}


def test_demo_readme_states_licence_and_authorship() -> None:
    text = (DEMO / "README.md").read_text(encoding="utf-8")
    assert "CC0" in text
    assert "written by" in text.lower() or "Written by" in text
