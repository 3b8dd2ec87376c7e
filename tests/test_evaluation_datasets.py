import json
import zipfile
from pathlib import Path

import pytest

from lib.evaluation import datasets
from lib.evaluation.datasets import DatasetError, Limits, load_dataset, load_files, load_pairs


def _beir(tmp: Path, corpus: list, queries: list, qrels: str, split: str = "test") -> Path:
    root = tmp / "data"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(c) for c in corpus) + "\n")
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / f"{split}.tsv").write_text(qrels)
    return root


CORPUS = [
    {"_id": "d1", "title": "Cats", "text": "Cats purr."},
    {"_id": "d2", "title": "", "text": "  Dogs bark.  "},
    {"_id": "d3", "text": "Birds sing."},
]
QUERIES = [{"_id": "q1", "text": "purring"}, {"_id": "q2", "text": "barking"},
           {"_id": "q3", "text": "unjudged"}]


def test_scifact_counts_and_mteb_join(scifact_dir):
    ds = load_dataset(scifact_dir)
    assert (len(ds.doc_ids), len(ds.query_ids), ds.n_qrels) == (5183, 300, 339)
    raw = json.loads((scifact_dir / "corpus.jsonl").open().readline())
    assert ds.doc_texts[0] == (raw["title"] + " " + raw["text"]).strip()
    assert len(ds.fingerprint) == 64


def test_beir_folder_title_join_header_and_unjudged(tmp_path):
    root = _beir(tmp_path, CORPUS, QUERIES, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\n")
    ds = load_dataset(root)
    assert ds.doc_texts == ("Cats Cats purr.", "Dogs bark.", "Birds sing.")
    assert ds.query_ids == ("q1", "q2")
    assert ds.dropped_queries == 1
    assert ds.qrels == {"q1": {"d1": 1}, "q2": {"d2": 2}}


def test_headerless_and_trec_qrels_and_zip(tmp_path):
    root = _beir(tmp_path, CORPUS, QUERIES, "q1 0 d1 1\nq2 0 d2 1\n")
    a = load_dataset(root)
    zpath = tmp_path / "set.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for f in root.rglob("*"):
            if f.is_file():
                zf.write(f, "myset/" + f.relative_to(root).as_posix())
    b = load_dataset(zpath)
    assert a.fingerprint == b.fingerprint
    assert b.name == "myset"


def test_separate_csv_files(tmp_path):
    (tmp_path / "c.csv").write_text('_id,title,text\nd1,T,"hello, world"\nd2,,second\n')
    (tmp_path / "q.tsv").write_text("_id\ttext\nq1\thello\n")
    (tmp_path / "r.csv").write_text("query-id,corpus-id,score\nq1,d1,1\n")
    ds = load_files(tmp_path / "c.csv", tmp_path / "q.tsv", tmp_path / "r.csv")
    assert ds.doc_texts == ("T hello, world", "second")
    assert ds.qrels == {"q1": {"d1": 1}}


def test_pairs_csv_and_jsonl(tmp_path):
    p = tmp_path / "pairs.csv"
    p.write_text("query,document\nwhat is a cat,A cat is a pet.\nwhat is a cat,Cats purr.\n"
                 "dogs?,A cat is a pet.\n")
    ds = load_pairs(p)
    assert ds.query_ids == ("q1", "q2")
    assert ds.doc_ids == ("d1", "d2")
    assert ds.qrels == {"q1": {"d1": 1, "d2": 1}, "q2": {"d1": 1}}
    j = tmp_path / "pairs.jsonl"
    j.write_text(json.dumps({"question": "a", "positive": "b"}) + "\n")
    assert load_dataset(j).qrels == {"q1": {"d1": 1}}


@pytest.mark.parametrize(
    ("corpus", "queries", "qrels", "kind", "line", "field"),
    [
        ([*CORPUS, {"_id": "d1", "text": "again"}], QUERIES, "q1\td1\t1\n", "duplicate_id", 4,
         "_id"),
        (CORPUS, [*QUERIES, {"_id": "q1", "text": "x"}], "q1\td1\t1\n", "duplicate_id", 4, "_id"),
        (CORPUS, QUERIES, "q1\td1\t1\nq1\tnope\t1\n", "dangling_qrel", 2, "corpus-id"),
        (CORPUS, QUERIES, "q9\td1\t1\n", "dangling_qrel", 1, "query-id"),
        ([*CORPUS, {"_id": "d4", "title": " ", "text": " "}], QUERIES, "q1\td1\t1\n",
         "empty_text", 4, "text"),
        (CORPUS, [{"_id": "q1", "text": ""}], "q1\td1\t1\n", "empty_text", 1, "text"),
        ([*CORPUS, {"_id": "d5"}], QUERIES, "q1\td1\t1\n", "missing_field", 4, "text"),
        (CORPUS, QUERIES, "q1\td1\tx\n", "bad_score", 1, "score"),
        (CORPUS, QUERIES, "q1\td1\t0\n", "no_judgements", None, None),
    ],
)
def test_each_problem_has_its_own_message(tmp_path, corpus, queries, qrels, kind, line, field):
    root = _beir(tmp_path, corpus, queries, qrels)
    with pytest.raises(DatasetError) as err:
        load_dataset(root)
    assert err.value.kind == kind
    assert err.value.line == line
    assert err.value.field == field
    if line is not None:
        assert f"line {line}" in str(err.value)


def test_bad_encoding_reports_line(tmp_path):
    root = _beir(tmp_path, CORPUS, QUERIES, "q1\td1\t1\n")
    raw = (root / "corpus.jsonl").read_bytes().replace(b"Birds", b"Bi\xffrds")
    (root / "corpus.jsonl").write_bytes(raw)
    with pytest.raises(DatasetError) as err:
        load_dataset(root)
    assert err.value.kind == "encoding" and err.value.line == 3
    assert "UTF-8" in str(err.value)


def test_limits_and_broken_json(tmp_path):
    root = _beir(tmp_path, CORPUS, QUERIES, "q1\td1\t1\n")
    with pytest.raises(DatasetError) as err:
        load_dataset(root, limits=Limits(max_line_chars=20))
    assert err.value.kind == "line_too_long" and err.value.line == 1
    with pytest.raises(DatasetError) as err:
        load_dataset(root, limits=Limits(max_file_bytes=10))
    assert err.value.kind == "too_large"
    (root / "queries.jsonl").write_text('{"_id": "q1", "text": "a"}\n{"_id": "q2", \n')
    with pytest.raises(DatasetError) as err:
        load_dataset(root)
    assert err.value.kind == "parse" and err.value.line == 2


def test_missing_files_and_split_hint(tmp_path):
    root = _beir(tmp_path, CORPUS, QUERIES, "q1\td1\t1\n", split="dev")
    with pytest.raises(DatasetError) as err:
        load_dataset(root)
    assert err.value.kind == "missing_file" and "qrels/dev.tsv" in str(err.value)
    assert load_dataset(root, split="dev").split == "dev"
    with pytest.raises(DatasetError):
        load_dataset(tmp_path / "nothing-here")


def test_subset_keeps_judged_docs(scifact_dir):
    ds = load_dataset(scifact_dir)
    sub = ds.subset(list(ds.query_ids[:5]), extra_docs=10)
    judged = {d for q in sub.query_ids for d in ds.qrels[q]}
    assert judged <= set(sub.doc_ids)
    assert len(sub.doc_ids) == len(judged) + 10
    assert isinstance(sub, datasets.Dataset)


def test_document_limit_is_the_ems_max_documents_setting(tmp_path, monkeypatch):
    root = _beir(tmp_path, CORPUS, QUERIES, "q1\td1\t1\n")
    monkeypatch.setenv("EMS_MAX_DOCUMENTS", "2")
    assert Limits().max_documents == 2  # read when the limits are made
    with pytest.raises(DatasetError, match=r"holds 3 documents; the limit is 2 \(raise it with the EMS_MAX_DOCUMENTS "
                                           r"setting\)\. Use a sample of your data\.") as err:
        load_dataset(root)
    assert err.value.kind == "too_many"
    monkeypatch.setenv("EMS_MAX_DOCUMENTS", "3")
    assert len(load_dataset(root).doc_ids) == 3
    monkeypatch.setenv("EMS_MAX_DOCUMENTS", "3_000_000")
    assert Limits().max_documents == 3_000_000 and Limits(max_documents=5).max_documents == 5
    monkeypatch.delenv("EMS_MAX_DOCUMENTS")
    assert Limits().max_documents == 2_000_000
