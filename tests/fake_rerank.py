"""A fault-injecting ``/rerank`` server (Cohere / Jina style, and TEI's form) on 127.0.0.1, for the tests.

``FakeRerank`` answers ``POST …/rerank`` in a switchable ``mode``:

* ``ok`` — ``{"model", "results": [{"index", "relevance_score", "document"}], "usage": {"total_tokens"}}``
  with the deterministic :func:`fake_score` of each document, best first (as servers sort them);
* ``no_usage`` — the same without ``usage`` (as TEI and some proxies answer);
* ``tei`` — TEI's own endpoint: a request with ``documents`` gets HTTP 422 naming ``texts``, one with
  ``texts`` gets ``[{"index", "score"}]``;
* ``v1_missing`` — 404 for ``/v1/rerank``, ok for ``/rerank`` (a server without the ``/v1`` prefix);
* ``429_then_ok`` — the first request gets 429 with ``retry-after-ms: 10``, then ok;
* ``500`` — always HTTP 500 (short retry-after); ``timeout`` — answers after ``delay`` seconds;
* ``malformed`` — truncated JSON; ``short`` — one result missing; ``bad_index`` — an index out of range;
* ``echo_key`` — HTTP 401 whose message quotes the ``Authorization`` header it got.

Every request's path, headers (names in lower case) and body are kept in ``requests``;
``calls`` counts them. Use ``with FakeRerank() as fake: ... fake.spec(...)``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fake_server import FakeServer, JsonHandler

MODES = ("ok", "no_usage", "tei", "v1_missing", "429_then_ok", "500", "timeout", "malformed", "short",
         "bad_index", "echo_key")


def fake_score(query: str, document: str) -> float:
    """Words the two share, plus a small fraction from the document's length (few exact ties)."""
    shared = set(query.lower().split()) & set(document.lower().split())
    return float(len(shared)) + (len(document) % 997) / 1000.0


def fake_tokens(query: str, documents: list[str]) -> int:
    """The tokens the fake reports: words of the query once per document, plus the documents' words."""
    return sum(len(query.split()) + len(d.split()) for d in documents)


class _Handler(JsonHandler):
    def answer(self, fake: Any, mode: str, call: int, req: dict[str, Any]) -> None:
        with fake.lock:
            fake.requests[-1]["path"] = self.path
        docs = req.get("documents") if "documents" in req else req.get("texts", [])
        query = str(req.get("query", ""))
        scored = sorted(((fake_score(query, str(d)), i) for i, d in enumerate(docs)), reverse=True)
        results = [{"index": i, "relevance_score": s, "document": {"text": docs[i]}} for s, i in scored]
        body: dict[str, Any] = {"model": req.get("model", "?"), "results": results,
                                "usage": {"total_tokens": fake_tokens(query, [str(d) for d in docs])}}
        if mode == "429_then_ok" and call == 1:
            self._send(429, json.dumps({"error": {"message": "slow down"}}).encode(), {"retry-after-ms": "10"})
        elif mode == "500":
            self._send(500, json.dumps({"error": {"message": "kaputt"}}).encode(), {"retry-after-ms": "10"})
        elif mode == "timeout":
            fake.stopping.wait(fake.delay)
            self._send(200, json.dumps(body).encode())
        elif mode == "malformed":
            self._send(200, b'{"results": [ {"ind')
        elif mode == "short":
            body["results"] = results[:-1]
            self._send(200, json.dumps(body).encode())
        elif mode == "bad_index":
            body["results"][0]["index"] = len(docs) + 3
            self._send(200, json.dumps(body).encode())
        elif mode == "echo_key":
            auth = self.headers.get("Authorization", "")
            msg = f"invalid api key {auth.removeprefix('Bearer ')} (header was {auth!r})"
            self._send(401, json.dumps({"error": {"message": msg}}).encode())
        elif mode == "tei":
            if "texts" not in req:
                self._send(422, b"Failed to deserialize the JSON body into the target type: missing field `texts`")
            else:
                self._send(200, json.dumps([{"index": i, "score": s} for s, i in scored]).encode())
        elif mode == "v1_missing" and self.path.startswith("/v1/"):
            self._send(404, json.dumps({"error": "Not Found"}).encode())
        else:
            if mode == "no_usage":
                del body["usage"]
            self._send(200, json.dumps(body).encode())


class FakeRerank(FakeServer):
    """The fake ``/rerank`` server; a context manager that starts and stops it."""

    MODES = MODES
    DEFAULT_MODEL = "fake-reranker"
    HANDLER = _Handler

    def record(self, headers: Any, req: dict[str, Any]) -> Any:
        """Headers (names in lower case) and body; the handler adds the path."""
        return {"headers": {k.lower(): v for k, v in headers.items()}, "body": req}

    def spec(self, model: str | None = None, first: str = "bm25", **opts: str) -> str:  # type: ignore[override]
        """A reranked-system spec whose second stage reaches this server (short timeouts and retries)."""
        merged = {"base_url": self.url, "max_retries": "2", "timeout": "0.5", **opts}
        return f"{first}>>rerank:{model or self.DEFAULT_MODEL}?" + "&".join(f"{k}={v}" for k, v in merged.items())
