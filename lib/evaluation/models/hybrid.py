"""Hybrid systems: two or more retrievers fused into one ranking (``bm25+minilm``).

Spec: component specs joined by ``+``, optionally followed by ``#`` and the fusion:

* ``bm25+minilm`` — reciprocal rank fusion (RRF) with k = 60 (Cormack et al. 2009);
* ``bm25+minilm#rrf:k=20`` — RRF with another k;
* ``bm25+minilm#minmax:alpha=0.3`` — min-max normalised scores, weighted sum; ``alpha`` is
  the first system's weight and the rest share ``1 - alpha`` equally (default 0.5);
* ``bm25+minilm#zscore:alpha=0.3`` — the same with z-score normalisation.

This module only parses and names hybrids (so the registry can label them anywhere);
:mod:`lib.evaluation.fusion` computes them with ranx.
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.errors import UserError

#: Fusion names in specs → (ranx normalisation, ranx method).
METHODS = {"rrf": (None, "rrf"), "minmax": ("min-max", "wsum"), "zscore": ("zmuv", "wsum")}
LABELS = {"rrf": "RRF", "minmax": "min-max fusion", "zscore": "z-score fusion"}


@dataclass(frozen=True)
class HybridSpec:
    """A parsed hybrid spec.

    Attributes:
        spec: The spec as given.
        components: Component model specs, in order.
        method: ``rrf``, ``minmax`` or ``zscore``.
        rrf_k: RRF's k.
        weights: Weight per component (score fusion), summing to 1.
    """

    spec: str
    components: tuple[str, ...]
    method: str = "rrf"
    rrf_k: int = 60
    weights: tuple[float, ...] = ()

    @property
    def fusion_label(self) -> str:
        """``RRF k=60`` or ``min-max fusion α=0.3``."""
        if self.method == "rrf":
            return f"RRF k={self.rrf_k}"
        return f"{LABELS[self.method]} α={self.weights[0]:g}"


def is_hybrid(spec: str) -> bool:
    """True for a spec of two or more ``+``-joined systems.

    A reranked spec (``bm25+minilm>>cross:X``, see :mod:`.rerank`) is not a hybrid even when
    its first stage is: ``>>`` is read first.
    """
    return ">>" not in spec and "+" in spec.split("#", 1)[0]


def parse(spec: str) -> HybridSpec:
    """Parse a hybrid spec.

    Args:
        spec: E.g. ``bm25+minilm`` or ``bm25+minilm#minmax:alpha=0.3``.

    Returns:
        The parsed spec.

    Raises:
        UserError: For fewer than two systems, a repeated system, an unknown fusion or option,
            or a weight outside [0, 1].
    """
    systems, _, fusion = spec.strip().partition("#")
    parts = tuple(p.strip() for p in systems.split("+"))
    if len(parts) < 2 or any(not p for p in parts):
        raise UserError(f"hybrid {spec!r}: join two or more models with '+', e.g. bm25+minilm")
    if len(set(parts)) != len(parts):
        raise UserError(f"hybrid {spec!r}: the same model appears twice")
    method, _, opt_text = (fusion or "rrf").partition(":")
    method = method.strip().lower()
    if method not in METHODS:
        raise UserError(f"hybrid {spec!r}: unknown fusion {method!r}; use one of {', '.join(METHODS)}")
    opts: dict[str, str] = {}
    for item in filter(None, (o.strip() for o in opt_text.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            raise UserError(f"hybrid {spec!r}: options look like #minmax:alpha=0.3")
        opts[key.strip()] = value.strip()
    allowed = {"rrf": {"k"}, "minmax": {"alpha"}, "zscore": {"alpha"}}[method]
    unknown = set(opts) - allowed
    if unknown:
        raise UserError(f"hybrid {spec!r}: unknown option(s) {', '.join(sorted(unknown))} for {method}; "
                        f"allowed: {', '.join(sorted(allowed))}")
    try:
        if method == "rrf":
            k = int(opts.get("k", "60"))
            if k < 1:
                raise ValueError
            return HybridSpec(spec, parts, "rrf", rrf_k=k)
        alpha = float(opts.get("alpha", "0.5"))
    except ValueError:
        raise UserError(f"hybrid {spec!r}: k must be a whole number ≥ 1 and alpha a number") from None
    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"hybrid {spec!r}: alpha must be between 0 and 1, got {alpha:g}")
    rest = (1.0 - alpha) / (len(parts) - 1)
    return HybridSpec(spec, parts, method, weights=(alpha, *([rest] * (len(parts) - 1))))
