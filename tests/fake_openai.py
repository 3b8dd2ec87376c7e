"""A fault-injecting OpenAI-compatible embeddings server on 127.0.0.1, shared by the tests.

``FakeOpenAI`` answers ``POST /v1/embeddings`` in a switchable ``mode``:

* ``ok`` — embeddings of dimension 8 (hashed words, so different texts differ);
* ``429_then_ok`` — the first request gets 429 with ``retry-after-ms: 10``, then ok;
* ``500`` — always HTTP 500 (with a short retry-after so retries are fast);
* ``timeout`` — answers only after ``delay`` seconds (longer than the client's timeout);
* ``malformed`` — truncated JSON; ``short`` — no embeddings; ``wrong_dim`` — 5 dimensions;
* ``hang`` — never answers until the server stops (a request in flight when a process is killed);
* ``echo_key`` — HTTP 401 whose error message quotes the ``Authorization`` header it got,
  as a careless proxy might: the key must still never be stored, shown or logged.

Every request's headers (names in lower case) and body are kept in ``requests`` (so a test can check that a key
really was sent), ``calls`` counts them. Use ``with FakeOpenAI() as fake: ... fake.url``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIM = 8
MODES = ("ok", "429_then_ok", "500", "timeout", "malformed", "short", "wrong_dim", "hang", "echo_key")


def _vector(text: str, dim: int) -> list[float]:
    vec = [0.01] * dim  # never the zero vector: cosine similarity stays defined
    for word in text.lower().split():
        vec[int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % dim] += 1.0
    return vec


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet: the tests read their own output
        pass

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout) or was killed: nothing to answer
            pass

    def do_POST(self) -> None:
        fake = self.server.fake
        n = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(n))
        with fake.lock:
            fake.calls += 1
            call = fake.calls
            fake.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": req})
        mode = fake.mode
        texts = req["input"] if isinstance(req["input"], list) else [req["input"]]
        dim = 5 if mode == "wrong_dim" else int(req.get("dimensions") or DIM)
        ok = json.dumps({
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": _vector(str(t), dim)}
                     for i, t in enumerate(texts)],
            "model": req["model"],
            "usage": {"prompt_tokens": 3 * len(texts), "total_tokens": 3 * len(texts)},
        }).encode()
        if mode == "429_then_ok" and call == 1:
            err = {"error": {"message": "slow down", "type": "rate_limit"}}
            self._send(429, json.dumps(err).encode(), {"retry-after-ms": "10"})
        elif mode == "500":
            self._send(500, json.dumps({"error": {"message": "kaputt"}}).encode(), {"retry-after-ms": "10"})
        elif mode == "timeout":
            fake.stopping.wait(fake.delay)
            self._send(200, ok)
        elif mode == "hang":
            fake.stopping.wait()
        elif mode == "malformed":
            self._send(200, b'{"object": "list", "data": [ {"emb')
        elif mode == "short":
            body = {"object": "list", "data": [], "model": "m", "usage": {"prompt_tokens": 0, "total_tokens": 0}}
            self._send(200, json.dumps(body).encode())
        elif mode == "echo_key":
            auth = self.headers.get("Authorization", "")
            msg = f"Incorrect API key provided: {auth.removeprefix('Bearer ')} (header was {auth!r})"
            self._send(401, json.dumps({"error": {"message": msg, "type": "invalid_request_error"}}).encode())
        else:
            self._send(200, ok)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeOpenAI


class FakeOpenAI:
    """The fake server; a context manager that starts and stops it."""

    def __init__(self, mode: str = "ok", delay: float = 1.5) -> None:
        self.mode = mode
        self.delay = delay
        self.calls = 0
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._srv = _Server(("127.0.0.1", 0), _Handler)
        self._srv.fake = self
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self._srv.server_address[1]}/v1"

    def set(self, mode: str) -> FakeOpenAI:
        """Switch mode and reset the counters."""
        assert mode in MODES, mode
        with self.lock:
            self.mode, self.calls, self.requests = mode, 0, []
        return self

    def spec(self, model: str = "fake-model", **opts: str) -> str:
        """A model spec reaching this server (short timeouts and retries by default)."""
        merged = {"base_url": self.url, "max_retries": "2", "timeout": "0.5", **opts}
        return f"openai:{model}?" + "&".join(f"{k}={v}" for k, v in merged.items())

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # releases 'hang' and 'timeout' handlers
        self._srv.shutdown()
        self._srv.server_close()
        self._thread.join(timeout=5)
