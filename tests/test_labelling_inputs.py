"""Inputs without judgements: documents only, or documents + a queries file or pasted lines."""

from __future__ import annotations

import zipfile
from pathlib import Path

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


def test_uploaded_collection_is_staged_like_evaluation_uploads(tmp_path):
    from lib.errors import UserError
    from lib.evaluation import uploads

    corpus = uploads.Upload("My Docs.jsonl", Path(DEMO, "corpus.jsonl").read_bytes())
    queries = uploads.Upload("questions.txt", b"how do I reset my password\nvpn?\n")
    c = uploads.save_collection(corpus, queries, max_bytes=10**7, root=tmp_path)
    assert (c.name, len(c.doc_ids), c.query_texts, c.query_source) == (
        "My Docs", 149, ("how do I reset my password", "vpn?"), "file")
    first = list(tmp_path.iterdir())
    assert len(first) == 1 and c.source.startswith(str(first[0]))  # the kept copy, never the staging folder
    pasted = uploads.save_collection(corpus, None, ["one", "two"], max_bytes=10**7, root=tmp_path)
    assert pasted.query_texts == ("one", "two") and pasted.query_source == "pasted"
    kept = sorted(p.name for p in tmp_path.iterdir())  # corpus + queries file, and the corpus alone
    assert len(kept) == 2
    with pytest.raises(UserError) as info:
        uploads.save_collection(uploads.Upload("bad.jsonl", b'{"_id": "a", "text": "x"}\n{"_id": \n'),
                                max_bytes=10**7, root=tmp_path)
    assert "bad.jsonl" in str(info.value) and "line 2" in str(info.value) and ".incoming-" not in str(info.value)
    with pytest.raises(UserError, match="expected a"):
        uploads.save_collection(uploads.Upload("docs.xlsx", b"PK"), max_bytes=10**7, root=tmp_path)
    with pytest.raises(UserError, match="not both"):
        uploads.save_collection(corpus, queries, ["x"], max_bytes=10**7, root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == kept  # nothing else left behind
