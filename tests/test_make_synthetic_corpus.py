"""scripts/make_synthetic_corpus.py writes a valid, deterministic BEIR folder that load_dataset reads."""

import hashlib
import subprocess
import sys
from pathlib import Path

from lib.evaluation.datasets import load_dataset

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "make_synthetic_corpus.py"


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
        h.update((folder / name).read_bytes())
    return h.hexdigest()


def run(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(out), *args], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)


def test_output_is_a_valid_beir_folder_and_deterministic(tmp_path):
    a = tmp_path / "a"
    assert run(a, "--docs", "25000", "--queries", "40", "--seed", "3").returncode == 0
    ds = load_dataset(a)
    assert len(ds.doc_ids) == 25_000 and len(ds.query_ids) == 40 and ds.n_qrels == 40
    assert ds.doc_ids[:2] == ("doc0", "doc1") and len(set(ds.doc_texts)) > 24_900
    # Each query's words come from its one relevant document.
    text = dict(zip(ds.doc_ids, ds.doc_texts, strict=True))
    for qid, qtext in zip(ds.query_ids, ds.query_texts, strict=True):
        (doc,) = ds.qrels[qid]
        assert set(qtext.split()) <= set(text[doc].split())
    assert run(tmp_path / "b", "--docs", "25000", "--queries", "40", "--seed", "3").returncode == 0
    assert digest(a) == digest(tmp_path / "b")
    assert run(tmp_path / "c", "--docs", "25000", "--queries", "40", "--seed", "4").returncode == 0
    assert digest(a) != digest(tmp_path / "c")


def test_bad_arguments(tmp_path):
    proc = run(tmp_path / "x", "--docs", "0")
    assert proc.returncode == 2 and "--docs and --queries must be at least 1" in proc.stderr
    assert run(tmp_path / "y", "--docs", "3", "--queries", "10").returncode == 0
    assert len(load_dataset(tmp_path / "y").query_ids) == 3  # capped at the number of documents
