"""``python -m lib evaluate``: evaluate embedding models on your own retrieval data."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand.

    Args:
        subparsers: The dispatcher's subparsers object.
    """
    p = subparsers.add_parser(
        "evaluate",
        help="evaluate models on your data (BEIR folder/zip or a pairs file)",
        description=(
            "Evaluate embedding models on a retrieval dataset, print mean and 95%% CI per "
            "model and store the run. Models: minilm, a hub name or folder, "
            "openai:MODEL?base_url=URL, bm25. Progress goes to stderr."
        ),
    )
    p.add_argument("--data", required=True,
                   help="BEIR folder or .zip, a pairs .csv/.jsonl, or label:SET (a labelled set)")
    p.add_argument("--judge", action="append", dest="judges", default=None,
                   help="with --data label:SET: use these judges, first wins (default people, synthetic, LLM)")
    p.add_argument("--model", action="append", required=True, dest="models", metavar="NAME",
                   help="model spec; repeat for several models")
    p.add_argument("--k", type=int, default=10, help="cut-off for nDCG/Recall/P (default 10)")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--split", default="test", help="qrels split for BEIR folders")
    p.add_argument("--db", default=None, help="DuckDB file (default EMS_DB)")
    p.add_argument("--no-sweep", action="store_true", help="skip the dimension/precision sweep")
    p.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--user", default=None, help="act as this local user (default EMS_USER, else your login name)")
    p.add_argument("--quick", action="store_true",
                   help="quick estimate on a reduced corpus: judged documents + the pool systems' top documents per "
                   "query + a seeded random fill (labelled as a quick estimate everywhere)")
    p.add_argument("--quick-size", type=int, default=None, metavar="N",
                   help="with --quick: documents to keep (default 1000)")
    p.add_argument("--quick-pool", action="append", default=None, metavar="NAME",
                   help="with --quick: a pooling system; repeat for several (default bm25 and "
                   "minilm?backend=onnx&quantize=int8; a pooling "
                   "system keeps its own top 10 and is favoured)")
    p.add_argument("--engine", choices=("local", "ray"), default=None,
                   help="where documents are encoded: local (this process; the default) or ray (Ray actors: "
                        "the cluster at EMS_RAY_ADDRESS, else a local Ray instance; the default when "
                        "EMS_RAY_ADDRESS is set)")
    p.add_argument("--ray-actors", type=_positive, default=None, metavar="N",
                   help="--engine ray: actors, one model each (default EMS_RAY_ACTORS, else one per GPU or CPU-1)")
    p.add_argument("--ray-batch-size", type=_positive, default=None, metavar="N",
                   help="--engine ray: texts per actor call (default EMS_RAY_BATCH_SIZE, 1024)")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def _progress(message: str, fraction: float) -> None:
    print(f"[{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the evaluation and print the metrics table.

    Args:
        args: Parsed arguments.

    Returns:
        0 on success.

    Raises:
        UserError: For invalid data (one line naming file, line and field) or models.
    """
    import dataclasses
    import json

    from lib import csvsafe, store, team
    from lib.errors import UserError
    from lib.evaluation import datasets, engine, quick
    from lib.evaluation.fusion import ALPHA_SWEEP_WARNING

    if not args.quick and (args.quick_size is not None or args.quick_pool):
        raise UserError("--quick-size and --quick-pool need --quick")
    cfg = engine.EvaluationConfig(
        models=tuple(args.models), k=args.k, split=args.split, sweep=not args.no_sweep,
        use_cache=not args.no_cache, bootstrap_resamples=args.bootstrap, seed=args.seed,
        ray_actors=args.ray_actors, ray_batch_size=args.ray_batch_size,
        **({"engine": args.engine} if args.engine else {}),
    )
    # Validate the data before any progress output, so that an invalid input prints exactly
    # one line (`error: <file>, line <n>: …`) and nothing else.
    from lib.labelling import export

    viewer = team.local_viewer(args.user)
    set_id = export.parse_label_data(args.data)
    if set_id is not None:
        team.require_label_set(args.db, set_id, viewer)  # another person's private set: "no label set"
        ds = export.labelled_dataset(args.db, set_id, args.judges)
    else:
        ds = datasets.load_dataset(args.data, split=args.split)
    # Open the store before loading any model: a database held by another process (the app)
    # is one error line now, not after minutes of model loading.
    store.schema_version(args.db)
    # The same job code as the app's background jobs, in the foreground (recorded as a job too).
    from lib import job_kinds, jobs

    quick_opts = None
    if args.quick:
        quick_opts = {"size": quick.DEFAULT_SIZE if args.quick_size is None else args.quick_size,
                      "pool": list(args.quick_pool or quick.DEFAULT_POOL_MODELS)}
    _job, result = jobs.run_foreground(
        "evaluate", job_kinds.evaluate_params(ds, cfg, judges=args.judges, quick=quick_opts),
        title=job_kinds.evaluation_title(ds, cfg.models), inputs={"dataset": ds, "viewer": viewer},
        db_path=args.db, echo=_progress, user_id=viewer.user_id,
    )
    qinfo = quick.info_of({"quick": result.config.quick})
    judged = export.judged_at_k_for_run(args.db, result.run_id) if set_id is not None else None
    if args.format == "json":
        out = {
            "run_id": result.run_id,
            "dataset": {"name": result.dataset.name, "fingerprint": result.dataset.fingerprint,
                        "n_docs": len(result.dataset.doc_ids),
                        "n_queries": len(result.dataset.query_ids)},
            "summary": result.summary.to_dict(orient="records"),
            "pairs": result.pairs.to_dict(orient="records"),
            "groups": result.groups,
            "cost": {m.info.spec: m.cost.__dict__ for m in result.models},
            # Per model: token lengths under its tokenizer, the share cut off at its limit, chunks.
            "truncation": {m.info.spec: dataclasses.asdict(m.truncation) for m in result.models},
        }
        swept = {m.info.spec: m.fusion_sweep.to_dict(orient="records") for m in result.models
                 if not m.fusion_sweep.empty}
        if swept:  # score-fusion hybrids over their weight α, with the caution that goes with it
            out["fusion_sweep"] = swept
            out["fusion_sweep_warning"] = ALPHA_SWEEP_WARNING
        if qinfo is not None:
            out["quick"] = {**qinfo.to_record(), "label": quick.label(qinfo)}
        if judged is not None:
            out["label_set"] = set_id
            out["judged_at_10"] = dict(zip(judged["model"], judged["judged_at_k"], strict=True))
            out["notes"] = [*result.dataset.notes, *(n for n in judged["note"] if n)]
        print(json.dumps(out, indent=2, default=str))
    elif args.format == "csv":
        # Model specs and dataset names are user text: defuse formulas for spreadsheets.
        print(csvsafe.to_csv(result.summary, index=False), end="")
    else:
        if qinfo is not None:
            print(f"{quick.label(qinfo)}. {quick.CAVEAT}.")
            if qinfo.note:
                print(f"note: {qinfo.note}")
        _print_table(result)
        if judged is not None:
            print("judged@10 (share of each model's top-10 that was judged; unjudged counts as not relevant):")
            for row in judged.itertuples():
                print(f"  {row.model}: {row.judged_at_k:.0%}" + ("" if row.pooled else " (not in the pool)"))
            for note in [*result.dataset.notes, *(n for n in judged["note"] if n)]:
                print(f"note: {note}")
    if qinfo is not None and args.format == "csv":
        print(f"{quick.label(qinfo)}" + (f"; note: {qinfo.note}" if qinfo.note else ""), file=sys.stderr)
    print(f"run {result.run_id} stored ({result.wall_time_s:.1f} s"
          + (f" + {qinfo.pool_seconds:.1f} s pooling" if qinfo is not None and qinfo.pool_seconds else "") + ")",
          file=sys.stderr)
    return 0


def _print_table(result: Any) -> None:
    from lib.evaluation.chunking import describe
    from lib.evaluation.fusion import ALPHA_SWEEP_WARNING

    summary = result.summary
    metrics = list(dict.fromkeys(summary["metric"]))
    specs = [m.info.spec for m in result.models]
    width = max(12, *(len(s) for s in specs))
    print(f"{result.dataset.name}: {len(result.dataset.doc_ids)} documents, "
          f"{len(result.dataset.query_ids)} queries; mean [95% CI]")
    print(f"{'metric':<11} " + " ".join(f"{s:>{width + 12}}" for s in specs))
    for m in metrics:
        cells = []
        for s in specs:
            row = summary[(summary["model"] == s) & (summary["metric"] == m)].iloc[0]
            cells.append(f"{row['mean']:.4f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
                         .rjust(width + 12))
        print(f"{m:<11} " + " ".join(cells))
    print("cost of use:")
    for mr in result.models:
        c = mr.cost
        parts = [f"{mr.info.spec}:"]
        if c.docs_per_s:
            parts.append(f"{c.docs_per_s:.1f} docs/s")
        if c.queries_per_s:
            parts.append(f"{c.queries_per_s:.1f} queries/s")
        if c.latency_p50_ms is not None:
            parts.append(f"latency p50 {c.latency_p50_ms:.1f} ms, p95 {c.latency_p95_ms:.1f} ms")
        parts.append(f"index {c.index_bytes:,} B")
        if c.api_tokens:
            cost = f", ${c.api_cost_usd:.4f}" if c.api_cost_usd is not None else ""
            parts.append(f"{c.api_tokens:,} tokens{cost}")
        parts.append(f"cache {c.cache_hits} hits / {c.cache_misses} misses")
        print("  " + " ".join(parts))
    print("cut off at the model's input limit:")
    for mr in result.models:
        print(f"  {mr.info.spec}: {describe(mr.truncation)}")
    for mr in result.models:
        sw = mr.fusion_sweep
        if sw.empty:
            continue
        metric = f"nDCG@{result.config.k}"
        grid = sw[(sw["kind"] == "alpha") & (sw["metric"] == metric)]
        print(f"fusion weight α of {mr.info.spec} ({metric}): "
              + ", ".join(f"{a:g}: {v:.4f}" for a, v in zip(grid["alpha"], grid["mean"], strict=True)))
        cv = sw[(sw["kind"] == "cross-validated") & (sw["metric"] == metric)]
        if not cv.empty:
            c = cv.iloc[0]
            print(f"  cross-validated: {c['mean']:.4f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}] ({c['note']})")
        print(f"  caution: {ALPHA_SWEEP_WARNING}")
    for metric, groups in result.groups.items():
        if len(specs) > 1:
            print(f"not separable on {metric}: " + " > ".join("{" + ", ".join(g) + "}"
                                                          for g in groups))
