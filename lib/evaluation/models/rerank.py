"""Reranked systems: a first-stage system's top-N reordered by a second stage (``minilm>>cross:FOLDER``).

Spec: ``FIRST>>STAGE`` where ``FIRST`` is any system — a model spec or a hybrid such as
``bm25+minilm`` — and ``STAGE`` is one of

* ``cross:PATH_OR_HUB_NAME[?top_n=50&batch_size=32&revision=…]`` — a sentence-transformers
  ``CrossEncoder`` run locally: a folder, or a hub name found in the Hugging Face cache (or on
  the hub when online; offline, a model that is not on this machine fails before anything runs);
* ``rerank:MODEL?base_url=URL[&top_n=50&api_key_env=…&timeout=…&price_per_mtok=…&max_retries=…
  &batch_size=…]`` — a ``/rerank`` API (see :mod:`.rerank_api`).

``>>`` binds loosest and is read first: ``bm25+minilm>>cross:X`` reranks the hybrid, and a
reranked spec is never a hybrid. Only one reranking stage is allowed. ``top_n`` (default 50)
documents of the first stage's list are scored as (query, document text) pairs and re-sorted
(ties by document id, as trec_eval orders them); the documents below keep their first-stage
order after them, so Recall@100 stays defined.

This module parses, names and resolves the second stage (no weights loaded) and loads it;
:func:`lib.evaluation.engine.evaluate` runs it.

Public API: :class:`RerankSpec`, :class:`Reranker`, :class:`CrossEncoderReranker`,
:func:`is_reranked`, :func:`parse`, :func:`label`, :func:`check_depth`, :func:`resolve`,
:func:`load`, :func:`reorder`, :func:`system_info`, :func:`keys_in_use`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

import numpy as np

from lib.errors import UserError
from lib.evaluation.models import rerank_api, sbert
from lib.evaluation.models.base import ModelInfo, Usage, check_opts, last_segment, parse_spec

SEP = ">>"
CROSS_KIND = "cross-encoder"
API_KIND = "rerank-api"
KIND = "rerank"  #: :attr:`ModelInfo.kind` of a reranked system
DEFAULT_TOP_N = 50
#: Stage prefix → (kind of the reranker, options it takes).
STAGES: dict[str, tuple[str, frozenset[str]]] = {
    "cross": (CROSS_KIND, frozenset({"top_n", "batch_size", "revision"})),
    "rerank": (API_KIND, frozenset({"base_url", "top_n", "api_key_env", "timeout", "price_per_mtok",
                                    "max_retries", "batch_size"})),
}
_EXAMPLE = "e.g. minilm>>cross:/path/to/cross-encoder or bm25+minilm>>rerank:MODEL?base_url=http://127.0.0.1:8080"


@dataclass(frozen=True)
class RerankSpec:
    """A parsed reranked-system spec.

    Attributes:
        spec: The spec as given.
        first: The first stage's spec (a model or a hybrid).
        stage: ``cross`` or ``rerank``.
        name: The cross-encoder's folder or hub name, or the API's model name.
        options: The second stage's options (``top_n`` included).
        top_n: Documents reranked per query.
    """

    spec: str
    first: str
    stage: str
    name: str
    options: dict[str, str] = field(default_factory=dict)
    top_n: int = DEFAULT_TOP_N

    @property
    def kind(self) -> str:
        """The reranker's kind: ``cross-encoder`` or ``rerank-api``."""
        return STAGES[self.stage][0]

    @property
    def second(self) -> str:
        """The second stage as written after ``>>``."""
        return self.spec.partition(SEP)[2].strip()


class Reranker(Protocol):
    """A second stage: scores (query, document) pairs."""

    info: ModelInfo

    def score(self, query: str, documents: Sequence[str]) -> np.ndarray:
        """One relevance score per document, in the documents' order."""
        ...

    def usage(self) -> Usage:
        """Tokens and cost so far (zero for local models)."""
        ...

    def identity(self) -> ModelInfo:
        """The identity after use (what a server reported about itself)."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def is_reranked(spec: str) -> bool:
    """True for a ``FIRST>>STAGE`` spec (checked before :func:`.hybrid.is_hybrid`)."""
    return SEP in spec


def parse(spec: str) -> RerankSpec:
    """Parse and check a reranked-system spec (the first stage is checked by its own backend later).

    Args:
        spec: E.g. ``minilm>>cross:/models/ce?top_n=20``.

    Returns:
        The parsed spec.

    Raises:
        UserError: For an empty part, a second ``>>``, an unknown stage kind, an unknown
            option, ``top_n`` below 1, or a missing or non-http ``base_url``.
    """
    first, sep, second = spec.strip().partition(SEP)
    first, second = first.strip(), second.strip()
    if not sep:
        raise UserError(f"reranked system {spec!r}: join the first stage and the reranker with '>>', {_EXAMPLE}")
    if not first:
        raise UserError(f"reranked system {spec!r}: the first stage before '>>' is empty, {_EXAMPLE}")
    if not second:
        raise UserError(f"reranked system {spec!r}: the reranker after '>>' is empty, {_EXAMPLE}")
    if SEP in second:
        raise UserError(f"reranked system {spec!r}: only one reranking stage ('>>') is supported")
    prefix, colon, rest = second.partition(":")
    prefix = prefix.strip().lower()
    if not colon or prefix not in STAGES:
        raise UserError(
            f"reranked system {spec!r}: unknown reranker {second!r}; use cross:FOLDER_OR_HUB_NAME (a local "
            "cross-encoder) or rerank:MODEL?base_url=URL (a /rerank API)"
        )
    if not rest.split("?", 1)[0].strip():
        what = "the cross-encoder's folder or hub name" if prefix == "cross" else "the API's model name"
        raise UserError(f"reranked system {spec!r}: give {what} after {prefix}:")
    name, opts = parse_spec(rest)
    kind, allowed = STAGES[prefix]
    check_opts(spec, kind, allowed, opts)
    top_n = opts.get("top_n", str(DEFAULT_TOP_N))
    if not (top_n.isdigit() and int(top_n) >= 1):
        raise UserError(f"reranked system {spec!r}: top_n must be a whole number ≥ 1, got {top_n!r}")
    if "timeout" in opts and float(opts["timeout"]) <= 0:
        raise UserError(f"reranked system {spec!r}: timeout must be more than 0 seconds")
    if "price_per_mtok" in opts and float(opts["price_per_mtok"]) < 0:
        raise UserError(f"reranked system {spec!r}: price_per_mtok cannot be negative")
    if prefix == "rerank":
        base_url = opts.get("base_url", "")
        if not base_url:
            raise UserError(f"reranked system {spec!r}: give the server, e.g. ?base_url=http://127.0.0.1:8080")
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UserError(f"reranked system {spec!r}: base_url must start with http:// or https://")
    return RerankSpec(spec, first, prefix, name, opts, int(top_n))


def label(r: RerankSpec) -> str:
    """The reranker's display label: the model's last name segment (a folder's name).

    Args:
        r: A parsed spec.

    Returns:
        E.g. ``ms-marco-MiniLM-L6-v2`` or ``jina-reranker-v2``.
    """
    return sbert.label(r.name) if r.stage == "cross" else last_segment(r.name)


def check_depth(r: RerankSpec, depth: int) -> None:
    """Reject a ``top_n`` deeper than the first stage's list.

    Args:
        r: A parsed spec.
        depth: Documents the first stage keeps per query (the evaluation's retrieve_k).

    Raises:
        UserError: If ``top_n`` exceeds it.
    """
    if r.top_n > depth:
        raise UserError(
            f"reranked system {r.spec!r}: top_n={r.top_n} is more than the {depth} documents the first stage "
            "keeps per query (retrieve_k); lower top_n or raise retrieve_k"
        )


def _check_cross_encoder(spec: str, folder: Path) -> None:
    """A folder must hold a cross-encoder: an embedding model would get a random scoring head."""
    st_config = folder / "config_sentence_transformers.json"
    model_type = None
    if st_config.is_file():
        try:
            model_type = json.loads(st_config.read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError):
            model_type = None
    if model_type == "CrossEncoder":
        return
    architectures: list[str] = []
    config = folder / "config.json"
    if config.is_file():
        try:
            architectures = list(json.loads(config.read_text(encoding="utf-8")).get("architectures") or [])
        except (OSError, ValueError, AttributeError, TypeError):
            architectures = []
    if model_type is None and any(str(a).endswith("ForSequenceClassification") for a in architectures):
        return
    what = model_type or (", ".join(map(str, architectures)) or "no architecture")
    raise UserError(
        f"reranked system {spec!r}: {folder} is not a cross-encoder ({what}); a sentence-embedding model "
        "such as minilm cannot rerank (its scoring head would be random). Use a CrossEncoder folder or hub name."
    )


def resolve(r: RerankSpec) -> ModelInfo:
    """The reranker's identity, without loading weights or sending a request.

    A cross-encoder is found as sentence-transformers models are (:func:`.sbert.locate`: a
    folder, the Hugging Face cache, the hub only when online), and a folder must hold one.

    Args:
        r: A parsed spec.

    Returns:
        A :class:`ModelInfo` of kind ``cross-encoder`` or ``rerank-api``.

    Raises:
        UserError: If the cross-encoder is not on this machine while the hub is offline, or a
            folder holds no cross-encoder.
    """
    opts = dict(r.options)
    if r.stage == "rerank":
        return ModelInfo(spec=r.second, kind=API_KIND, name=r.name, revision="unversioned",
                         source=opts["base_url"], similarity="", options=opts)
    try:
        loc = sbert.locate(r.name, r.name, opts.get("revision"))
    except UserError as exc:
        raise UserError(f"the cross-encoder of {r.spec!r}: {exc}") from None
    if Path(loc.path).is_dir():
        _check_cross_encoder(r.spec, Path(loc.path))
    return ModelInfo(spec=r.second, kind=CROSS_KIND, name=loc.canonical, revision=loc.revision, source=loc.source,
                     similarity="", options={**opts, "_path": loc.path})


class CrossEncoderReranker:
    """A sentence-transformers ``CrossEncoder`` on CPU (or the default device)."""

    def __init__(self, info: ModelInfo) -> None:
        """Load the weights.

        Args:
            info: From :func:`resolve` (kind ``cross-encoder``).

        Raises:
            UserError: If the model cannot be loaded (the hub unreachable, not a cross-encoder),
                or gives more than one score per pair.
        """
        from sentence_transformers import CrossEncoder

        path = info.options["_path"]
        local = Path(path).exists()
        try:
            self.model = CrossEncoder(
                path,
                revision=None if local else info.options.get("revision"),
                local_files_only=sbert.offline() or local,
            )
        except Exception as exc:
            where = "from the Hugging Face hub (unreachable, or no such model)" if info.source == "hub" else path
            raise UserError(f"could not load cross-encoder {info.name!r} {where}: {exc}") from exc
        if self.model.num_labels != 1:
            raise UserError(
                f"cross-encoder {info.name!r} gives {self.model.num_labels} scores per pair (a classifier); "
                "a reranker gives one relevance score (num_labels=1)"
            )
        self.batch_size = int(info.options.get("batch_size", 32))
        self.info = replace(info, max_tokens=int(self.model.max_seq_length or 0) or None)

    def score(self, query: str, documents: Sequence[str]) -> np.ndarray:
        """Scores of (query, document) pairs.

        Args:
            query: The query text.
            documents: Document texts.

        Returns:
            One float per document.
        """
        if not documents:
            return np.zeros(0, dtype=np.float64)
        out = self.model.predict([(query, d) for d in documents], batch_size=self.batch_size,
                                 show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float64).reshape(-1)

    def usage(self) -> Usage:
        """Local models cost no tokens.

        Returns:
            Zero usage.
        """
        return Usage()

    def identity(self) -> ModelInfo:
        """The identity after loading (its input limit filled in).

        Returns:
            The identity.
        """
        return self.info

    def close(self) -> None:
        """Nothing to release (the weights go with the object)."""


def load(info: ModelInfo) -> Reranker:
    """Instantiate a resolved reranker.

    Args:
        info: From :func:`resolve`.

    Returns:
        A :class:`Reranker`.
    """
    if info.kind == API_KIND:
        return rerank_api.RerankAPI(info)
    return CrossEncoderReranker(info)


def reorder(
    candidates: np.ndarray, scores: np.ndarray, tail: np.ndarray, doc_ids: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """One query's reranked list: the candidates by score, then the rest in first-stage order.

    Args:
        candidates: Document indices that were reranked (the first stage's top-N).
        scores: Their reranker scores.
        tail: Document indices below the top-N, in first-stage order.
        doc_ids: Document ids (the tie-break: id descending, as trec_eval orders ties).

    Returns:
        (indices, scores). The tail's scores are placeholders below every reranked score
        (lowest reranked − 1 − position), so that trec_eval, which sorts by score, keeps
        exactly this order.

    Raises:
        UserError: If a score is not a finite number.
    """
    s = np.asarray(scores, dtype=np.float64)
    if len(s) != len(candidates):
        raise UserError(f"the reranker gave {len(s)} scores for {len(candidates)} documents")
    if not np.isfinite(s).all():
        raise UserError("the reranker gave a score that is not a finite number")
    order = sorted(range(len(candidates)), key=lambda j: (s[j], doc_ids[int(candidates[j])]), reverse=True)
    idx = np.concatenate([np.asarray(candidates, dtype=np.int64)[order], np.asarray(tail, dtype=np.int64)])
    floor = float(s.min()) if len(s) else 0.0
    out = np.concatenate([s[order], floor - 1.0 - np.arange(len(tail), dtype=np.float64)])
    return idx, out


def system_info(r: RerankSpec, first: ModelInfo, reranker: ModelInfo) -> ModelInfo:
    """The identity of a reranked system: the first stage's, the reranker's, and ``top_n``.

    Args:
        r: The parsed spec.
        first: The first stage's identity (after it ran).
        reranker: The reranker's identity (after loading).

    Returns:
        A :class:`ModelInfo` of kind ``rerank``; its options name both stages, the
        reranker's revision (or folder fingerprint) and ``top_n`` (no key, only its variable).
    """
    public = {k: v for k, v in reranker.options.items() if not k.startswith("_") and k != "top_n"}
    ident = json.dumps({"first": first.cache_key, "reranker": [reranker.kind, reranker.name, reranker.revision,
                                                               sorted(public.items())], "top_n": r.top_n})
    return ModelInfo(
        spec=r.spec, kind=KIND, name=f"{first.name}{SEP}{reranker.name}",
        revision=hashlib.sha256(ident.encode()).hexdigest()[:16],
        source=f"top {r.top_n} of {first.spec} reranked by {reranker.name} ({reranker.source})",
        similarity=reranker.kind, max_tokens=reranker.max_tokens, dim=first.dim,
        options={"first_stage": first.spec, "first_stage_kind": first.kind, "first_stage_name": first.name,
                 "first_stage_revision": first.revision, "reranker": reranker.name, "reranker_kind": reranker.kind,
                 "reranker_revision": reranker.revision, "reranker_source": reranker.source, "top_n": str(r.top_n),
                 **{f"reranker_{k}": v for k, v in sorted(public.items())}},
    )


def keys_in_use(infos: Sequence[ModelInfo]) -> list[str]:
    """The keys the given rerankers send (to scrub them from error texts).

    Args:
        infos: Reranker identities.

    Returns:
        The keys found.
    """
    keys = [rerank_api.api_key(i) for i in infos if i.kind == API_KIND]
    return [k for k in keys if k]
