"""Synthetic queries for teams without any: a chat model writes one question per sampled document.

The prompt is shown and editable (it must contain ``{passage}``); its version is
``synth-v1`` for the default and ``custom-<hash>`` for an edited one, recorded with every
query. Each query is stored as synthetic, linked to the document it was written from, and
that document becomes its grade-2 judgement (judge ``synthetic:MODEL``, kind ``synthetic``)
and its first pooled candidate (system ``synthetic-source``). Pool the set with real
retrievers afterwards (:func:`lib.labelling.pool.extend_pool`) to judge more candidates.

Known bias, reported with every result on such a set (:data:`BIAS_NOTE`): a question
written while reading one document borrows its words, which favours lexical matching
(BM25) and under-counts other relevant documents, so absolute scores run high and the gap
between lexical and dense models is distorted. Use real queries where you can.

Nothing is stored until every question is written: a fault mid-way stores nothing.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lib import store
from lib.errors import UserError
from lib.evaluation.datasets import Collection
from lib.labelling import store as lstore
from lib.labelling.chat import ChatClient, CostEstimate, check_budget, message_tokens, resolve_chat

Progress = Callable[[str, float], None]

DEFAULT_PROMPT = (
    "You are helping to build a search test set. Read the passage below and write one question that a real "
    "user of this knowledge base might type into its search box, and that this passage answers. Write it the "
    "way people ask, in your own words rather than copying phrases from the passage. Reply with the question "
    "only, on one line.\n\n"
    "Passage: {passage}"
)
DEFAULT_VERSION = "synth-v1"
SOURCE_SYSTEM = "synthetic-source"
MAX_TOKENS = 64
EXPECTED_OUTPUT_TOKENS = 25
MAX_QUERIES = 2000
BIAS_NOTE = (
    "synthetic queries: each was written by a chat model from one document, so it borrows that document's "
    "words — this favours lexical matching (BM25) and misses other relevant documents; treat absolute scores "
    "and the lexical-vs-dense gap with caution"
)


def prompt_version(prompt: str) -> str:
    """``synth-v1`` for the default prompt, ``custom-<sha256[:8]>`` for an edited one.

    Args:
        prompt: The prompt text.

    Returns:
        The version.
    """
    if prompt == DEFAULT_PROMPT:
        return DEFAULT_VERSION
    return "custom-" + hashlib.sha256(prompt.encode()).hexdigest()[:8]


def check_prompt(prompt: str) -> str:
    """Check an (edited) prompt.

    Args:
        prompt: The prompt.

    Returns:
        The prompt.

    Raises:
        UserError: If it lacks ``{passage}`` or has other ``{…}`` fields.
    """
    if "{passage}" not in prompt:
        raise UserError("the prompt must contain {passage}, where the document's text goes")
    try:
        prompt.format(passage="")
    except (KeyError, IndexError, ValueError) as exc:
        raise UserError(
            f"the prompt may contain only the field {{passage}}; write other braces doubled ({{{{ }}}}): {exc}"
        ) from None
    return prompt


def sample_documents(collection: Collection, n: int, seed: int = 0) -> list[tuple[str, str]]:
    """A reproducible random sample of documents.

    Args:
        collection: The documents.
        n: How many (all of them when fewer).
        seed: RNG seed.

    Returns:
        (id, text) pairs, in corpus order.

    Raises:
        UserError: If n is not positive or above :data:`MAX_QUERIES`.
    """
    if not 1 <= n <= MAX_QUERIES:
        raise UserError(f"--n must be between 1 and {MAX_QUERIES:,}")
    idx = sorted(random.Random(seed).sample(range(len(collection.doc_ids)), min(n, len(collection.doc_ids))))
    return [(collection.doc_ids[i], collection.doc_texts[i]) for i in idx]


def _messages(prompt: str, passage: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": prompt.format(passage=passage)}]


def estimate(model: str, docs: list[tuple[str, str]], prompt: str = DEFAULT_PROMPT) -> CostEstimate:
    """The cost of writing one question per document.

    Args:
        model: Chat model spec.
        docs: The sampled documents.
        prompt: The prompt.

    Returns:
        The estimate.
    """
    spec = resolve_chat(model)
    check_prompt(prompt)
    tokens = sum(message_tokens(_messages(prompt, t)) for _, t in docs)
    return CostEstimate(
        requests=len(docs), cached=0, input_tokens=tokens, expected_output_tokens=EXPECTED_OUTPUT_TOKENS * len(docs),
        max_output_tokens=MAX_TOKENS * len(docs), price_in=spec.price_in, price_out=spec.price_out,
        price_source=spec.price_source,
    )


def clean_question(answer: str) -> str:
    """The question from a model's answer: first non-empty line, without quotes or a 'Question:' label.

    Args:
        answer: The model's text.

    Returns:
        The question ('' when there is none).
    """
    for line in (answer or "").splitlines():
        text = line.strip().strip('"“”\'').strip()
        for label in ("question:", "q:"):
            if text.lower().startswith(label):
                text = text[len(label):].strip().strip('"“”\'').strip()
        if text:
            return text
    return ""


@dataclass(frozen=True)
class SynthReport:
    """What one synthetic-query run did.

    Attributes:
        set_id: The new set.
        queries: Questions stored.
        skipped: (doc_id, answer) of answers that held no question (nothing stored for them).
        duplicates: Questions dropped because another document produced the same text.
        requests: Requests sent.
        prompt_tokens: Input tokens billed.
        completion_tokens: Output tokens billed.
        cost_usd: Cost (None when the price is unknown).
        estimate: The estimate made before sending.
        prompt_version: The prompt's version.
    """

    set_id: str | None
    queries: int
    skipped: tuple[tuple[str, str], ...]
    duplicates: int
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    estimate: CostEstimate
    prompt_version: str


def generate(
    collection: Collection,
    model: str,
    *,
    n: int = 100,
    prompt: str = DEFAULT_PROMPT,
    seed: int = 0,
    db: lstore.DbPath = None,
    name: str | None = None,
    api_key: str | None = None,
    max_cost: float | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    on_estimate: Callable[[CostEstimate], None] | None = None,
    user_id: str | None = None,
) -> SynthReport:
    """Write one question per sampled document and store them as a new label set.

    Args:
        collection: The documents.
        model: Chat model spec.
        n: Documents to sample (one question each).
        prompt: The (editable) prompt with ``{passage}``.
        seed: Sampling seed.
        db: DuckDB file.
        name: Set name (default ``<collection>-synthetic``).
        api_key: Session key (never stored).
        max_cost: Refuse above this worst-case cost in USD.
        dry_run: Stop after the estimate.
        progress: ``progress(message, fraction)``.
        on_estimate: Called with the estimate before anything is sent.
        user_id: Who the new set belongs to (:mod:`lib.team`).

    Returns:
        The report (``set_id`` None for a dry run).

    Raises:
        UserError: For a bad spec or prompt, a cost above the bound, a request failing
            after retries (nothing stored), or no usable question at all.
    """
    spec = resolve_chat(model)
    check_prompt(prompt)
    docs = sample_documents(collection, n, seed)
    est = estimate(model, docs, prompt)
    version = prompt_version(prompt)
    if on_estimate:
        on_estimate(est)
    check_budget(est, max_cost)
    if dry_run:
        return SynthReport(None, 0, (), 0, 0, 0, 0, 0.0, est, version)
    client = ChatClient(spec, api_key=api_key)
    generator = f"{spec.identity} {version}"
    made: list[tuple[str, str]] = []
    seen: set[str] = set()
    skipped: list[tuple[str, str]] = []
    dups = 0
    for i, (doc_id, text) in enumerate(docs):
        ans = client.complete(_messages(prompt, text), max_tokens=MAX_TOKENS)
        question = clean_question(ans.text)
        if not question:
            skipped.append((doc_id, client.redact(ans.text)[:300]))
        elif question in seen:
            dups += 1
        else:
            seen.add(question)
            made.append((doc_id, question))
        if progress:
            progress(f"wrote {i + 1}/{len(docs)} questions", (i + 1) / len(docs))
    if not made:
        raise UserError(f"the model wrote no usable question for {len(docs)} document(s); nothing was stored")
    queries = [lstore.QueryRecord(f"syn-{k + 1}", q, synthetic=True, source_doc=d, generator=generator)
               for k, (d, q) in enumerate(made)]
    judge = f"synthetic:{spec.name}"
    with store.transaction(db) as cur:
        set_id = lstore.insert_set(
            cur, name=name or f"{collection.name}-synthetic", source=collection.source,
            fingerprint=collection.fingerprint, docs=list(zip(collection.doc_ids, collection.doc_texts, strict=True)),
            queries=queries, query_source="synthetic",
            notes=[*collection.notes, f"{len(queries)} synthetic queries by {spec.name} ({version})"],
            user_id=user_id,
        )
        hits = pd.DataFrame({"query_id": [q.query_id for q in queries],
                             "doc_id": [q.source_doc for q in queries], "rank": 1, "score": None})
        lstore.insert_pool(cur, set_id, SOURCE_SYSTEM, '{"kind": "synthetic-source"}', 1, hits)
        lstore.insert_judgements(cur, set_id, hits.assign(grade=2, model=spec.identity, prompt_version=version),
                                 judge, kind="synthetic")
    return SynthReport(
        set_id=set_id, queries=len(queries), skipped=tuple(skipped), duplicates=dups, requests=client.requests,
        prompt_tokens=client.prompt_tokens, completion_tokens=client.completion_tokens,
        cost_usd=client.cost_usd(), estimate=est, prompt_version=version,
    )
