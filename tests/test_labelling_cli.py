"""``python -m lib label …`` verbs end to end (BM25 only, so it runs in seconds)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from lib.__main__ import main
from tests.fake_chat import FakeChat

DEMO = "data/demo"


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def bare(tmp_path):
    d = tmp_path / "docs"
    d.mkdir()
    shutil.copy(f"{DEMO}/corpus.jsonl", d / "corpus.jsonl")
    (tmp_path / "q.txt").write_text("lost laptop what now\nreset two factor authentication\n")
    return d, tmp_path / "q.txt"


def test_pool_judge_llm_status_export_evaluate(capsys, tmp_path, bare):
    db = str(tmp_path / "cli.duckdb")
    docs, qfile = bare
    code, out, _ = _run(capsys, "label", "pool", "--data", str(docs), "--queries-file", str(qfile),
                        "--model", "bm25", "--depth", "5", "--db", db, "--format", "json")
    assert code == 0
    res = json.loads(out)
    sid = res["set"]
    assert res["pool"]["size"] == 10 and res["pool"]["n_queries"] == 2
    csv_path = tmp_path / "pool.csv"
    assert _run(capsys, "label", "export-pool", sid, "--out", str(csv_path), "--db", db)[0] == 0
    sheet = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    assert list(sheet.columns) == ["query_id", "doc_id", "query", "document", "grade"]
    sheet["grade"] = ["2" if i % 3 == 0 else "0" for i in range(len(sheet))]
    sheet.to_csv(csv_path, index=False)
    code, out, _ = _run(capsys, "label", "import", sid, "--judgements", str(csv_path), "--judge", "ann",
                        "--db", db, "--format", "json")
    assert code == 0 and json.loads(out)["stored"] == 10
    with FakeChat() as fake:
        spec = fake.spec(price_per_mtok="0.15", output_price_per_mtok="0.6")
        code, out, err = _run(capsys, "label", "llm", sid, "--model", spec, "--dry-run", "--db", db,
                              "--format", "json")
        assert code == 0 and "estimate: 10 requests" in err and fake.calls == 0
        assert json.loads(out)["estimate"]["requests"] == 10
        code, _, err = _run(capsys, "label", "llm", sid, "--model", spec, "--max-cost", "0.000001", "--db", db)
        assert code == 2 and err.count("\n") == 2 and "error: this would cost up to" in err and fake.calls == 0
        code, out, err = _run(capsys, "label", "llm", sid, "--model", fake.spec(), "--db", db, "--format", "json")
        assert code == 0 and "unknown" in err and json.loads(out)["requests"] == 10 == fake.calls
    code, out, _ = _run(capsys, "label", "status", sid, "--db", db, "--format", "json")
    st = json.loads(out)
    assert code == 0 and {p["judge"] for p in st["progress"]} == {"ann", "llm:fake-chat"}
    assert st["agreement"][0]["n"] == 10
    code, out, _ = _run(capsys, "label", "status", sid, "--db", db)
    assert "Cohen's kappa" in out
    assert _run(capsys, "label", "export", sid, "--out", str(tmp_path / "beir"), "--db", db)[0] == 0
    assert (tmp_path / "beir" / "qrels" / "test.tsv").exists()
    code, out, _ = _run(capsys, "evaluate", "--data", f"label:{sid}", "--model", "bm25", "--model",
                        "bm25?k1=1.5", "--no-sweep", "--bootstrap", "50", "--db", db, "--format", "json")
    ev = json.loads(out)
    # Pooled at depth 5: half of bm25's top-10 was judged; the variant was not pooled at all.
    assert code == 0 and ev["label_set"] == sid and ev["judged_at_10"]["bm25"] == 0.5
    assert any(n.startswith("bm25?k1=1.5 did not contribute") for n in ev["notes"])


def test_errors_are_one_line(capsys, tmp_path):
    db = str(tmp_path / "e.duckdb")
    for argv, msg in (
        (["label", "status", "nope", "--db", db], "no label set 'nope'"),
        (["label", "pool", "--data", DEMO, "--no-folder-queries", "--model", "bm25", "--db", db], "no queries"),
        (["label", "llm", "x", "--model", "gpt-4o", "--db", db], "OpenAI-compatible"),
        (["evaluate", "--data", "label:nope", "--model", "bm25", "--db", db], "no label set"),
    ):
        code, _, err = _run(capsys, *argv)
        assert code == 2 and err.startswith("error: ") and msg in err and err.count("\n") == 1, err
