"""The run history: every stored run with its headline metrics (the Runs page)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from lib import store
from lib.evaluation import quick, runs

# --------------------------------------------------------------------------- run history


def _quick_label(config: object) -> str:
    try:
        info = quick.info_of(json.loads(str(config))) if config else None
    except (ValueError, TypeError):
        return ""
    return quick.label(info) if info is not None else ""


def runs_overview(db_path: str | Path | None = None) -> pd.DataFrame:
    """Every run with its headline metrics, newest first (for the Runs page).

    Args:
        db_path: DuckDB file.

    Returns:
        ``run_id``, ``status`` (``cancelled`` for a run whose job its user cancelled;
        ``interrupted`` for a run that stopped without finishing:
        the page was left, or the app's process was killed; ``error`` says which), ``created_at``,
        ``dataset``, ``quick`` (:func:`lib.evaluation.quick.label` for a quick estimate, else ""),
        ``models``, ``k``, ``queries``, ``wall_time_s``, ``best_model``,
        ``best_ndcg``, ``best_recall``, ``error``, ``user_id``, ``shared`` (whose run it is; filter with
        :func:`lib.team.visible`).
    """
    listing = runs.list_runs(db_path)
    if listing.empty:
        return pd.DataFrame(columns=["run_id", "status", "created_at", "dataset", "quick", "models", "k", "queries",
                                     "wall_time_s", "best_model", "best_ndcg", "best_recall", "error",
                                     "user_id", "shared"])
    with store.connect(db_path) as cur:
        summ = cur.execute(
            "SELECT s.run_id, s.model, s.metric, s.mean FROM eval_summary s JOIN eval_runs r USING (run_id)"
            " WHERE s.metric IN ('nDCG@' || r.k, 'Recall@' || r.k)"
        ).df()
        configs = dict(cur.execute("SELECT run_id, config FROM eval_runs").fetchall())
    rows = []
    for r in listing.itertuples(index=False):
        sub = summ[summ["run_id"] == r.run_id]
        nd = sub[sub["metric"].str.startswith("nDCG@")].sort_values("mean", ascending=False)
        best = str(nd.iloc[0]["model"]) if not nd.empty else ""
        rec = sub[(sub["model"] == best) & sub["metric"].str.startswith("Recall@")]
        error = "" if r.error is None or (isinstance(r.error, float) and math.isnan(r.error)) else str(r.error)
        status = str(r.status)
        if runs.is_cancelled(r.status, error):
            status = "cancelled"
        elif r.interrupted:
            status = "interrupted"
            if not error.startswith(runs.INTERRUPTED):
                # Stored before the engine wrote a reason: only the exception's name.
                error = runs.INTERRUPTED + "the evaluation was stopped before it finished (the page was left or rerun)."
        models = r.models if isinstance(r.models, list) else json.loads(str(r.models))
        rows.append({
            "run_id": r.run_id, "status": status, "created_at": r.created_at, "dataset": r.dataset_name,
            "quick": _quick_label(configs.get(r.run_id)),
            "models": ", ".join(models), "k": int(r.k), "queries": int(r.n_queries),
            "wall_time_s": r.wall_time_s, "best_model": best,
            "best_ndcg": float(nd.iloc[0]["mean"]) if not nd.empty else math.nan,
            "best_recall": float(rec.iloc[0]["mean"]) if not rec.empty else math.nan,
            "error": error, "user_id": r.user_id, "shared": bool(r.shared),
        })
    return pd.DataFrame(rows)
