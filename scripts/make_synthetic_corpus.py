"""Write a synthetic BEIR folder of N documents with queries and qrels — for load tests, not quality.

    python scripts/make_synthetic_corpus.py OUT --docs 1000000 [--queries 1000] [--seed 0]

Documents are titles and texts of pseudo-words drawn from a Zipf-like distribution over a
fixed vocabulary (so common words are common, as in real text); each query takes a few words
of one document, which is its one relevant document (qrels score 1). Everything follows from
the seed (same arguments → byte-identical files), and documents are written in chunks as they
are generated, so memory stays small whatever N is. The output loads with
``lib.evaluation.datasets.load_dataset(OUT)``; ``bench/bench_scale.py`` uses it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

VOCAB = 50_000
CHUNK = 20_000
_ONSETS = ["", "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "z",
           "br", "ch", "cl", "dr", "gr", "pl", "pr", "sh", "st", "th", "tr"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
_CODAS = ["", "", "n", "r", "s", "t", "l", "m", "x", "nd", "st"]


def vocabulary(rng: np.random.Generator, size: int = VOCAB) -> list[str]:
    """Distinct pronounceable pseudo-words, in a seed-determined order (rank 0 is the most common)."""
    words: dict[str, None] = {}
    while len(words) < size:
        n_syl = int(rng.integers(1, 5))
        parts = [_ONSETS[int(rng.integers(len(_ONSETS)))] + _VOWELS[int(rng.integers(len(_VOWELS)))]
                 for _ in range(n_syl)]
        words.setdefault("".join(parts) + _CODAS[int(rng.integers(len(_CODAS)))], None)
    return list(words)


def generate(out: Path, n_docs: int, n_queries: int = 1000, seed: int = 0, words: tuple[int, int] = (10, 30)) -> dict:
    """Write ``out/corpus.jsonl``, ``out/queries.jsonl`` and ``out/qrels/test.tsv``.

    Returns:
        Counts and sizes of what was written.
    """
    if n_docs < 1:
        raise ValueError("--docs must be at least 1")
    n_queries = min(n_queries, n_docs)
    rng = np.random.default_rng(seed)
    vocab = np.array(vocabulary(rng), dtype=object)
    ranks = np.arange(1, len(vocab) + 1, dtype=np.float64)
    cdf = np.cumsum(1.0 / (ranks + 2.7) ** 1.07)
    cdf /= cdf[-1]
    targets = np.sort(rng.choice(n_docs, size=n_queries, replace=False))
    query_of = {int(d): j for j, d in enumerate(targets)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "qrels").mkdir(exist_ok=True)
    queries: list[tuple[int, str, str]] = []
    with (out / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for start in range(0, n_docs, CHUNK):
            n = min(CHUNK, n_docs - start)
            lengths = rng.integers(words[0], words[1] + 1, size=n)
            title_lengths = rng.integers(1, 5, size=n)
            total = int(lengths.sum() + title_lengths.sum())
            tokens = vocab[np.searchsorted(cdf, rng.random(total), side="right").clip(max=len(vocab) - 1)]
            pos = 0
            lines = []
            for r in range(n):
                title = " ".join(tokens[pos : pos + title_lengths[r]])
                pos += title_lengths[r]
                body = tokens[pos : pos + lengths[r]]
                pos += lengths[r]
                did = start + r
                lines.append(json.dumps({"_id": f"doc{did}", "title": title, "text": " ".join(body)}))
                if did in query_of:
                    take = rng.choice(len(body), size=min(len(body), int(rng.integers(3, 7))), replace=False)
                    queries.append((query_of[did], " ".join(body[np.sort(take)]), f"doc{did}"))
            fh.write("\n".join(lines) + "\n")
    queries.sort()
    with (out / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for j, text, _ in queries:
            fh.write(json.dumps({"_id": f"q{j}", "text": text}) + "\n")
    with (out / "qrels" / "test.tsv").open("w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for j, _, did in queries:
            fh.write(f"q{j}\t{did}\t1\n")
    return {"documents": n_docs, "queries": len(queries), "corpus_bytes": (out / "corpus.jsonl").stat().st_size,
            "path": str(out)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="folder to write (created)")
    p.add_argument("--docs", type=int, required=True, help="number of documents")
    p.add_argument("--queries", type=int, default=1000, help="number of queries (default 1000, at most --docs)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.docs < 1 or args.queries < 1:
        p.error("--docs and --queries must be at least 1")
    info = generate(args.out, args.docs, args.queries, args.seed)
    print(json.dumps(info), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
