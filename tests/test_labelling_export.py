"""A labelled set out (Dataset, BEIR folder/zip, pool CSV) and judgements in."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

from lib.errors import UserError
from lib.evaluation.datasets import DatasetError, load_dataset
from lib.labelling import export
from lib.labelling import store as lstore

DOCS = [("=d0", "alpha beta"), ("d1", "gamma"), ("d2", "delta epsilon"), ("d3", "zeta")]
QUERIES = [lstore.QueryRecord("q1", "alpha?"), lstore.QueryRecord("q2", "+gamma"), lstore.QueryRecord("q3", "eta")]


@pytest.fixture
def labelled(tmp_path):
    db = tmp_path / "x.duckdb"
    sid = lstore.create_set(db, name="x", source="t", fingerprint="f", docs=DOCS, queries=QUERIES,
                            query_source="pasted")
    hits = pd.DataFrame([(q.query_id, d, r + 1, 0.0) for q in QUERIES for r, (d, _) in enumerate(DOCS[:3])],
                        columns=["query_id", "doc_id", "rank", "score"])
    lstore.add_pool(db, sid, "bm25", "{}", 3, hits)
    return db, sid


def test_no_positive_grade_is_a_clear_error(labelled):
    db, sid = labelled
    with pytest.raises(UserError, match="no relevant judgement yet"):
        export.labelled_dataset(db, sid)


def test_csv_round_trip_defused_ids_and_blanks(labelled, tmp_path):
    db, sid = labelled
    text = export.pool_csv(db, sid)
    assert text.splitlines()[0] == "query_id,doc_id,query,document,grade"
    assert "'=d0" in text and "'+gamma" in text  # spreadsheet-safe
    sheet = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert len(sheet) == 9 and (sheet["grade"] == "").all()
    sheet.loc[(sheet["query_id"] == "q1") & (sheet["doc_id"] == "'=d0"), "grade"] = "2"
    sheet.loc[(sheet["query_id"] == "q2") & (sheet["doc_id"] == "d1"), "grade"] = "1"
    sheet.loc[(sheet["query_id"] == "q3") & (sheet["doc_id"] == "d2"), "grade"] = "0"
    path = tmp_path / "filled.csv"
    sheet.to_csv(path, index=False)
    rep = export.import_judgements(db, sid, path, "ann")
    assert (rep.stored, rep.blank, rep.outside_pool) == (3, 6, 0)
    ds = export.labelled_dataset(db, sid)
    assert ds.qrels == {"q1": {"=d0": 2}, "q2": {"d1": 1}} and ds.dropped_queries == 1
    assert export.pool_table(db, sid, "ann")["grade"].notna().sum() == 3


@pytest.mark.parametrize(("body", "kind", "line"), [
    ("query_id,doc_id,grade\nq1,d1,5\n", "bad_score", 2),
    ("query_id,doc_id,grade\nq1,d1,1\nq1,d1,2\n", "duplicate_id", 3),
    ("query_id,doc_id\nq1,d1\n", "missing_field", 1),
    ("query_id,doc_id,grade\nq1,d1,\n", "no_judgements", None),
])
def test_import_errors_name_file_and_line(labelled, tmp_path, body, kind, line):
    db, sid = labelled
    path = tmp_path / "j.csv"
    path.write_text(body)
    with pytest.raises(DatasetError) as info:
        export.import_judgements(db, sid, path, "ann")
    assert info.value.kind == kind and info.value.line == line
    assert lstore.latest_judgements(db, sid).empty


def test_import_outside_pool_and_unknown_ids(labelled, tmp_path):
    db, sid = labelled
    path = tmp_path / "qrels.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td3\t2\n")  # qrels header; d3 is not pooled
    assert export.import_judgements(db, sid, path, "ann").outside_pool == 1
    path.write_text("query-id\tcorpus-id\tscore\nq1\tnope\t2\n")
    with pytest.raises(UserError, match="no document 'nope'"):
        export.import_judgements(db, sid, path, "bob")


def test_beir_export_reads_back_to_the_same_dataset(labelled, tmp_path):
    db, sid = labelled
    lstore.record_judgement(db, sid, "q1", "=d0", "ann", 2)
    lstore.record_judgement(db, sid, "q2", "d1", "ann", 1)
    lstore.record_judgement(db, sid, "q2", "d2", "ann", 0)
    ds = export.labelled_dataset(db, sid)
    out = export.export_beir(db, sid, tmp_path / "beir")
    back = load_dataset(out)
    assert back.fingerprint == ds.fingerprint and back.qrels == ds.qrels
    assert (out / "provenance.json").read_text().count('"judge": "ann"') == 1
    with zipfile.ZipFile(io.BytesIO(export.beir_zip(db, sid))) as zf:
        assert sorted(zf.namelist()) == sorted(f"{sid}/{n}" for n in (
            "corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "provenance.json"))
    zpath = tmp_path / "x.zip"
    zpath.write_bytes(export.beir_zip(db, sid))
    assert load_dataset(zpath).fingerprint == ds.fingerprint


def test_parse_label_data():
    assert export.parse_label_data("label:abc") == "abc" and export.parse_label_data("data/demo") is None
