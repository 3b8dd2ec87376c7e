"""An API key never lands on disk, in a log, an output or a report.

API evaluations run against the fake OpenAI-compatible server with a recognisable key
(``sk-EMS-CANARY-<random>``): through the engine (key from the session argument and from
``OPENAI_API_KEY``), through the CLI, and through the Evaluate page with the key typed into
its password field. The server really receives the key (checked), including a server that
echoes it back in an error message. Then every place it could leak to is searched for the
key: the DuckDB file and its WAL (raw bytes, and every table's values, since DuckDB may
compress strings on disk), the embedding cache, the uploads folder, captured logs (DEBUG
level), stdout/stderr of this process and of the CLI, the page's rendered elements, and the
HTML and Markdown reports from ``lib.report`` and from ``python -m lib report``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import report, store
from lib.errors import UserError
from lib.evaluation import engine, runs
from tests.conftest import wait_for_jobs
from tests.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "data" / "demo"
TOKEN = uuid.uuid4().hex  # the part no code could produce by chance
KEY = f"sk-EMS-CANARY-{TOKEN}"


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    d = {"db": tmp_path / "secrets.duckdb", "cache": tmp_path / "cache", "out": tmp_path / "out"}
    d["out"].mkdir()
    monkeypatch.setenv("EMS_DB", str(d["db"]))
    monkeypatch.setenv("EMS_CACHE_DIR", str(d["cache"]))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return d


def _hits_in_bytes(data: bytes) -> bool:
    return TOKEN.encode() in data or KEY.encode() in data


def _file_hits(*roots: Path) -> tuple[list[str], int]:
    """Files under ``roots`` (files or folders) whose bytes contain the key; and how many were searched."""
    hits, n = [], 0
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
        for f in files:
            n += 1
            if _hits_in_bytes(f.read_bytes()):
                hits.append(str(f))
    return hits, n


def _db_value_hits(db: Path) -> list[str]:
    """Tables with a value containing the key (the logical view: on-disk strings may be compressed)."""
    hits = []
    with store.connect(db) as cur:
        tables = [r[0] for r in cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()]
        for t in tables:
            for row in cur.execute(f'SELECT * FROM "{t}"').fetchall():
                if TOKEN in repr(row):
                    hits.append(t)
                    break
    return hits


def _db_file_hits(db: Path) -> list[str]:
    """DuckDB file and WAL, raw, while this process has it open (WAL not yet checkpointed) and after closing."""
    hits, _ = _file_hits(db, Path(f"{db}.wal"))
    hits += [f"table {t}" for t in _db_value_hits(db)]
    store.close(db)  # checkpoint: everything now in the main file
    more, _ = _file_hits(db, Path(f"{db}.wal"))
    return hits + more


def _sent_key(fake: FakeOpenAI) -> bool:
    return any(r["headers"].get("authorization") == f"Bearer {KEY}" for r in fake.requests)


def _cfg(*models: str) -> engine.EvaluationConfig:
    return engine.EvaluationConfig(models=models, sweep=True, paired_resamples=500)


def test_engine_cli_and_reports_never_contain_the_key(
    fake: FakeOpenAI, dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # openai, httpx, httpcore and ours at their most talkative
    db = dirs["db"]

    # 1. Key from the session (the page's password field passes it as api_key).
    fake.set("ok")
    a = engine.evaluate(DEMO, _cfg(fake.spec(), "bm25"), db_path=db, api_key=KEY)
    assert _sent_key(fake), "the key never reached the server: the search below would prove nothing"
    # 2. Key from the environment.
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake.set("ok")
    b = engine.evaluate(DEMO, _cfg(fake.spec(model="other-model")), db_path=db)
    assert _sent_key(fake)
    # 3. A server that quotes the key in its error: the run fails, the key is redacted everywhere.
    fake.set("echo_key")
    with pytest.raises(UserError) as echoed:
        engine.evaluate(DEMO, _cfg(fake.spec(max_retries="0")), db_path=db, api_key=KEY)
    assert _sent_key(fake)
    assert "HTTP 401" in str(echoed.value) and "[redacted]" in str(echoed.value)
    assert TOKEN not in str(echoed.value) and echoed.value.__cause__ is None
    # 4. A plain server error.
    fake.set("500")
    with pytest.raises(UserError, match="HTTP 500"):
        engine.evaluate(DEMO, _cfg(fake.spec()), db_path=db)
    statuses = runs.list_runs(db).set_index("run_id")["status"]
    assert statuses[a.run_id] == "done" and statuses[b.run_id] == "done"
    assert sorted(statuses) == ["done", "done", "failed", "failed"]
    assert any("[redacted]" in str(e) for e in runs.list_runs(db)["error"])

    # Reports through the library.
    rep = report.build_report([a.run_id, b.run_id], db_path=db)
    (dirs["out"] / "lib.html").write_text(report.to_html(rep), encoding="utf-8")
    (dirs["out"] / "lib.md").write_text(report.to_markdown(report.build_report([a.run_id], db_path=db,
                                        with_figures=False)), encoding="utf-8")
    db_hits = _db_file_hits(db)  # closes the file, so the CLI below can open it

    # The CLI: an evaluation with the key in the environment (one that works, one whose server echoes
    # the key), and both report formats.
    env = {**os.environ, "OPENAI_API_KEY": KEY, "EMS_DB": str(db), "PYTHONUNBUFFERED": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lib", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300)

    fake.set("ok")
    ev_ok = cli("evaluate", "--data", str(DEMO), "--model", fake.spec(), "--model", "bm25", "--format", "json")
    assert ev_ok.returncode == 0, ev_ok.stderr
    assert _sent_key(fake)
    fake.set("echo_key")
    ev_bad = cli("evaluate", "--data", str(DEMO), "--model", fake.spec(max_retries="0"))
    assert ev_bad.returncode == 2 and "error:" in ev_bad.stderr and "[redacted]" in ev_bad.stderr
    assert _sent_key(fake)
    html = cli("report", a.run_id, b.run_id, "--out", str(dirs["out"] / "cli.html"))
    md = cli("report", a.run_id, "--out", str(dirs["out"] / "cli.md"))
    assert html.returncode == 0 and md.returncode == 0, html.stderr + md.stderr
    assert "Recommended" in (dirs["out"] / "cli.md").read_text(encoding="utf-8")
    outputs = {f"cli {p.args[3]} {n}": getattr(p, n) for p in (ev_ok, ev_bad, html, md) for n in ("stdout", "stderr")}

    db_hits += _db_file_hits(db)
    file_hits, n_files = _file_hits(dirs["cache"], dirs["out"])
    assert n_files >= 6  # cache shards for both API models, four reports
    captured = capfd.readouterr()
    stream_hits = [name for name, text in {**outputs, "stdout": captured.out, "stderr": captured.err,
                                            "logs": caplog.text}.items() if TOKEN in text]
    assert caplog.records, "no log records captured: the log search would prove nothing"
    assert db_hits == [] and file_hits == [] and stream_hits == []


def _walk(at: AppTest) -> Iterator[object]:
    yield from at._tree  # every element and block of the rendered page


def _page_hits(at: AppTest) -> list[str]:
    """Rendered elements containing the key, except the password box the user typed it into."""
    hits = []
    for node in _walk(at):
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "SerializeToString"):
            continue
        if getattr(node, "type", "") == "text_input" and getattr(proto, "type", None) == 1:  # PASSWORD
            continue
        if _hits_in_bytes(proto.SerializeToString()):
            hits.append(f"{getattr(node, 'type', '?')}: {str(getattr(node, 'value', ''))[:80]}")
    return hits


def test_evaluate_page_with_typed_key_stores_and_shows_nothing(
    fake: FakeOpenAI, dirs: dict[str, Path], caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    at = AppTest.from_file(str(ROOT / "pages" / "evaluate.py"), default_timeout=180).run()
    # Upload the demo files (so the uploads folder has content to search), as a user would.
    at.file_uploader(key="ev_files").set_value([
        ("corpus.jsonl", (DEMO / "corpus.jsonl").read_bytes(), "application/jsonl"),
        ("queries.jsonl", (DEMO / "queries.jsonl").read_bytes(), "application/jsonl"),
        ("test.tsv", (DEMO / "qrels" / "test.tsv").read_bytes(), "text/tab-separated-values"),
    ])
    at.text_input(key="ev_name").set_value("northwind").run()
    at.button(key="ev_use_files").click().run()
    assert not at.error, [e.value for e in at.error]

    def submit(spec: str) -> None:
        at.multiselect[0].set_value(["bm25"])
        next(t for t in at.text_input if t.label.startswith("Another model")).set_value(spec)
        next(t for t in at.text_input if t.label.startswith("API key")).set_value(KEY)
        at.form_submit_button[0].click().run()
        wait_for_jobs()  # the evaluation is a background job
        at.run()

    fake.set("ok")
    submit(fake.spec())
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _sent_key(fake)
    run_id = at.session_state["ev_run_id"]
    assert runs.load_run(run_id).run["status"] == "done"
    page_hits = _page_hits(at)
    # The element scan does see the key where it legitimately is (the session's own password box).
    box = next(t for t in at.text_input if t.label.startswith("API key"))
    assert _hits_in_bytes(box.proto.SerializeToString())

    fake.set("echo_key")
    assert not at.multiselect[0].disabled
    submit(fake.spec(max_retries="0"))
    assert _sent_key(fake)
    assert len(at.error) == 1 and "HTTP 401" in at.error[0].value and "redacted" in at.error[0].value
    page_hits += _page_hits(at)

    # The Runs page and the report for the finished run.
    runs_page = AppTest.from_file(str(ROOT / "pages" / "runs.py"), default_timeout=120).run()
    assert not runs_page.exception
    page_hits += _page_hits(runs_page)
    rep = report.build_report([run_id])
    (dirs["out"] / "page.html").write_text(report.to_html(rep), encoding="utf-8")
    (dirs["out"] / "page.md").write_text(report.to_markdown(rep), encoding="utf-8")

    db_hits = _db_file_hits(dirs["db"])
    uploads = dirs["cache"] / "uploads"
    file_hits, n_files = _file_hits(dirs["cache"], dirs["out"])
    assert uploads.exists() and any(uploads.rglob("corpus.jsonl"))
    assert n_files >= 5
    captured = capfd.readouterr()
    stream_hits = [n for n, text in {"stdout": captured.out, "stderr": captured.err, "logs": caplog.text}.items()
                   if TOKEN in text]
    assert page_hits == [] and db_hits == [] and file_hits == [] and stream_hits == []
