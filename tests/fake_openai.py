"""A fault-injecting OpenAI-compatible embeddings server on 127.0.0.1, shared by the tests.

``FakeOpenAI`` answers ``POST /v1/embeddings`` in a switchable ``mode``:

* ``ok`` — embeddings of dimension 8 (hashed words, so different texts differ);
* ``429_then_ok`` — the first request gets 429 with ``retry-after-ms: 10``, then ok;
* ``500`` — always HTTP 500 (with a short retry-after so retries are fast);
* ``timeout`` — answers only after ``delay`` seconds (longer than the client's timeout);
* ``slow`` — answers ok once ``delay`` seconds have passed since the request came, ``delay`` read
  again every 20 ms: lowering it lets the requests already waiting finish at once (a long job
  that can be followed, then cancelled or finished when the test says so);
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
import time
from typing import Any

from tests.fake_server import FakeServer, JsonHandler

DIM = 8
MODES = ("ok", "429_then_ok", "500", "timeout", "slow", "malformed", "short", "wrong_dim", "hang", "echo_key")


def _vector(text: str, dim: int) -> list[float]:
    vec = [0.01] * dim  # never the zero vector: cosine similarity stays defined
    for word in text.lower().split():
        vec[int.from_bytes(hashlib.sha256(word.encode()).digest()[:4], "big") % dim] += 1.0
    return vec


class _Handler(JsonHandler):
    def answer(self, fake: Any, mode: str, call: int, req: dict[str, Any]) -> None:
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
        elif mode == "slow":
            came = time.monotonic()
            while time.monotonic() - came < fake.delay and not fake.stopping.wait(0.02):
                pass
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


class FakeOpenAI(FakeServer):
    """The fake embeddings server; a context manager that starts and stops it."""

    MODES = MODES
    DEFAULT_MODEL = "fake-model"
    HANDLER = _Handler

    def record(self, headers: Any, req: dict[str, Any]) -> Any:
        """Headers (names in lower case) and body: a test can check that a key really was sent."""
        return {"headers": {k.lower(): v for k, v in headers.items()}, "body": req}
