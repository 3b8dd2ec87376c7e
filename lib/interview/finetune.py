"""Fine-tuning an embedding model on ~1,000 pairs: what it costs, and a small live run.

* :func:`finetune_costs` — Algoroq's "as few as 1,000 query-document pairs", priced with
  :mod:`lib.cost`: labelling, training, then what a fine-tuned model forces on you
  (self-hosting and re-embedding the whole corpus).
* :func:`title_pairs` — training pairs made from a BEIR corpus itself (title → text), so no
  labelled query is used for training.
* :func:`fine_tune` — contrastive fine-tuning (in-batch negatives, i.e.
  sentence-transformers' MultipleNegativesRankingLoss) of a copy of a sentence-transformers
  model in a plain PyTorch loop (the ``accelerate``-based trainer is not a dependency),
  scored on the dataset's labelled queries before and after, with a paired test.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lib import cost, fmt
from lib.errors import UserError
from lib.evaluation import metrics
from lib.evaluation.datasets import Dataset
from lib.interview.vectors import Scores, embed_dataset, load_model, score

#: The figure in Algoroq's "Embedding Models Explained".
SEED_PAIRS = 1000
#: In-batch negatives: similarities are cosines scaled by this (MultipleNegativesRankingLoss's default).
MNRL_SCALE = 20.0


@dataclass(frozen=True)
class FineTuneAssumptions:
    """What labelling and training cost; every default is an assumption, shown on the page.

    Attributes:
        pairs: Query–document pairs (Algoroq's article: about 1,000).
        epochs: Passes over the pairs.
        minutes_per_pair: Human time to write or check one pair (LLM-drafted, human-reviewed).
        labour_usd_per_hour: Cost of that time.
        tokens_per_pair: Tokens of one query plus one document.
        backward_factor: Training compute ÷ embedding compute per token (forward plus
            backward pass ≈ 3× a forward pass).
    """

    pairs: int = SEED_PAIRS
    epochs: int = 3
    minutes_per_pair: float = 1.0
    labour_usd_per_hour: float = 50.0
    tokens_per_pair: int = 320
    backward_factor: float = 3.0


@dataclass(frozen=True)
class FineTuneCosts:
    """The bill for fine-tuning, and for what it forces afterwards.

    Attributes:
        pairs: Pairs labelled.
        labelling_usd: Human time for the pairs.
        training_tokens: Tokens processed in training (pairs × tokens × epochs).
        training_gpu_hours: GPU-hours at the throughput derived from the articles' figures, ×backward factor.
        training_usd: Those hours at the assumed GPU price.
        cpu_training_minutes: Minutes on this machine's CPU at the measured rate (None
            without a live run).
        corpus_tokens: Tokens to re-embed the corpus with the fine-tuned model.
        reembed_gpu_hours: GPU-hours for that.
        reembed_usd: Its cost.
        selfhost_usd_per_month: Serving the fine-tuned model (it cannot run on an embedding
            API): always-on GPU plus operations, average month of year 1.
        api_usd_per_month: The same volume through the API model compared against.
        api_model: That model.
        throughput_basis: Where the GPU throughput comes from.
    """

    pairs: int
    labelling_usd: float
    training_tokens: float
    training_gpu_hours: float
    training_usd: float
    cpu_training_minutes: float | None
    corpus_tokens: float
    reembed_gpu_hours: float
    reembed_usd: float
    selfhost_usd_per_month: float
    api_usd_per_month: float
    api_model: str
    throughput_basis: str

    def rows(self) -> list[tuple[str, str, str]]:
        """(item, amount, how it is computed) for display."""
        def usd(x: float) -> str:
            return fmt.usd(x, millions=False, below_cent=True)

        out = [
            ("Label the pairs", usd(self.labelling_usd), f"{self.pairs:,} pairs of human review time"),
            ("Train (GPU)", usd(self.training_usd),
             f"{self.training_tokens / 1e6:,.2f}M tokens ≈ {self.training_gpu_hours * 60:,.1f} GPU-minutes"),
        ]
        if self.cpu_training_minutes is not None:
            out.append(("Train (this CPU)", "—",
                        f"≈ {self.cpu_training_minutes:,.0f} minutes at the rate measured in the live run below"))
        out += [
            ("Re-embed the corpus", usd(self.reembed_usd),
             f"{self.corpus_tokens / 1e9:,.2f}B tokens ≈ {self.reembed_gpu_hours:,.1f} GPU-hours"),
            ("Serve it yourself, per month", usd(self.selfhost_usd_per_month),
             "always-on GPU + operations (a fine-tuned model cannot use an embedding API)"),
            (f"…versus {self.api_model} API, per month", usd(self.api_usd_per_month), "same monthly volume"),
        ]
        return out


def finetune_costs(
    a: cost.CostAssumptions,
    *,
    params_millions: float = 22.7,
    api_model: str = "text-embedding-3-small",
    api_price_per_1m: float = 0.02,
    ft: FineTuneAssumptions | None = None,
    cpu_seconds_per_pair_epoch: float | None = None,
) -> FineTuneCosts:
    """Price fine-tuning with the cost model's assumptions.

    Args:
        a: Cost assumptions (corpus, volumes, GPU price, operations).
        params_millions: Size of the model fine-tuned (MiniLM: 22.7M → the articles' small class).
        api_model: API model compared against for serving.
        api_price_per_1m: Its price per million tokens.
        ft: Labelling and training assumptions.
        cpu_seconds_per_pair_epoch: Measured training rate on this CPU, if a live run happened.

    Returns:
        The costs.
    """
    f = ft or FineTuneAssumptions()
    tp = cost.seed_throughput("fine-tuned model", params_millions, a.seed_tokens_per_passage)
    train_tokens = float(f.pairs * f.tokens_per_pair * f.epochs)
    train_h = cost.gpu_hours(train_tokens * f.backward_factor, tp.tokens_per_second, a.gpu_utilization)
    corpus = cost.corpus_tokens(a)
    re_h = cost.gpu_hours(corpus, tp.tokens_per_second, a.gpu_utilization)
    monthly = cost.steady_tokens_per_month(a)
    return FineTuneCosts(
        pairs=f.pairs,
        labelling_usd=f.pairs * f.minutes_per_pair / 60.0 * f.labour_usd_per_hour,
        training_tokens=train_tokens,
        training_gpu_hours=train_h,
        training_usd=train_h * a.gpu_usd_per_hour,
        cpu_training_minutes=(None if cpu_seconds_per_pair_epoch is None
                              else cpu_seconds_per_pair_epoch * f.pairs * f.epochs / 60.0),
        corpus_tokens=corpus,
        reembed_gpu_hours=re_h,
        reembed_usd=re_h * a.gpu_usd_per_hour,
        selfhost_usd_per_month=cost.selfhost_usd_per_month(monthly, tp.tokens_per_second, a),
        api_usd_per_month=cost.api_cost_usd(monthly, api_price_per_1m),
        api_model=api_model,
        throughput_basis=tp.basis,
    )


def title_pairs(corpus_jsonl: Path) -> list[tuple[str, str]]:
    """(title, text) pairs from a BEIR ``corpus.jsonl``: synthetic queries from the corpus itself.

    Args:
        corpus_jsonl: The corpus file.

    Returns:
        Pairs for documents that have both a title and a text, in file order.

    Raises:
        UserError: If the file cannot be read.
    """
    try:
        lines = Path(corpus_jsonl).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read {corpus_jsonl}: {exc}") from exc
    pairs = []
    for line in lines:
        if not line.strip():
            continue
        row = json.loads(line)
        title, text = str(row.get("title") or "").strip(), str(row.get("text") or "").strip()
        if title and text:
            pairs.append((title, text))
    return pairs


@dataclass(frozen=True)
class FineTuneResult:
    """A live fine-tune, scored before and after on the same labelled queries.

    Attributes:
        model: Base model label.
        n_pairs: Training pairs.
        epochs: Epochs.
        steps: Optimiser steps.
        train_seconds: Training time on this machine.
        seconds_per_pair_epoch: ``train_seconds / (n_pairs × epochs)``.
        losses: Loss per step.
        before: Scores of the base model.
        after: Scores of the fine-tuned copy.
        paired: Paired test of nDCG@10, after vs before.
    """

    model: str
    n_pairs: int
    epochs: int
    steps: int
    train_seconds: float
    seconds_per_pair_epoch: float
    losses: tuple[float, ...]
    before: Scores
    after: Scores
    paired: metrics.PairedResult

    def verdict(self, alpha: float = 0.05) -> str:
        """The paired test in words.

        Args:
            alpha: Significance level.

        Returns:
            ``a significant improvement``, ``a significant loss`` or ``no significant change``.
        """
        if self.paired.p_value < alpha:
            return "a significant improvement" if self.paired.mean_diff > 0 else "a significant loss"
        return "no significant change"


def fine_tune(
    ds: Dataset,
    pairs: Sequence[tuple[str, str]],
    *,
    spec: str = "minilm",
    epochs: int = 1,
    batch_size: int = 16,
    learning_rate: float = 2e-5,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> FineTuneResult:
    """Fine-tune a copy of a sentence-transformers model with in-batch negatives and score it.

    The loaded model is deep-copied, so the cached base model (and its embedding cache)
    is never changed; the fine-tuned vectors are not cached (the weights exist only here).

    Args:
        ds: Dataset whose labelled queries score before and after.
        pairs: (anchor, positive) training pairs.
        spec: Base model spec.
        epochs: Passes over the pairs.
        batch_size: Pairs per step (the other positives in a batch are the negatives).
        learning_rate: AdamW learning rate.
        seed: Shuffling and initialisation seed.
        progress: ``progress(message, fraction)``.
        clock: Time source for the training time.

    Returns:
        Before/after scores, the paired test and the training time.

    Raises:
        UserError: With fewer than two pairs, or a model that is not sentence-transformers.
    """
    import torch

    if len(pairs) < 2:
        raise UserError("fine-tuning with in-batch negatives needs at least two pairs")
    say = progress or (lambda _m, _f: None)
    base = load_model(spec)
    st_model = getattr(base, "model", None)
    if st_model is None:
        raise UserError(f"{spec!r}: live fine-tuning needs a sentence-transformers model")
    say("scoring the base model", 0.0)
    vecs = embed_dataset(ds, spec)
    before = score(ds, vecs.queries, vecs.docs, similarity=vecs.similarity)
    model = copy.deepcopy(st_model)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    order = list(range(len(pairs)))
    opt = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    losses: list[float] = []
    n_steps = epochs * ((len(pairs) + batch_size - 1) // batch_size)
    model.train()
    t0 = clock()
    for _ in range(epochs):
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            batch = [pairs[i] for i in order[start : start + batch_size]]
            if len(batch) < 2:
                continue  # one pair has no in-batch negative
            qa = model(model.preprocess([p[0] for p in batch]))["sentence_embedding"]
            pa = model(model.preprocess([p[1] for p in batch]))["sentence_embedding"]
            sim = torch.nn.functional.normalize(qa, dim=-1) @ torch.nn.functional.normalize(pa, dim=-1).T
            loss = torch.nn.functional.cross_entropy(sim * MNRL_SCALE, torch.arange(len(batch)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            say(f"training step {len(losses)}/{n_steps}, loss {losses[-1]:.3f}", 0.1 + 0.7 * len(losses) / n_steps)
    train_s = clock() - t0
    model.eval()
    say("scoring the fine-tuned model", 0.85)
    with torch.no_grad():
        # The same prompts the base model was scored with (empty for MiniLM), so before and
        # after differ only by the training.
        qp, dp = base.info.query_prompt or None, base.info.document_prompt or None
        q = np.asarray(model.encode(list(ds.query_texts), prompt=qp, convert_to_numpy=True, show_progress_bar=False))
        d = np.asarray(model.encode(list(ds.doc_texts), prompt=dp, convert_to_numpy=True, show_progress_bar=False))
    after = score(ds, q, d, similarity=vecs.similarity)
    paired = metrics.paired_comparison(
        after.per_query["nDCG@10"].to_numpy(), before.per_query["nDCG@10"].to_numpy(),
        model_a="fine-tuned", model_b="base", metric="nDCG@10",
    )
    say("done", 1.0)
    return FineTuneResult(
        model=vecs.label, n_pairs=len(pairs), epochs=epochs, steps=len(losses), train_seconds=train_s,
        seconds_per_pair_epoch=train_s / (len(pairs) * epochs), losses=tuple(losses),
        before=before, after=after, paired=paired,
    )
