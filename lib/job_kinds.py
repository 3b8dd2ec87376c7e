"""The built-in job kinds: the code a background (or CLI foreground) job runs.

* ``evaluate`` — :func:`lib.evaluation.engine.evaluate` on a dataset named by its source
  (a staged upload folder, a BEIR folder, a pairs file, the demo, or ``label:SET``).

Each handler takes ``(params, inputs, context)``: ``params`` are stored with the job and
are enough to run it again after a restart; ``inputs`` hold this submission's in-memory
objects (the already validated dataset, the API key), never stored.

Public API: :func:`evaluate_params`, :func:`evaluation_title`, :func:`load_job_dataset`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from lib import jobs
from lib.errors import UserError
from lib.evaluation.datasets import Dataset


def evaluate_params(ds: Dataset, config: Any, *, judges: Sequence[str] | None = None,
                    quick: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The stored parameters of an evaluation job.

    Args:
        ds: The validated dataset (its source and split name it; its fingerprint pins it).
        config: An :class:`lib.evaluation.engine.EvaluationConfig`.
        judges: For a labelled set, the judges in order of precedence.
        quick: A quick estimate instead of a full run: ``{"size": N, "pool": [specs]}``
            (:func:`lib.evaluation.quick.evaluate`).

    Returns:
        JSON-able parameters (no key: API keys are inputs, never parameters).
    """
    return {
        "data": {"source": ds.source, "split": ds.split, "name": ds.name, "fingerprint": ds.fingerprint,
                 "judges": list(judges) if judges else None},
        "config": json.loads(json.dumps(dataclasses.asdict(config), default=list)),
        "quick": dict(quick) if quick else None,
    }


def evaluation_title(ds: Dataset, specs: Sequence[str]) -> str:
    """``Evaluate 3 models on Northwind Cloud (149 documents)``."""
    from lib.evaluation.models import display_label

    names = ", ".join(display_label(s) for s in specs[:3]) + (f" and {len(specs) - 3} more" if len(specs) > 3 else "")
    return f"Evaluate {names} on {ds.name} ({len(ds.doc_ids):,} documents)"


def load_job_dataset(data: Mapping[str, Any], db_path: Any) -> Dataset:
    """Load a job's dataset again from its stored reference (Run again after a restart).

    Args:
        data: ``params["data"]``.
        db_path: The DuckDB file (labelled sets live there).

    Returns:
        The dataset.

    Raises:
        UserError: When the data is gone, or a file's content changed since the job was
            submitted (its fingerprint differs): running it again would not be the same run.
    """
    from lib.evaluation.datasets import load_dataset
    from lib.labelling import export

    source = str(data["source"])
    set_id = export.parse_label_data(source)
    if set_id is not None:  # a labelled set grows as people judge: run on its current state
        return export.labelled_dataset(db_path, set_id, data.get("judges"))
    split = str(data.get("split") or "test")
    try:
        ds = load_dataset(source, split="test" if split == "pairs" else split)
    except UserError as exc:
        raise UserError(f"the data of this job cannot be read again ({exc}); start a new evaluation") from None
    if ds.fingerprint != data.get("fingerprint"):
        raise UserError(f"the data at {source} changed since this job was submitted; start a new evaluation")
    return ds


def _evaluate(params: Mapping[str, Any], inputs: Mapping[str, Any], ctx: jobs.JobContext) -> str:
    from lib.evaluation import engine

    ds = inputs.get("dataset")
    if not isinstance(ds, Dataset):
        ctx.progress("loading the data again", 0.0)
        ds = load_job_dataset(params["data"], ctx.db_path)
    raw = dict(params["config"])
    fields = {f.name for f in dataclasses.fields(engine.EvaluationConfig)}
    kwargs: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in raw.items() if k in fields}
    cfg = engine.EvaluationConfig(**kwargs)
    run_id = engine.new_run_id()
    ctx.set_result(run_id)
    q = params.get("quick")
    if q:
        from lib.evaluation import quick

        result = quick.evaluate(ds, cfg, int(q["size"]), pool_models=tuple(q.get("pool") or quick.DEFAULT_POOL_MODELS),
                                db_path=ctx.db_path, progress=ctx.progress, api_key=inputs.get("api_key"),
                                run_id=run_id, viewer=inputs.get("viewer"))
    else:
        result = engine.evaluate(ds, cfg, db_path=ctx.db_path, progress=ctx.progress, api_key=inputs.get("api_key"),
                                 run_id=run_id, viewer=inputs.get("viewer"))
    ctx.output = result
    return result.run_id


jobs.register("evaluate", _evaluate)


# --------------------------------------------------------------------------- labelling jobs


def judge_params(set_id: str, model: str, only_judged_by: str | None, limit: int) -> dict[str, Any]:
    """What an LLM-judging job runs: the set, the chat model spec, which pairs, at most how many."""
    return {"set_id": set_id, "model": model, "only_judged_by": only_judged_by, "limit": int(limit)}


def _llm_judge(params: Mapping[str, Any], inputs: Mapping[str, Any], ctx: jobs.JobContext) -> str:
    """Grade the set's pairs with a chat model; each answer is stored as it comes (Cancel keeps those)."""
    from lib.labelling import chat, llm_judge

    set_id = str(params["set_id"])
    ctx.set_result(set_id)
    ctx.progress("choosing the pairs to grade", 0.0)
    spec = chat.resolve_chat(str(params["model"]))
    # Chosen when the job runs, not when it was submitted: pairs graded meanwhile are not sent again.
    pairs = llm_judge.pairs_to_judge(ctx.db_path, set_id, llm_judge.default_judge_name(spec),
                                     only_judged_by=params.get("only_judged_by"), limit=int(params["limit"]))
    rep = llm_judge.judge_pairs(ctx.db_path, set_id, str(params["model"]), pairs=pairs,
                                api_key=inputs.get("api_key"), progress=ctx.progress)
    ctx.output = rep
    cost = "unknown" if rep.cost_usd is None else f"${rep.cost_usd:.4f}"
    ctx.note(f"{rep.judged:,} judged · {rep.requests:,} requests · {rep.cache_hits:,} from the cache · cost {cost}"
             + (f" · {len(rep.unparsed)} answers without a score (not stored)" if rep.unparsed else ""))
    return set_id


def synth_params(coll: Any, model: str, n: int, prompt: str, name: str) -> dict[str, Any]:
    """What a synthetic-question job runs: the documents (source and fingerprint), model, count, prompt."""
    return {"collection": {"source": coll.source, "fingerprint": coll.fingerprint, "name": coll.name},
            "model": model, "n": int(n), "prompt": prompt, "name": name}


def _synth(params: Mapping[str, Any], inputs: Mapping[str, Any], ctx: jobs.JobContext) -> str:
    """Write synthetic questions into a new set; nothing is stored unless every request succeeds."""
    from lib.evaluation import datasets
    from lib.labelling import synth

    coll = inputs.get("collection")
    if coll is None:  # Run again: read the documents again, and refuse if they changed
        ctx.progress("loading the documents again", 0.0)
        src = params["collection"]
        try:
            coll = datasets.load_collection(src["source"], folder_queries=False)
        except (UserError, OSError) as exc:
            raise UserError(f"the documents of this job cannot be read again ({exc}); start again") from None
        if coll.fingerprint != src["fingerprint"]:
            raise UserError(f"the documents at {src['source']} changed since this job was submitted; start again")
    rep = synth.generate(coll, str(params["model"]), n=int(params["n"]), prompt=str(params["prompt"]),
                         db=ctx.db_path, name=params.get("name") or None, api_key=inputs.get("api_key"),
                         progress=ctx.progress, user_id=getattr(inputs.get("viewer"), "user_id", None))
    ctx.output = rep
    assert rep.set_id is not None  # only a dry run has none
    ctx.set_result(rep.set_id)
    ctx.note(f"{rep.queries:,} questions written · {rep.requests:,} requests"
             + (f" · {len(rep.skipped)} answers held no question" if rep.skipped else ""))
    return rep.set_id


jobs.register("llm_judge", _llm_judge)
jobs.register("synth", _synth)
