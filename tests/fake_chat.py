"""A fault-injecting OpenAI-compatible *chat* server on 127.0.0.1 (``POST /v1/chat/completions``).

Answers are deterministic, so tests can predict them:

* a relevance-judging prompt (it holds ``Query: …`` and ``Passage: …``) is answered
  ``##final score: N`` with N = :func:`fake_score` (word overlap of query and passage,
  0–3), or the score :attr:`FakeChat.scores` names for that (query, passage);
* any other prompt (synthetic queries) gets ``What about <first five words of the passage>?``.

Modes (:attr:`FakeChat.mode`): ``ok``; ``429_then_ok`` (the first request gets 429 with
``retry-after-ms: 10``); ``500`` (always); ``500_then_ok``; ``timeout`` (answers after
``delay`` s); ``malformed`` (truncated JSON); ``noscore`` (a fluent answer without a score);
``fail_after`` (ok for ``fail_after_n`` requests, then 500 for ever); ``echo_key`` (401
quoting the Authorization header). ``calls`` counts requests, ``requests`` keeps their bodies.
Usage: 100 prompt tokens and 6 completion tokens per answer.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("ok", "429_then_ok", "500", "500_then_ok", "timeout", "malformed", "noscore", "fail_after", "echo_key")
PROMPT_TOKENS = 100
COMPLETION_TOKENS = 6
_PAIR = re.compile(r"Query: (.*)\nPassage: (.*?)\n\nSplit this problem", re.DOTALL)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


def fake_score(query: str, passage: str) -> int:
    """The fake judge's UMBRELA score: shared words of length > 3, capped at 3."""
    return min(3, len(_words(query) & _words(passage)))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
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
        except OSError:
            pass

    def do_POST(self) -> None:
        fake = self.server.fake
        n = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(n))
        with fake.lock:
            fake.calls += 1
            call = fake.calls
            fake.requests.append(req)
        mode = fake.mode
        user = next((m["content"] for m in reversed(req.get("messages", [])) if m.get("role") == "user"), "")
        m = _PAIR.search(user)
        if m:
            q, p = m.group(1), m.group(2)
            score = fake.scores.get((q, p), fake_score(q, p))
            content = f"##final score: {score}"
        else:
            passage = user.rsplit("Passage:", 1)[-1].split()
            content = "What about " + " ".join(passage[:5]) + "?"
        if mode == "noscore":
            content = "This passage looks quite relevant to me."
        ok = json.dumps({
            "id": f"chatcmpl-{call}", "object": "chat.completion", "created": 0, "model": req.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                      "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
        }).encode()
        fail = json.dumps({"error": {"message": "kaputt"}}).encode()
        if mode == "429_then_ok" and call == 1:
            self._send(429, json.dumps({"error": {"message": "slow down"}}).encode(), {"retry-after-ms": "10"})
        elif (mode == "500" or (mode == "500_then_ok" and call == 1)
              or (mode == "fail_after" and call > fake.fail_after_n)):
            self._send(500, fail, {"retry-after-ms": "10"})
        elif mode == "timeout":
            fake.stopping.wait(fake.delay)
            self._send(200, ok)
        elif mode == "malformed":
            self._send(200, b'{"id": "x", "choices": [ {"mess')
        elif mode == "echo_key":
            auth = self.headers.get("Authorization", "")
            msg = f"Incorrect API key provided: {auth.removeprefix('Bearer ')}"
            self._send(401, json.dumps({"error": {"message": msg}}).encode())
        else:
            self._send(200, ok)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeChat


class FakeChat:
    """The fake chat server; a context manager that starts and stops it."""

    def __init__(self, mode: str = "ok", delay: float = 1.5) -> None:
        self.mode = mode
        self.delay = delay
        self.fail_after_n = 0
        self.scores: dict[tuple[str, str], int] = {}
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

    def set(self, mode: str, **attrs: Any) -> FakeChat:
        """Switch mode (and e.g. ``fail_after_n``) and reset the counters."""
        assert mode in MODES, mode
        with self.lock:
            self.mode, self.calls, self.requests = mode, 0, []
            for k, v in attrs.items():
                setattr(self, k, v)
        return self

    def spec(self, model: str = "fake-chat", **opts: str) -> str:
        """A chat model spec reaching this server (short timeouts and retries by default)."""
        merged = {"base_url": self.url, "max_retries": "2", "timeout": "0.5", **opts}
        return f"openai:{model}?" + "&".join(f"{k}={v}" for k, v in merged.items())

    def __enter__(self) -> FakeChat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._srv.shutdown()
        self._srv.server_close()
        self._thread.join(timeout=5)
