"""mteb's own metadata objects as table rows. The only module that imports mteb.

Everything here runs at refresh time (``python -m lib refresh``), never on a page render:
``import mteb`` costs seconds. Rows are built from mteb's ``ModelMeta``, ``TaskMetadata``
and ``Benchmark`` objects, not from hand copies, so they follow the installed mteb.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from lib.errors import UserError


def mteb_version() -> str:
    """The installed mteb version."""
    from importlib.metadata import version

    return version("mteb")


def _enum_value(v: Any) -> Any:
    return getattr(v, "value", v)


def _str_list(values: Iterable[Any] | None) -> list[str] | None:
    if values is None:
        return None
    return [str(_enum_value(v)) for v in values]


def _finite_or_none(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def model_row(meta: Any, *, in_registry: bool) -> dict[str, Any]:
    """One ``models`` row from an mteb ``ModelMeta``.

    Args:
        meta: The model's ``ModelMeta``.
        in_registry: Whether mteb's model registry knows the model (its leaderboard only
            lists those).

    Returns:
        A dict keyed by the ``models`` columns.
    """
    embed = meta.embed_dim
    dims: list[int] | None
    if embed is None:
        dims = None
    elif isinstance(embed, int):
        dims = [int(embed)]
    else:
        dims = sorted({int(d) for d in embed}) or None
    prompts = (meta.loader_kwargs or {}).get("model_prompts") or {}
    try:
        all_training = meta.get_training_datasets()
    except Exception:  # mteb resolves adapted_from models; a broken link means "unknown"
        all_training = None
    # mteb's leaderboard shows n_active_parameters (the override, else the total).
    n_active = getattr(meta, "n_active_parameters", None)
    return {
        "name": meta.name,
        "revision": meta.revision,
        "release_date": pd.to_datetime(meta.release_date).date() if meta.release_date else None,
        "languages": _str_list(meta.languages),
        "n_parameters": meta.n_parameters,
        "n_active_parameters": n_active,
        "n_embedding_parameters": meta.n_embedding_parameters,
        "memory_usage_mb": _finite_or_none(meta.memory_usage_mb),
        "max_tokens": _finite_or_none(meta.max_tokens),
        "embed_dim": max(dims) if dims else None,
        "embed_dims": dims,
        "license": str(meta.license) if meta.license else None,
        "open_weights": meta.open_weights,
        "public_training_code": meta.public_training_code,
        "public_training_data": meta.public_training_data,
        "framework": _str_list(meta.framework),
        "reference": meta.reference,
        "similarity_fn_name": _enum_value(meta.similarity_fn_name),
        "use_instructions": meta.use_instructions,
        "training_datasets": sorted(meta.training_datasets)
        if meta.training_datasets
        else ([] if meta.training_datasets is not None else None),
        "training_datasets_all": sorted(all_training) if all_training is not None else None,
        "adapted_from": meta.adapted_from,
        "superseded_by": meta.superseded_by,
        "modalities": _str_list(meta.modalities),
        "model_type": _str_list(meta.model_type),
        "query_prompt": prompts.get("query") if isinstance(prompts, dict) else None,
        "document_prompt": prompts.get("document") if isinstance(prompts, dict) else None,
        "in_mteb_registry": in_registry,
    }


def models_frame() -> pd.DataFrame:
    """Every model in mteb's registry, as ``models`` rows."""
    from mteb.models.model_implementations import MODEL_REGISTRY

    rows = [model_row(m, in_registry=True) for m in MODEL_REGISTRY.values()]
    return pd.DataFrame(rows)


def tasks_frame() -> pd.DataFrame:
    """Every task mteb knows (its task registry), as ``tasks`` rows."""
    from mteb.get_tasks import _TASKS_REGISTRY

    rows = []
    for name, cls in _TASKS_REGISTRY.items():
        md = cls.metadata
        langs = md.languages if hasattr(md, "languages") else None
        rows.append(
            {
                "name": name,
                "type": str(md.type),
                "category": _enum_value(md.category) if md.category else None,
                "languages": sorted(set(_str_list(langs) or [])),
                "domains": _str_list(md.domains),
                "main_score": md.main_score,
                "modalities": _str_list(md.modalities),
                "eval_splits": list(md.eval_splits),
                "hf_subsets": list(md.hf_subsets) if md.hf_subsets else None,
                "is_public": bool(md.is_public),
                "is_aggregate": bool(getattr(cls, "is_aggregate", False)),
                "superseded_by": md.superseded_by,
                "reference": md.reference,
                "license": str(md.license) if md.license else None,
                "description": md.description,
            }
        )
    return pd.DataFrame(rows)


def _valid_triples(tasks: Sequence[Any]) -> tuple[list[tuple[str, str | None, str | None]], bool, bool]:
    """mteb's ``_build_valid_triples`` (results/benchmark_results.py), as rows.

    Returns the (task, split, subset) rows and whether the split / subset columns take part
    in the join: mteb drops a column from the join table when any task lacks it.
    """
    names: list[str] = []
    splits: list[str] = []
    subsets: list[str] = []
    for task in tasks:
        task_splits: list[str | None] = list(task.eval_splits) if task.eval_splits else [None]
        task_subsets: list[str | None] = list(task.hf_subsets) if task.hf_subsets else [None]
        for sp in task_splits:
            for ss in task_subsets:
                names.append(task.metadata.name)
                if sp is not None:
                    splits.append(sp)
                if ss is not None:
                    subsets.append(ss)
    join_split = len(splits) == len(names)
    join_subset = len(subsets) == len(names)
    rows = [
        (
            n,
            splits[i] if join_split else None,
            subsets[i] if join_subset else None,
        )
        for i, n in enumerate(names)
    ]
    return rows, join_split, join_subset


def benchmark_frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """mteb's benchmarks: (benchmarks, benchmark_tasks, benchmark_scope) rows."""
    import mteb
    from mteb.benchmarks.benchmark import CustomGrouping, RtebBenchmark, _get_benchmarks_on_leaderboard

    try:
        on_board = _get_benchmarks_on_leaderboard()
    except Exception:  # the menu is presentation-only; don't fail a refresh over it
        on_board = set()
    benches: list[dict[str, Any]] = []
    btasks: list[dict[str, Any]] = []
    scope: list[dict[str, Any]] = []
    for pos, b in enumerate(mteb.get_benchmarks()):
        aggs = [a for a in b.aggregations if not isinstance(a, CustomGrouping)]
        groupings = [a.name for a in b.aggregations if isinstance(a, CustomGrouping)]
        sort_by = b.summary_sort_column
        rows, join_split, join_subset = _valid_triples(b.tasks)
        benches.append(
            {
                "name": b.name,
                "display_name": b.display_name,
                "aliases": list(b.aliases or []),
                "description": b.description,
                "reference": b.reference,
                "kind": type(b).__name__,
                "aggregations": [str(_enum_value(a)) for a in aggs],
                "custom_groupings": groupings or None,
                "sort_by": None if sort_by is None else ([sort_by] if isinstance(sort_by, str) else list(sort_by)),
                "rank_column": b.summary_rank_column,
                "public_only": isinstance(b, RtebBenchmark),
                "show_zero_shot": bool(b.show_zero_shot),
                "join_split": join_split,
                "join_subset": join_subset,
                "superseded_by": list(b.superseded_by) if b.superseded_by else None,
                "on_leaderboard": b.name in on_board,
                "position": pos,
            }
        )
        seen: set[str] = set()
        for tpos, t in enumerate(b.tasks):
            name = t.metadata.name
            if name in seen:
                continue
            seen.add(name)
            btasks.append(
                {
                    "benchmark": b.name,
                    "task_name": name,
                    "position": tpos,
                    "languages": sorted(set(_str_list(t.languages) or [])),
                }
            )
        scope.extend({"benchmark": b.name, "task_name": n, "split": sp, "subset": ss} for n, sp, ss in rows)
    return pd.DataFrame(benches), pd.DataFrame(btasks), pd.DataFrame(scope)


def experiment_ids(values: Sequence[Any]) -> dict[Any, str]:
    """mteb's experiment id for each distinct ``experiments`` value.

    Args:
        values: Distinct values of the results' ``experiments`` column.

    Returns:
        Mapping value → id ('' for the base run), computed by mteb's own
        ``_ensure_experiment_id`` so variants group exactly as in its leaderboard.
    """
    import polars as pl
    from mteb.benchmarks._create_table import _EXPERIMENT_ID_COL, _ensure_experiment_id

    non_null = [v for v in values if v is not None and v == v]  # v == v drops NaN
    out: dict[Any, str] = {None: ""}
    if non_null:
        frame = _ensure_experiment_id(pl.DataFrame({"experiments": non_null}))
        out.update(zip(non_null, frame[_EXPERIMENT_ID_COL].to_list(), strict=True))
    return out


def local_results_frames(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a folder of mteb result files (``ResultCache`` layout) through mteb.

    Args:
        path: The cache folder (holding ``results/<org>__<model>/<revision>/<Task>.json``)
            or its ``results`` folder itself.

    Returns:
        (rows in the ``mteb_results`` layout, ``models`` rows for models mteb's registry
        does not know, built from their ``model_meta.json``).

    Raises:
        UserError: If the folder does not exist or holds no result files.
    """
    import mteb
    from mteb.models.model_implementations import MODEL_REGISTRY

    path = path.expanduser().resolve()
    if not path.exists():
        raise UserError(f"Local results folder {path} does not exist.")
    cache_root = path.parent if path.name == "results" else path
    if not (cache_root / "results").is_dir():
        raise UserError(
            f"{path} is not an mteb results folder: expected results/<org>__<model>/<revision>/<Task>.json inside it."
        )
    cache = mteb.ResultCache(cache_path=cache_root)
    results = cache.load_results(require_model_meta=False, include_remote=False, only_main_score=True)
    ds = results._to_dataset(include_model_revision=True)
    frame = ds.to_pandas() if len(ds) else pd.DataFrame()
    if frame.empty:
        raise UserError(f"No mteb result files found under {cache_root / 'results'}.")
    extra_models = []
    for name in sorted(set(frame["model_name"])):
        if name in MODEL_REGISTRY:
            continue
        pattern = f"{name.replace('/', '__')}/*/model_meta.json"
        meta_file = next(iter(sorted((cache_root / "results").glob(pattern))), None)
        if meta_file is None:
            continue
        try:
            from mteb.models.model_meta import ModelMeta

            raw = json.loads(meta_file.read_text(encoding="utf-8"))
            meta = ModelMeta.model_validate(raw)
        except Exception as exc:
            raise UserError(f"{meta_file}: not a valid mteb model_meta.json ({exc}).") from exc
        extra_models.append(model_row(meta, in_registry=False))
    return frame, pd.DataFrame(extra_models)
