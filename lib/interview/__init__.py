"""Interview prep: the articles' misconceptions and interview questions, each shown on data the app computes.

Modules:

* :mod:`.content` — walkthrough text and quiz questions from ``data/interview.json``;
  :func:`~.content.fill` puts computed facts into model answers.
* :mod:`.quiz` — scoring.
* :mod:`.ranks` — overall vs retrieval rank, legal vs general rank, your data vs MTEB.
* :mod:`.vectors` — cross-model recall collapse, migration curve, dimension sweep, encoder demo.
* :mod:`.finetune` — the cost of fine-tuning on ~1,000 pairs, and a small live fine-tune.
* :mod:`.tradeoffs` — small vs large, API vs self-hosted, the cost of a migration.
* :mod:`.facts` — computed results → formatted facts for the templates.

Nothing here imports streamlit; models and mteb are loaded only when a demo runs.
"""
