"""How long an evaluation will take on this machine, from what earlier runs measured.

The Evaluate page shows it before a run starts: documents ÷ the documents/s this app measured
for the same model (its newest finished run, :func:`lib.report.latest_speeds`), with the run
and machine named. Models never run here, and API models (bound by the network and the
provider's rate limits), get no number rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lib.cost import MeasuredSpeed
from lib.errors import UserError
from lib.evaluation import models
from lib.evaluation.models import hybrid, rerank


@dataclass(frozen=True)
class TimeEstimate:
    """The expected encoding time of one model on one dataset.

    Attributes:
        spec: The model spec.
        label: Its display label.
        seconds: Expected seconds to encode the documents and queries, or None when unknown.
        basis: Where the figure comes from, or why there is none.
    """

    spec: str
    label: str
    seconds: float | None
    basis: str


def estimate(
    specs: Sequence[str], n_docs: int, n_queries: int, speeds: Mapping[str, MeasuredSpeed]
) -> list[TimeEstimate]:
    """Estimate each model's encoding time from its measured throughput.

    Args:
        specs: Model specs.
        n_docs: Documents in the dataset.
        n_queries: Queries in the dataset.
        speeds: Measured speeds by mteb name (newest run per model).

    Returns:
        One estimate per spec, in order. Queries are counted as documents (an upper bound:
        they are shorter); embeddings already in the cache make the run faster still.
    """
    out = []
    for spec in specs:
        label = models.display_label(spec)
        if rerank.is_reranked(spec):
            try:
                r = rerank.parse(spec)
                rerank.resolve(r)
                first = estimate([r.first], n_docs, n_queries, speeds)[0]
            except UserError as exc:
                out.append(TimeEstimate(spec, label, None, f"cannot resolve: {exc}"))
                continue
            out.append(TimeEstimate(spec, label, first.seconds,
                                    f"its first stage's time ({first.label}: {first.basis}), plus reranking "
                                    f"{r.top_n} documents for each of the {n_queries:,} queries (not estimated)"))
            continue
        if hybrid.is_hybrid(spec):
            try:
                parts = estimate(hybrid.parse(spec).components, n_docs, n_queries, speeds)
            except UserError as exc:
                out.append(TimeEstimate(spec, label, None, f"cannot resolve: {exc}"))
                continue
            secs = [p.seconds for p in parts if p.seconds is not None]
            out.append(TimeEstimate(spec, label, sum(secs) if secs else None,
                                    "its parts' times (cached parts cost nothing again): "
                                    + "; ".join(f"{p.label}: {p.basis}" for p in parts)))
            continue
        try:
            info = models.resolve(spec)
        except UserError as exc:
            out.append(TimeEstimate(spec, label, None, f"cannot resolve: {exc}"))
            continue
        if info.kind == "bm25":
            out.append(TimeEstimate(spec, label, None, "BM25 indexes thousands of documents per second"))
            continue
        if info.kind == "openai":
            out.append(TimeEstimate(spec, label, None, "an API: bound by the network and the provider's limits"))
            continue
        speed = speeds.get(models.mteb_name(info.kind, info.name))
        if speed is None or speed.docs_per_second <= 0:
            out.append(TimeEstimate(spec, label, None, "not measured on this machine yet"))
            continue
        seconds = (n_docs + n_queries) / speed.docs_per_second
        out.append(TimeEstimate(
            spec, label, seconds,
            f"({n_docs:,} documents + {n_queries:,} queries) ÷ {speed.docs_per_second:,.1f}/s measured in run "
            f"{speed.run_id} ({speed.measured_at}) on {speed.machine}"
            + ("; chunked, so every document is one or more chunks: expect longer than this" if "chunk" in
               info.options else ""),
        ))
    return out
