"""Constraints: named, described predicates over one model's facts.

Each constraint kind documents what it does with *unknown* metadata, because a wizard that
silently drops or silently keeps models with missing facts cannot be defended:

==================  ====================================================================
kind                unknown metadata
==================  ====================================================================
model_type          no model type → excluded (cannot tell an embedder from a reranker)
open_weights        unknown → excluded (privacy needs proof the weights are available)
managed_api         no price row → excluded (no published way to call it per token)
latency             size unknown: per option (``unknown``: ``pass`` keeps and marks it,
                    ``exclude`` drops it); an API with a published p95 figure is judged on it
max_params          per option (on-device: excluded, nothing shows it fits)
max_memory          per option (on-device: kept and marked; the size cap already applies)
max_price           API price unknown and no open weights → excluded (the cap cannot be
                    checked); open weights without a price → self-host, kept, estimated
min_max_tokens      unknown → excluded (the chunk may be cut off)
max_dims            unknown → excluded (storage cannot be computed); MRL sizes count
single_vector       late-interaction (one vector per token) → excluded
languages           model lists no languages → kept and marked (English-only models
                    often list none); listed but missing one of yours → excluded
modality            no modalities listed → excluded
min_zero_shot       per option (high stakes: excluded, the score cannot be checked for
                    training-data overlap)
commercial_licence  no licence → excluded (no licence is no permission); custom and
                    copyleft terms → kept and marked
==================  ====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lib import fmt
from lib.articles import RAG_GUIDE
from lib.errors import UserError
from lib.leaderboard import licenses


class ConstraintSpecError(UserError):
    """A constraint spec in the decision tree is malformed."""


@dataclass(frozen=True)
class ModelFacts:
    """What the wizard knows about one model (None = unknown).

    Attributes:
        name: mteb model name.
        n_parameters: Total parameters.
        memory_mb: mteb's ``memory_usage_mb`` (weights in memory).
        max_tokens: Longest input.
        embed_dim: Native output size.
        dims_options: Every output size offered (native plus MRL sizes from mteb and the
            price list).
        license: mteb's licence string.
        license_group: Use group (``lib.leaderboard.licenses``).
        license_reason: Why it is in that group.
        open_weights: Whether the weights are published.
        languages: ISO 639-3 codes the model lists (None: none listed).
        modalities: Input modalities.
        model_types: ``dense``, ``late-interaction``, ``cross-encoder``, ...
        zero_shot: mteb's Zero-shot percentage on the scoring benchmark(s) (None: unknown).
        price_per_1m: API (or third-party hosted) USD per 1M tokens.
        hosting: ``api``, ``hosted``, ``self-host`` or ``unknown``.
        price_source: Source label of the price.
        price_flags: Stale/conflict/override marks.
        selfhost_usd_per_1m: Estimated self-host cost per 1M tokens (open weights).
        selfhost_basis: How that estimate was made.
        api_latency_ms: Published p95 round trip (low, high; KnowledgeSDK's guide) for API models that have one.
    """

    name: str
    n_parameters: float | None = None
    memory_mb: float | None = None
    max_tokens: float | None = None
    embed_dim: int | None = None
    dims_options: tuple[int, ...] = ()
    license: str | None = None
    license_group: str = licenses.UNKNOWN
    license_reason: str = ""
    open_weights: bool | None = None
    languages: tuple[str, ...] | None = None
    modalities: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    zero_shot: int | None = None
    price_per_1m: float | None = None
    hosting: str = "unknown"
    price_source: str = ""
    price_flags: str = ""
    selfhost_usd_per_1m: float | None = None
    selfhost_basis: str = ""
    api_latency_ms: tuple[float, float] | None = None

    @property
    def min_dims(self) -> int | None:
        """The smallest output size offered (MRL included)."""
        return min(self.dims_options) if self.dims_options else self.embed_dim


@dataclass(frozen=True)
class Check:
    """The outcome of one constraint on one model.

    Attributes:
        passed: Whether the model may stay.
        detail: The evidence, e.g. ``568M params ≤ 1,000M``.
        unknown: The metadata needed was missing (passed or not, per the constraint).
    """

    passed: bool
    detail: str
    unknown: bool = False


@dataclass(frozen=True)
class Constraint:
    """A constraint an answer implies, with a predicate over :class:`ModelFacts`.

    Attributes:
        name: Short name (``open weights``).
        description: What it requires, in words.
        question: Id of the question that applies it (``base`` for always-on ones).
        kind: One of :data:`KINDS`.
        args: Kind-specific values (caps, languages, ...), already bound to the answers.
        unknown: ``pass`` or ``exclude``: what unknown metadata does (see the module doc).
    """

    name: str
    description: str
    question: str
    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)
    unknown: str = "exclude"

    def check(self, m: ModelFacts) -> Check:
        """Apply the predicate to one model.

        Args:
            m: The model's facts.

        Returns:
            Pass or fail with the evidence.
        """
        return _CHECKS[self.kind](self, m)

    def _unknown(self, what: str) -> Check:
        if self.unknown == "pass":
            return Check(True, f"{what} unknown, not excluded", unknown=True)
        return Check(False, f"{what} unknown, excluded because it cannot be checked", unknown=True)


# --- predicates ---------------------------------------------------------------------------


def _model_type(c: Constraint, m: ModelFacts) -> Check:
    allowed = c.args["values"]
    if not m.model_types:
        return Check(False, "model type unknown", unknown=True)
    if any(t in allowed for t in m.model_types):
        return Check(True, "/".join(m.model_types))
    return Check(False, f"{'/'.join(m.model_types)} model, not an embedding model for a vector index")


def _open_weights(c: Constraint, m: ModelFacts) -> Check:
    if m.open_weights is None:
        return c._unknown("weight availability")
    return Check(True, "open weights") if m.open_weights else Check(False, "weights not published (API only)")


def _latency(c: Constraint, m: ModelFacts) -> Check:
    cap = c.args["max_params_m"] * 1e6
    if m.n_parameters is not None and m.n_parameters > 0:
        ok = m.n_parameters <= cap
        return Check(ok, f"{fmt.params(m.n_parameters)} params {'≤' if ok else '>'} {fmt.params(cap)}")
    api_cap = c.args.get("max_api_p95_ms")
    if api_cap is not None and m.api_latency_ms is not None:
        lo, hi = m.api_latency_ms
        ok = hi <= api_cap
        return Check(ok, f"API p95 ~{lo:g}–{hi:g} ms ({RAG_GUIDE.short}) {'≤' if ok else '>'} {api_cap:g} ms")
    return c._unknown("model size")


def _managed_api(c: Constraint, m: ModelFacts) -> Check:
    if m.price_per_1m is not None and m.hosting in ("api", "hosted"):
        return Check(True, f"{m.hosting} at ${m.price_per_1m:g}/1M tokens")
    if m.open_weights:
        return Check(False, "no published per-token price: you would host it yourself")
    return Check(False, "no published per-token price in data/pricing.csv", unknown=True)


def _max_params(c: Constraint, m: ModelFacts) -> Check:
    cap = c.args["max_params_m"] * 1e6
    if m.n_parameters is None or m.n_parameters <= 0:
        return c._unknown("parameter count")
    ok = m.n_parameters <= cap
    return Check(ok, f"{fmt.params(m.n_parameters)} params {'≤' if ok else '>'} {fmt.params(cap)}")


def _max_memory(c: Constraint, m: ModelFacts) -> Check:
    cap = c.args["max_mb"]
    if m.memory_mb is None:
        return c._unknown("memory")
    ok = m.memory_mb <= cap
    return Check(ok, f"{m.memory_mb:,.0f} MB {'≤' if ok else '>'} {cap:,} MB")


def _max_price(c: Constraint, m: ModelFacts) -> Check:
    cap = c.args["usd_per_1m"]
    if m.price_per_1m is not None:
        ok = m.price_per_1m <= cap + 1e-12
        price, limit = fmt.usd_price(m.price_per_1m), fmt.usd_price(cap)
        return Check(ok, f"{price}/1M tokens ({m.hosting}) {'≤' if ok else '>'} {limit}")
    if m.open_weights:
        est = m.selfhost_usd_per_1m
        text = f"≈{fmt.usd_price(est)}/1M tokens estimated" if est is not None else "no per-token price"
        return Check(True, f"self-host: {text}, not a quoted price", unknown=True)
    return Check(False, "no published price and no open weights: the cap cannot be checked", unknown=True)


def _min_max_tokens(c: Constraint, m: ModelFacts) -> Check:
    need = c.args["tokens"]
    if m.max_tokens is None:
        return c._unknown("max tokens")
    ok = m.max_tokens >= need
    return Check(ok, f"max tokens {m.max_tokens:,.0f} {'≥' if ok else '<'} your {need:,}")


def _max_dims(c: Constraint, m: ModelFacts) -> Check:
    cap = c.args["dims"]
    if m.embed_dim is None and not m.dims_options:
        return c._unknown("embedding size")
    native = m.embed_dim or max(m.dims_options)
    if native <= cap:
        return Check(True, f"{native:,} dims ≤ {cap:,}")
    fitting = [d for d in m.dims_options if d <= cap]
    if fitting:
        return Check(True, f"{native:,} dims, {max(fitting):,} via MRL truncation ≤ {cap:,}")
    return Check(False, f"{native:,} dims > {cap:,} and no MRL size at or below it")


def _single_vector(c: Constraint, m: ModelFacts) -> Check:
    if "late-interaction" in m.model_types and "dense" not in m.model_types:
        return Check(False, "late-interaction: one vector per token multiplies storage")
    return Check(True, "one vector per chunk")


def _languages(c: Constraint, m: ModelFacts) -> Check:
    want: tuple[str, ...] = c.args["languages"]
    if not m.languages:
        return Check(True, "model lists no languages: unknown, not excluded", unknown=True)
    missing = [x for x in want if x not in m.languages]
    if missing:
        return Check(False, f"mteb's language list lacks {', '.join(missing)}")
    return Check(True, f"lists {', '.join(want)}")


def _modality(c: Constraint, m: ModelFacts) -> Check:
    need = c.args["modality"]
    if not m.modalities:
        return Check(False, "modalities unknown", unknown=True)
    if need in m.modalities:
        return Check(True, f"takes {need}")
    return Check(False, f"takes {', '.join(m.modalities)}, not {need}")


def _min_zero_shot(c: Constraint, m: ModelFacts) -> Check:
    need = c.args["percent"]
    if m.zero_shot is None:
        return c._unknown("training data (Zero-shot)")
    ok = m.zero_shot >= need
    return Check(ok, f"Zero-shot {m.zero_shot} % {'≥' if ok else '<'} {need} %")


def _commercial_licence(c: Constraint, m: ModelFacts) -> Check:
    g = m.license_group
    shown = licenses.short_label(m.license) if m.license else "none recorded"
    if g in (licenses.PERMISSIVE, licenses.PROPRIETARY_API):
        return Check(True, f"{g} ({shown})")
    if g in (licenses.CUSTOM, licenses.COPYLEFT):
        return Check(True, f"{g} ({shown}): commercial with conditions, read them", unknown=True)
    if g == licenses.NON_COMMERCIAL:
        return Check(False, f"non-commercial licence ({shown})")
    return Check(False, f"no usable licence recorded ({shown}): no licence is no permission", unknown=True)


_CHECKS = {
    "model_type": _model_type,
    "open_weights": _open_weights,
    "latency": _latency,
    "managed_api": _managed_api,
    "max_params": _max_params,
    "max_memory": _max_memory,
    "max_price": _max_price,
    "min_max_tokens": _min_max_tokens,
    "max_dims": _max_dims,
    "single_vector": _single_vector,
    "languages": _languages,
    "modality": _modality,
    "min_zero_shot": _min_zero_shot,
    "commercial_licence": _commercial_licence,
}
#: Every constraint kind the decision tree may use.
KINDS: tuple[str, ...] = tuple(_CHECKS)

# kind → (required args with their types, default unknown policy).
_ARGS: dict[str, tuple[dict[str, type | tuple[type, ...]], str]] = {
    "model_type": ({"values": list}, "exclude"),
    "open_weights": ({}, "exclude"),
    "latency": ({"max_params_m": (int, float)}, "exclude"),
    "managed_api": ({}, "exclude"),
    "max_params": ({"max_params_m": (int, float)}, "exclude"),
    "max_memory": ({"max_mb": (int, float)}, "pass"),
    "max_price": ({"usd_per_1m": (int, float)}, "exclude"),
    "min_max_tokens": ({}, "exclude"),
    "max_dims": ({"dims": int}, "exclude"),
    "single_vector": ({}, "exclude"),
    "languages": ({}, "pass"),
    "modality": ({"modality": str}, "exclude"),
    "min_zero_shot": ({"percent": (int, float)}, "exclude"),
    "commercial_licence": ({}, "exclude"),
}


def _describe(kind: str, a: Mapping[str, Any]) -> tuple[str, str]:
    """Default (name, description) of a constraint from its kind and bound args."""
    if kind == "model_type":
        return "embedding model", f"model type is one of {', '.join(a['values'])}"
    if kind == "open_weights":
        return "open weights", "weights published, so it runs on your own infrastructure"
    if kind == "latency":
        p95 = a.get("max_api_p95_ms")
        extra = f", or an API with a published p95 ≤ {p95:g} ms ({RAG_GUIDE.short})" if p95 else ""
        return "latency", f"at most {fmt.params(a['max_params_m'] * 1e6)} parameters{extra}"
    if kind == "managed_api":
        return "managed API", "callable at a published per-token price (vendor API or third-party host)"
    if kind == "max_params":
        return "size", f"at most {fmt.params(a['max_params_m'] * 1e6)} parameters"
    if kind == "max_memory":
        return "memory", f"at most {a['max_mb']:,} MB of weights in memory"
    if kind == "max_price":
        return "budget", f"at most {fmt.usd_price(a['usd_per_1m'])} per 1M tokens (self-host: estimated, marked)"
    if kind == "min_max_tokens":
        return "context length", f"max tokens ≥ your chunk length ({a['tokens']:,} tokens)"
    if kind == "max_dims":
        return "storage", f"at most {a['dims']:,} stored dimensions (MRL truncation counts)"
    if kind == "single_vector":
        return "one vector per chunk", "not late-interaction (one vector per token)"
    if kind == "languages":
        return "languages", f"mteb's language list covers {', '.join(a['languages'])}"
    if kind == "modality":
        return "modality", f"takes {a['modality']} input"
    if kind == "min_zero_shot":
        return "trustworthy scores", f"mteb Zero-shot ≥ {a['percent']:g} % (training data known)"
    if kind == "commercial_licence":
        return "commercial licence", "licence allows commercial use (no non-commercial, none missing)"
    raise ConstraintSpecError(f"unknown constraint kind {kind!r}")


def make_constraint(
    spec: Any,
    where: str,
    *,
    params: Mapping[str, Any],
    question: str = "",
) -> Constraint:
    """Build a constraint from its JSON spec, binding parameters (languages, chunk length).

    Args:
        spec: ``{"kind": ..., <args>, "unknown"?, "name"?, "description"?, "param"?}``.
        where: Place in the file, for error messages.
        params: Param name → the user's value.
        question: Question id that applies it.

    Returns:
        The constraint.

    Raises:
        ConstraintSpecError: If the spec is malformed.
    """
    if not isinstance(spec, dict):
        raise ConstraintSpecError(f"{where}: expected an object with a 'kind'")
    kind = spec.get("kind")
    if kind not in _ARGS:
        raise ConstraintSpecError(f"{where}.kind: {kind!r} is not one of {', '.join(_ARGS)}")
    required, default_unknown = _ARGS[kind]
    args: dict[str, Any] = {}
    for key, typ in required.items():
        if key not in spec:
            raise ConstraintSpecError(f"{where}: constraint {kind!r} needs {key!r}")
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, typ):
            raise ConstraintSpecError(f"{where}.{key}: wrong type {type(value).__name__}")
        args[key] = value
    if kind == "latency" and "max_api_p95_ms" in spec:
        args["max_api_p95_ms"] = float(spec["max_api_p95_ms"])
    if kind == "languages":
        if "param" in spec:
            value = params.get(spec["param"])
            if value is None:
                raise ConstraintSpecError(f"{where}: parameter {spec['param']!r} has no value")
            args["languages"] = tuple(value)
        elif isinstance(spec.get("languages"), list) and spec["languages"]:
            args["languages"] = tuple(spec["languages"])
        else:
            raise ConstraintSpecError(f"{where}: 'languages' needs a 'languages' list or a 'param'")
    if kind == "min_max_tokens":
        name = spec.get("param")
        if not isinstance(name, str) or params.get(name) is None:
            raise ConstraintSpecError(f"{where}: 'min_max_tokens' needs a 'param' naming the chunk length")
        args["tokens"] = int(params[name])
    unknown = spec.get("unknown", default_unknown)
    if unknown not in ("pass", "exclude"):
        raise ConstraintSpecError(f"{where}.unknown: expected 'pass' or 'exclude', got {unknown!r}")
    name, description = _describe(kind, args)
    return Constraint(
        name=str(spec.get("name", name)),
        description=str(spec.get("description", description)),
        question=question,
        kind=kind,
        args=args,
        unknown=unknown,
    )
