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
from typing import Any

from tests.fake_server import FakeServer, JsonHandler

MODES = ("ok", "429_then_ok", "500", "500_then_ok", "timeout", "malformed", "noscore", "fail_after", "echo_key")
PROMPT_TOKENS = 100
COMPLETION_TOKENS = 6
_PAIR = re.compile(r"Query: (.*)\nPassage: (.*?)\n\nSplit this problem", re.DOTALL)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


def fake_score(query: str, passage: str) -> int:
    """The fake judge's UMBRELA score: shared words of length > 3, capped at 3."""
    return min(3, len(_words(query) & _words(passage)))


class _Handler(JsonHandler):
    def answer(self, fake: Any, mode: str, call: int, req: dict[str, Any]) -> None:
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


class FakeChat(FakeServer):
    """The fake chat server; a context manager that starts and stops it."""

    MODES = MODES
    DEFAULT_MODEL = "fake-chat"
    HANDLER = _Handler

    def __init__(self, mode: str = "ok", delay: float = 1.5) -> None:
        super().__init__(mode, delay)
        self.fail_after_n = 0
        self.scores: dict[tuple[str, str], int] = {}
