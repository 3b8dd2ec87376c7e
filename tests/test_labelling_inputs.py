"""Inputs without judgements: documents only, or documents + a queries file or pasted lines."""

from __future__ import annotations

import zipfile

import pytest

from lib.evaluation.datasets import DatasetError, Limits, load_collection

DEMO = "data/demo"


def test_folder_zip_and_corpus_file(tmp_path):
    c = load_collection(DEMO)
    assert (len(c.doc_ids), len(c.query_ids), c.query_source) == (149, 60, "file")
    assert any("qrels" in n for n in c.notes)
    docs_only = load_collection(DEMO, folder_queries=False)
    assert docs_only.query_ids == () and docs_only.query_source == "none"
    z = tmp_path / "d.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(f"{DEMO}/corpus.jsonl", "demo/corpus.jsonl")
    assert load_collection(z).doc_ids == c.doc_ids
    single = load_collection(f"{DEMO}/corpus.jsonl", query_lines=["how do I reset my password", "", "vpn?"])
    assert single.query_texts == ("how do I reset my password", "vpn?") and single.query_ids == ("q1", "q2")
    assert single.query_source == "pasted"


def test_queries_file_txt_and_jsonl(tmp_path):
    txt = tmp_path / "q.txt"
    txt.write_text("\ufefffirst question\nsecond question\n\nfirst question\n", encoding="utf-8")
    c = load_collection(DEMO, queries_file=txt)
    assert c.query_texts == ("first question", "second question")
    jl = tmp_path / "queries.jsonl"
    jl.write_text('{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n')
    with pytest.raises(DatasetError) as info:
        load_collection(DEMO, queries_file=jl)
    assert info.value.kind == "duplicate_id" and info.value.line == 2


@pytest.mark.parametrize(("lines", "kind"), [
    (["", "  "], "empty_file"), (["ok", "a\x00b"], "binary"), (["x" * 20], "line_too_long"),
    ([f"q{i}" for i in range(5)], "too_many"),
])
def test_pasted_lines_errors(lines, kind):
    with pytest.raises(DatasetError) as info:
        load_collection(DEMO, query_lines=lines, limits=Limits(max_line_chars=10, max_queries=3))
    assert info.value.kind == kind


def test_same_errors_as_datasets(tmp_path):
    bad = tmp_path / "corpus.jsonl"
    bad.write_bytes(b'{"_id": "a", "text": "caf\xe9"}\n')
    with pytest.raises(DatasetError) as info:
        load_collection(bad)
    assert info.value.kind == "encoding" and info.value.line == 1
    with pytest.raises(DatasetError, match="not both"):
        load_collection(DEMO, queries_file=bad, query_lines=["x"])
    with pytest.raises(DatasetError) as info:
        load_collection(tmp_path / "nope")
    assert info.value.kind == "missing_file"
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="missing corpus"):
        load_collection(tmp_path / "empty")
