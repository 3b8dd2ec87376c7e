"""``python -m lib label``: evaluate without labels — pool, judge (people or an LLM), synthesise, export.

Verbs: ``pool``, ``export-pool``, ``import``, ``llm``, ``synth``, ``status``, ``export``,
``list``. ``--format json`` prints one JSON object on stdout; progress and cost estimates
go to stderr. A labelled set is then evaluated with ``python -m lib evaluate --data label:SET``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=None, help="DuckDB file (default EMS_DB)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--user", default=None,
                   help="act as this local user: sets you make are theirs; you see theirs and shared ones "
                        "(default EMS_USER, else your login name)")


def _viewer(args: argparse.Namespace) -> Any:
    from lib import team

    return team.local_viewer(args.user)


def _owned(fn: Any) -> Any:
    """A verb on an existing set: another person's private set is "no label set", like a missing one."""

    def run(args: argparse.Namespace) -> int:
        from lib import team

        if getattr(args, "set_id", None):
            team.require_label_set(args.db, args.set_id, _viewer(args))
        return int(fn(args))

    return run


def register(subparsers: Any) -> None:
    """Add the ``label`` subcommand and its verbs.

    Args:
        subparsers: The dispatcher's subparsers object.
    """
    p = subparsers.add_parser(
        "label",
        help="build relevance judgements: pool candidates, judge, LLM-judge, synthetic queries",
        description="Evaluate without labels: pool the top-k of several retrievers, judge the pool "
                    "(CSV round trip or an LLM with UMBRELA's prompt), then evaluate with --data label:SET.",
    )
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    v = verbs.add_parser("pool", help="pool the top-k of several models (a new set from --data, or --set)")
    src = v.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="BEIR folder/zip or corpus .jsonl/.csv/.tsv (qrels are ignored)")
    src.add_argument("--set", dest="set_id", help="add systems to an existing label set")
    v.add_argument("--model", action="append", required=True, dest="models", metavar="NAME",
                   help="model spec (bm25, minilm, openai:…); repeat")
    v.add_argument("--depth", type=int, default=10, help="ranks pooled per model (default 10)")
    v.add_argument("--queries-file", default=None,
                   help="queries: .jsonl/.csv/.tsv with _id and text, or .txt with one query per line")
    v.add_argument("--no-folder-queries", action="store_true",
                   help="ignore the folder's own queries file (use --queries-file)")
    v.add_argument("--name", default=None, help="display name of the new set")
    v.add_argument("--no-cache", action="store_true", help="do not use the embedding cache")
    _common(v)
    v.set_defaults(func=_owned(_pool))

    v = verbs.add_parser("export-pool", help="write the pool as CSV to judge in a spreadsheet")
    v.add_argument("set_id", metavar="SET")
    v.add_argument("--out", required=True, help="CSV file (columns query_id, doc_id, query, document, grade)")
    v.add_argument("--judge", default=None, help="pre-fill this judge's grades")
    _common(v)
    v.set_defaults(func=_owned(_export_pool))

    v = verbs.add_parser("import", help="import grades (query_id, doc_id, grade) as one judge")
    v.add_argument("set_id", metavar="SET")
    v.add_argument("--judgements", required=True, help="CSV/TSV/JSONL with query_id, doc_id, grade (0/1/2)")
    v.add_argument("--judge", required=True, help="who judged")
    _common(v)
    v.set_defaults(func=_owned(_import))

    v = verbs.add_parser("llm", help="grade pooled pairs with a chat model (UMBRELA prompt)")
    v.add_argument("set_id", metavar="SET")
    v.add_argument("--model", required=True, help="openai:MODEL?base_url=…&price_per_mtok=…&output_price_per_mtok=…")
    v.add_argument("--judge", default=None, help="judge name (default llm:MODEL)")
    v.add_argument("--only-judged-by", default=None, help="only the pairs this judge graded (agreement first)")
    v.add_argument("--limit", type=int, default=None, help="at most this many pairs")
    v.add_argument("--dry-run", action="store_true", help="print the estimate and stop")
    v.add_argument("--max-cost", type=float, default=None, metavar="USD", help="refuse above this cost")
    _common(v)
    v.set_defaults(func=_llm)

    v = verbs.add_parser("synth", help="write synthetic queries for a sample of documents (a new set)")
    v.add_argument("--data", required=True, help="BEIR folder/zip or corpus file")
    v.add_argument("--model", required=True, help="openai:MODEL?base_url=…")
    v.add_argument("--n", type=int, default=100, help="documents to sample, one question each (default 100)")
    v.add_argument("--seed", type=int, default=0, help="the random draw of the document sample (default 0)")
    v.add_argument("--prompt-file", default=None, help="a prompt with {passage} (default: shown by --dry-run)")
    v.add_argument("--name", default=None)
    v.add_argument("--dry-run", action="store_true", help="print the prompt and estimate and stop")
    v.add_argument("--max-cost", type=float, default=None, metavar="USD", help="refuse above this cost")
    _common(v)
    v.set_defaults(func=_synth)

    v = verbs.add_parser("status", help="pool size, progress per judge, agreement (kappa)")
    v.add_argument("set_id", metavar="SET")
    _common(v)
    v.set_defaults(func=_owned(_status))

    v = verbs.add_parser("export", help="write the labelled set as a BEIR folder")
    v.add_argument("set_id", metavar="SET")
    v.add_argument("--out", required=True, help="folder")
    v.add_argument("--judge", action="append", dest="judges", default=None,
                   help="use these judges, first wins (default: people, then synthetic, then LLM)")
    _common(v)
    v.set_defaults(func=_owned(_export))

    v = verbs.add_parser("list", help="list label sets")
    _common(v)
    v.set_defaults(func=_list)


def _progress(message: str, fraction: float) -> None:
    print(f"[{fraction * 100:5.1f}%] {message}", file=sys.stderr, flush=True)


def _json(obj: dict[str, Any]) -> None:
    def clean(x: Any) -> Any:
        if isinstance(x, float) and math.isnan(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    print(json.dumps(clean(obj), indent=2, default=str))


def _stats_json(st: Any) -> dict[str, Any]:
    sizes = st.per_query["size"]
    return {
        "set": st.set_id,
        "pool": {
            "size": st.size, "n_queries": st.n_queries, "mean_per_query": st.mean_per_query,
            "min_per_query": int(sizes.min()) if len(sizes) else 0,
            "max_per_query": int(sizes.max()) if len(sizes) else 0,
            "max_size": st.max_size,
            "systems": [{"system": s, "depth": d, "unique": st.unique.get(s, 0)} for s, d in st.systems],
        },
    }


def _pool(args: argparse.Namespace) -> int:
    from lib import store
    from lib.evaluation import datasets
    from lib.labelling import pool

    if args.set_id is None:
        coll = datasets.load_collection(args.data, queries_file=args.queries_file,
                                        folder_queries=not args.no_folder_queries)
        store.schema_version(args.db)
        st = pool.pool_collection(coll, args.models, depth=args.depth, db=args.db, name=args.name,
                                  use_cache=not args.no_cache, progress=_progress,
                                  user_id=_viewer(args).user_id)
        notes = list(coll.notes)
    else:
        if args.queries_file:
            from lib.errors import UserError

            raise UserError("--queries-file needs --data (an existing set keeps its queries)")
        st = pool.extend_pool(args.db, args.set_id, args.models, depth=args.depth,
                              use_cache=not args.no_cache, progress=_progress)
        notes = []
    out = _stats_json(st)
    if args.format == "json":
        _json({**out, "notes": notes})
    else:
        p = out["pool"]
        print(f"label set {st.set_id}: pool of {p['size']:,} pairs over {p['n_queries']} queries "
              f"({p['mean_per_query']:.1f} per query, {p['min_per_query']}–{p['max_per_query']}; "
              f"{p['max_size']:,} without overlap)")
        for s in p["systems"]:
            print(f"  {s['system']} @ depth {s['depth']}: {s['unique']:,} pairs only it found")
        for n in notes:
            print(f"note: {n}")
        print(f"next: python -m lib label export-pool {st.set_id} --out pool.csv  (or judge on the Label page)")
    return 0


def _export_pool(args: argparse.Namespace) -> int:
    from lib.labelling import export

    text = export.pool_csv(args.db, args.set_id, args.judge)
    Path(args.out).expanduser().write_text(text, encoding="utf-8")
    if args.format == "json":
        _json({"set": args.set_id, "out": str(args.out), "rows": len(export.pool_table(args.db, args.set_id))})
    else:
        print(f"wrote the pool of {args.set_id} to {args.out}: fill in grade (0 / 1 / 2) and run "
              f"`label import {args.set_id} --judgements {args.out} --judge NAME`")
    return 0


def _import(args: argparse.Namespace) -> int:
    from lib.labelling import export

    rep = export.import_judgements(args.db, args.set_id, args.judgements, args.judge)
    if args.format == "json":
        _json({"set": args.set_id, "judge": rep.judge, "stored": rep.stored, "blank": rep.blank,
               "outside_pool": rep.outside_pool})
    else:
        print(f"stored {rep.stored:,} judgements by {rep.judge} ({rep.blank} blank rows skipped, "
              f"{rep.outside_pool} pairs outside the pool)")
    return 0


def _estimate_to_stderr(est: Any) -> None:
    print(est.describe(), file=sys.stderr, flush=True)


def _llm(args: argparse.Namespace) -> int:
    from lib import team
    from lib.labelling import llm_judge
    from lib.labelling.chat import resolve_chat

    spec = resolve_chat(args.model)  # a bad model spec is reported before the set is looked up
    team.require_label_set(args.db, args.set_id, _viewer(args))
    judge = args.judge or llm_judge.default_judge_name(spec)
    pairs = llm_judge.pairs_to_judge(args.db, args.set_id, judge, only_judged_by=args.only_judged_by,
                                     limit=args.limit)
    rep = llm_judge.judge_pairs(args.db, args.set_id, args.model, pairs=pairs, judge=judge,
                                max_cost=args.max_cost, dry_run=args.dry_run, progress=_progress,
                                on_estimate=_estimate_to_stderr)
    est = rep.estimate
    out = {
        "set": args.set_id, "judge": rep.judge, "prompt_version": llm_judge.PROMPT_VERSION,
        "dry_run": bool(args.dry_run), "pairs": rep.pairs, "requests": rep.requests, "cache_hits": rep.cache_hits,
        "judged": rep.judged, "unparsed": len(rep.unparsed), "prompt_tokens": rep.prompt_tokens,
        "completion_tokens": rep.completion_tokens, "cost_usd": rep.cost_usd,
        "estimate": {"requests": est.requests, "cached": est.cached, "input_tokens": est.input_tokens,
                     "cost_usd": est.cost_usd, "max_cost_usd": est.max_cost_usd},
    }
    if args.format == "json":
        _json(out)
    elif args.dry_run:
        print(f"dry run: nothing sent; {est.describe()}")
    else:
        cost = f"${rep.cost_usd:.4f}" if rep.cost_usd is not None else "unknown (no price)"
        print(f"{rep.judge}: {rep.judged:,} judgements stored ({rep.requests:,} requests, {rep.cache_hits:,} "
              f"from cache), cost {cost}")
        for q, d, answer in rep.unparsed[:5]:
            print(f"  no score in the answer for ({q}, {d}): {answer[:120]!r} — nothing stored for it")
        if len(rep.unparsed) > 5:
            print(f"  … {len(rep.unparsed) - 5} more answers without a score")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from lib.evaluation import datasets
    from lib.labelling import synth

    prompt = synth.DEFAULT_PROMPT
    if args.prompt_file:
        prompt = Path(args.prompt_file).expanduser().read_text(encoding="utf-8")
    coll = datasets.load_collection(args.data, folder_queries=False)
    if args.dry_run and args.format != "json":
        print("prompt:\n" + prompt + "\n", file=sys.stderr)
    rep = synth.generate(coll, args.model, n=args.n, prompt=prompt, seed=args.seed, db=args.db, name=args.name,
                         max_cost=args.max_cost, dry_run=args.dry_run, progress=_progress,
                         on_estimate=_estimate_to_stderr, user_id=_viewer(args).user_id)
    est = rep.estimate
    out = {
        "set": rep.set_id, "dry_run": bool(args.dry_run), "queries": rep.queries, "skipped": len(rep.skipped),
        "duplicates": rep.duplicates, "requests": rep.requests, "prompt_version": rep.prompt_version,
        "cost_usd": rep.cost_usd, "prompt": prompt,
        "estimate": {"requests": est.requests, "input_tokens": est.input_tokens, "cost_usd": est.cost_usd,
                     "max_cost_usd": est.max_cost_usd},
        "note": synth.BIAS_NOTE,
    }
    if args.format == "json":
        _json(out)
    elif args.dry_run:
        print(f"dry run: nothing sent; {est.describe()}")
    else:
        cost = f"${rep.cost_usd:.4f}" if rep.cost_usd is not None else "unknown (no price)"
        print(f"label set {rep.set_id}: {rep.queries} synthetic queries ({len(rep.skipped)} answers without a "
              f"question, {rep.duplicates} duplicates dropped), cost {cost}")
        print(f"note: {synth.BIAS_NOTE}")
        print(f"next: python -m lib label pool --set {rep.set_id} --model bm25 --model minilm")
    return 0


def _status(args: argparse.Namespace) -> int:
    from lib.labelling import agreement, pool
    from lib.labelling import store as lstore

    info = lstore.get_set(args.db, args.set_id)
    st = pool.pool_stats(args.db, args.set_id)
    prog = lstore.progress(args.db, args.set_id)
    agree = agreement.all_agreements(args.db, args.set_id)
    if args.format == "json":
        _json({
            **_stats_json(st), "name": info.name, "n_docs": info.n_docs, "n_queries": info.n_queries,
            "n_synthetic": info.n_synthetic,
            "progress": json.loads(prog.to_json(orient="records")),
            "agreement": [{"judge_a": a.judge_a, "judge_b": a.judge_b, "n": a.n, "kappa": a.kappa,
                           "weighted_kappa": a.weighted_kappa, "observed": a.observed,
                           "confusion": a.confusion.to_numpy().tolist()} for a in agree],
        })
        return 0
    print(f"label set {info.set_id} ({info.name}): {info.n_docs:,} documents, {info.n_queries:,} queries"
          + (f" ({info.n_synthetic} synthetic)" if info.n_synthetic else ""))
    print(f"pool: {st.size:,} pairs over {st.n_queries} queries ({st.mean_per_query:.1f} per query) from "
          + (", ".join(f"{s}@{d}" for s, d in st.systems) or "no system yet"))
    if prog.empty:
        print("no judgements yet")
    for r in prog.itertuples():
        print(f"  {r.judge} ({r.kind}): {r.judged:,}/{r.total:,} pooled pairs judged "
              f"({(r.share or 0):.0%}), {r.queries_done}/{r.n_queries} queries complete"
              + (f", {r.outside_pool} outside the pool" if r.outside_pool else ""))
    for a in agree:
        k = "undefined" if a.kappa is None else f"{a.kappa:.3f}"
        print(f"agreement {a.judge_a} vs {a.judge_b} on {a.n:,} pairs: Cohen's kappa {k} ({a.strength}), "
              f"same grade on {(a.observed or 0):.0%}")
        print("  " + a.confusion.to_string().replace("\n", "\n  "))
    return 0


def _export(args: argparse.Namespace) -> int:
    from lib.labelling import export

    out = export.export_beir(args.db, args.set_id, args.out, args.judges)
    ds = export.labelled_dataset(args.db, args.set_id, args.judges)
    if args.format == "json":
        _json({"set": args.set_id, "out": str(out), "n_docs": len(ds.doc_ids), "n_queries": len(ds.query_ids),
               "n_qrels": ds.n_qrels, "fingerprint": ds.fingerprint, "notes": list(ds.notes)})
    else:
        print(f"wrote {out}: {len(ds.doc_ids):,} documents, {len(ds.query_ids):,} judged queries, "
              f"{ds.n_qrels:,} judgements (BEIR: corpus.jsonl, queries.jsonl, qrels/test.tsv)")
    return 0


def _list(args: argparse.Namespace) -> int:
    from lib import team

    df = team.visible_label_sets(args.db, _viewer(args)).drop(columns=["user_id", "mine"])
    if args.format == "json":
        _json({"sets": json.loads(df.to_json(orient="records", date_format="iso"))})
    elif df.empty:
        print("no label sets yet: python -m lib label pool --data PATH --model bm25 --model minilm")
    else:
        print(df.to_string(index=False))
    return 0
