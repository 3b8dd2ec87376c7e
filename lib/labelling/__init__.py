"""Evaluate without labels: pool candidates, judge them (people or an LLM), synthetic queries.

Modules: :mod:`~lib.labelling.store` (label sets, pools, judgements in DuckDB),
:mod:`~lib.labelling.pool` (TREC-style pooling), :mod:`~lib.labelling.agreement`
(Cohen's kappa), :mod:`~lib.labelling.chat` (an OpenAI-compatible chat client),
:mod:`~lib.labelling.llm_judge` (UMBRELA), :mod:`~lib.labelling.synth` (synthetic
queries) and :mod:`~lib.labelling.export` (a labelled set as an evaluation dataset, BEIR
export, judged@k).
"""
