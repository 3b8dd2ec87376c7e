"""Retrieval pipelines the wizard's answers call for, as specs the Evaluate page runs.

Teams deploy a retrieval stack, not a model: an answer of ``data/decision_tree.json`` can
carry pipeline hints (:class:`lib.decision.tree.PipelineHint`). Applied to the shortlist they
become concrete systems to evaluate beside the plain models:

* ``chunk`` (long documents) → ``MODEL?chunk=auto``: documents split with the model's own
  tokenizer to its input limit, each scored by its best chunk (MaxP). Only local
  sentence-transformers models chunk (an API model's tokenizer is not at hand);
* ``hybrid`` (several languages) → ``bm25+MODEL``: BM25 and the dense model fused by
  reciprocal rank fusion (k = 60).

The specs use the same grammar as everywhere else (:mod:`lib.evaluation.models`), so the
Evaluate page, runs, reports and the CLI treat them like any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lib.decision.tree import Plan, Quote


@dataclass(frozen=True)
class PipelineSuggestion:
    """One system the answers suggest evaluating.

    Attributes:
        spec: What the Evaluate page and ``python -m lib evaluate`` run (``bm25+minilm``).
        label: Its display label, the same as on every other page
            (``BM25 + all-MiniLM-L6-v2 (RRF k=60)``).
        base: The shortlisted model's spec it is built on, to compare against (``minilm``).
        kind: ``chunk`` or ``hybrid``.
        parts: The pipeline's parts in words (``BM25``, ``all-MiniLM-L6-v2``, ``fused by RRF, k = 60``).
        question: The question whose answer suggested it (its title).
        reason: Why, in words.
        why: The articles' words behind it.
    """

    spec: str
    label: str
    base: str
    kind: str
    parts: tuple[str, ...]
    question: str
    reason: str
    why: Quote


def _hybrid(spec: str) -> tuple[str, tuple[str, ...]] | None:
    from lib.evaluation.models import display_label

    if spec == "bm25" or "+" in spec or ">>" in spec:
        return None
    return f"bm25+{spec}", ("BM25", display_label(spec), "fused by reciprocal rank fusion, k = 60")


def _chunk(spec: str) -> tuple[str, tuple[str, ...]] | None:
    from lib.evaluation.chunking import chunked_variant
    from lib.evaluation.models import display_label

    variant = chunked_variant(spec)
    if variant is None:
        return None
    return variant, (display_label(spec), "documents chunked to its input limit, each scored by its best chunk (MaxP)")


_BUILD = {"hybrid": _hybrid, "chunk": _chunk}


def suggest(plan: Plan, models: Sequence[str], *, per_hint: int = 2,
            local: Sequence[str] = ()) -> tuple[PipelineSuggestion, ...]:
    """The pipelines the answers call for, built on the best shortlisted models that allow them.

    Args:
        plan: The resolved answers.
        models: The shortlist's mteb names, best first.
        per_hint: How many shortlisted models each hint is applied to.
        local: Specs usable on this machine (``minilm``): a hint no shortlisted model allows
            (a chunk hint on a list of API models) is applied to the first of these instead,
            so the user can still see what the pipeline changes on their data.

    Returns:
        Suggestions in question order, then shortlist order; none when no answer has a hint.
    """
    from lib.evaluation.models import display_label, spec_for

    specs = [spec_for(m) for m in models]
    out: list[PipelineSuggestion] = []
    seen: set[str] = set()
    for answer in plan.answers:
        for hint in answer.option.pipelines:
            built = [(s, b) for s in specs if (b := _BUILD[hint.kind](s)) is not None][:per_hint]
            if not built:
                built = [(s, b) for s in local if (b := _BUILD[hint.kind](s)) is not None][:1]
            for base, (spec, parts) in built:
                if spec in seen:
                    continue
                seen.add(spec)
                out.append(PipelineSuggestion(spec, display_label(spec), base, hint.kind, parts,
                                              answer.question.title, hint.reason, hint.why))
    return tuple(out)


def markdown(suggestions: Sequence[PipelineSuggestion], attribution: dict[str, str] | None = None) -> str:
    """The suggestions as a Markdown section (empty string for none).

    Args:
        suggestions: From :func:`suggest`.
        attribution: Source key → in-line name of the article (default: the key).

    Returns:
        A ``### Pipelines to evaluate`` section: each spec with its parts, its reason and quote.
    """
    if not suggestions:
        return ""
    names = attribution or {}
    lines = ["### Pipelines to evaluate", "",
             "Evaluate these beside the plain models (same queries, paired tests):", ""]
    for s in suggestions:
        lines.append(f"- `{s.spec}` — {s.label}: {'; '.join(s.parts)} (compare with `{s.base}`; from *{s.question}*). "
                     f"{s.reason} "
                     f"“{s.why.text}” — *{names.get(s.why.source, s.why.source)}*")
    return "\n".join(lines) + "\n"


__all__ = ["PipelineSuggestion", "markdown", "suggest"]
