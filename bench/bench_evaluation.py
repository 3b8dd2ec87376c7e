"""Benchmark the evaluation engine on SciFact with all-MiniLM-L6-v2, in one process.

Prints, measured in this run (ratios only; absolute times depend on the machine):

* evaluation wall time ÷ bare ``SentenceTransformer.encode`` of the same texts (goal ≤ 1.10)
* evaluation wall time ÷ ``mteb.evaluate`` of the same model on the same data as a custom
  mteb retrieval task (goal ≤ 0.5)
* cached re-run ÷ first run (goal ≤ 0.05)
* peak RSS (goal ≤ 2 GB)

On a shared machine wall time swings with other processes' load (the same encode was
measured at 31 s and 53 s minutes apart), so each ratio is also printed in process CPU
time (all threads), with the load average during each phase.

Usage: ``python bench/bench_evaluation.py [--data PATH]`` (default ``../shared/datasets/scifact``
or ``$EMS_SHARED/datasets/scifact``). Takes about three full encodes of the corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _raw_beir(path: Path) -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    corpus = [json.loads(line) for line in (path / "corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line) for line in (path / "queries.jsonl").open(encoding="utf-8")]
    qrels: dict[str, dict[str, int]] = {}
    for i, line in enumerate((path / "qrels" / "test.tsv").open(encoding="utf-8")):
        q, d, s = line.rstrip("\n").split("\t")
        if i == 0 and q == "query-id":
            continue
        qrels.setdefault(q, {})[d] = int(s)
    queries = [q for q in queries if q["_id"] in qrels]
    return corpus, queries, qrels


def _mteb_task(corpus: list[dict], queries: list[dict], qrels: dict[str, dict[str, int]]):
    from datasets import Dataset
    from mteb.abstasks.retrieval import AbsTaskRetrieval
    from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData
    from mteb.abstasks.task_metadata import TaskMetadata

    class LocalSciFact(AbsTaskRetrieval):
        metadata = TaskMetadata(
            type="Retrieval",
            name="LocalSciFact",
            main_score="ndcg_at_10",
            description="SciFact test split read from local BEIR files (benchmark only).",
            reference="https://github.com/allenai/scifact",
            dataset={"path": "local/scifact", "revision": "local"},
            category="t2t",
            eval_splits=["test"],
            eval_langs=["eng-Latn"],
            date=("2020-01-01", "2020-12-31"),
            dialect=[],
            domains=["Academic", "Medical", "Written"],
            task_subtypes=[],
            license="cc-by-nc-4.0",
            annotations_creators="expert-annotated",
            modalities=["text"],
            sample_creation="found",
            bibtex_citation="",
        )

        def load_data(self, num_proc: int | None = None, **kwargs: object) -> None:
            split = RetrievalSplitData(
                corpus=Dataset.from_list(
                    [{"id": d["_id"], "title": d.get("title", ""), "text": d["text"]}
                     for d in corpus]
                ),
                queries=Dataset.from_list([{"id": q["_id"], "text": q["text"]} for q in queries]),
                relevant_docs=qrels,
                top_ranked=None,
            )
            self.dataset = {"default": {"test": split}}
            self.data_loaded = True

    return LocalSciFact()


class Phase:
    """Wall and CPU time of one phase, with the 1-minute load average at its end."""

    def __enter__(self) -> Phase:
        self.w0, self.c0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0
        self.load = os.getloadavg()[0]

    def __str__(self) -> str:
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU, load {self.load:.1f}"


def main() -> int:
    shared = Path(os.environ.get("EMS_SHARED", ROOT.parent / "shared"))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=shared / "datasets" / "scifact")
    ap.add_argument("--skip-mteb", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-eval-"))
    os.environ["EMS_CACHE_DIR"] = str(tmp / "cache")  # a cold cache for the first run
    db = tmp / "bench.duckdb"

    from sentence_transformers import SentenceTransformer

    from lib.evaluation import datasets, engine, models

    ds = datasets.load_dataset(args.data)
    info = models.resolve("minilm")
    path = info.options["_path"]
    print(f"data: {len(ds.doc_ids)} docs, {len(ds.query_ids)} queries; model {info.name} "
          f"from {info.source}", flush=True)

    # 1. Bare encode of exactly the texts the evaluation embeds.
    model = SentenceTransformer(path, local_files_only=True)
    with Phase() as bare:
        model.encode(list(ds.doc_texts), batch_size=32, show_progress_bar=False)
        model.encode(list(ds.query_texts), batch_size=32, show_progress_bar=False)
    print(f"bare SentenceTransformer.encode: {bare}", flush=True)

    # 2. Our evaluation, cold cache (wall time includes loading data and model).
    cfg = engine.EvaluationConfig(models=("minilm",))
    with Phase() as first:
        res = engine.evaluate(args.data, cfg, db_path=db)
    tab = res.summary_table()
    print(f"evaluation (cold cache): {first}; nDCG@10 {tab.at['minilm', 'nDCG@10']:.5f}, "
          f"Recall@10 {tab.at['minilm', 'Recall@10']:.5f}", flush=True)

    # 3. Re-run: every vector comes from the cache.
    with Phase() as cached:
        engine.evaluate(args.data, cfg, db_path=db)
    print(f"evaluation (cached): {cached}", flush=True)

    mteb_phase = None
    if not args.skip_mteb:
        import mteb

        corpus, queries, qrels = _raw_beir(args.data)
        task = _mteb_task(corpus, queries, qrels)
        with Phase() as mteb_phase:
            out = mteb.evaluate(model, task, cache=None, show_progress_bar=False,
                                encode_kwargs={"batch_size": 32})
        scores = out.task_results[0].scores["test"][0]
        print(f"mteb.evaluate: {mteb_phase}; nDCG@10 {scores['ndcg_at_10']:.5f}, "
              f"Recall@10 {scores['recall_at_10']:.5f}", flush=True)

    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print()
    print("ratio                         wall     CPU")
    print(f"evaluation ÷ bare encode    {first.wall / bare.wall:6.3f}  {first.cpu / bare.cpu:6.3f}"
          "   (goal ≤ 1.10)")
    if mteb_phase is not None:
        print(f"evaluation ÷ mteb.evaluate  {first.wall / mteb_phase.wall:6.3f}  "
              f"{first.cpu / mteb_phase.cpu:6.3f}   (goal ≤ 0.5)")
    print(f"cached re-run ÷ first run   {cached.wall / first.wall:6.4f}  "
          f"{cached.cpu / first.cpu:6.4f}   (goal ≤ 0.05)")
    print(f"peak RSS                    {peak_gb:.2f} GB  (goal ≤ 2 GB)")
    from lib import store

    store.close(db)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
