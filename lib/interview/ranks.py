"""Leaderboard demonstrations: overall vs retrieval rank, domain vs general rank, your data vs MTEB.

All functions take tables the app already has (mteb summary tables from
:func:`lib.leaderboard.ranking.summary_table`, stored runs from
:func:`lib.evaluation.runs.load_run`), so the page's cached reads are reused and the tests
can pass the real leaderboard data straight in.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lib import report
from lib.config import DATA_DIR
from lib.evaluation import runs
from lib.leaderboard.ranking import MEAN_TASK

DEMO_DIR = DATA_DIR / "demo"
#: Models named like this are flagged as domain-specialised in the legal table (a name
#: heuristic, labelled as such on the page: mteb has no "specialised for" field).
LEGAL_NAME = re.compile(r"law|legal|lex|juris", re.IGNORECASE)


def _ranks(values: pd.Series) -> pd.Series:
    """1 = best; ties share the better rank (mteb's ``method="min"``)."""
    return values.rank(ascending=False, method="min").astype("Int64")


@dataclass(frozen=True)
class RankGap:
    """How a benchmark's overall order differs from one task type's order.

    Attributes:
        benchmark: mteb benchmark name.
        overall_col: The overall score column (``Mean (Task)``).
        task_type: The task-type column compared (``Retrieval``).
        n_models: Models with both scores (the ones ranked).
        table: One row per model: ``model``, ``overall``, ``task_score``,
            ``overall_rank``, ``task_rank``, ``shift`` (task rank − overall rank: positive
            when the overall mean flatters the model), ``leaderboard_rank`` (the
            benchmark's own rank column), and ``sts_rank`` when the benchmark has STS.
        spearman: Rank correlation of the two orders.
        top_n: Size of the "top" compared below.
        leader: Best model by the overall score.
        leader_task_rank: Its rank on the task type.
        task_leader: Best model on the task type.
        task_leader_overall_rank: Its overall rank.
        top_not_top: Models in the overall top ``top_n`` that are outside the task-type top ``top_n``.
    """

    benchmark: str
    overall_col: str
    task_type: str
    n_models: int
    table: pd.DataFrame
    spearman: float
    top_n: int
    leader: str
    leader_task_rank: int
    task_leader: str
    task_leader_overall_rank: int
    top_not_top: tuple[str, ...]

    def movers(self, n: int = 8, within: int = 30) -> pd.DataFrame:
        """The models whose two ranks differ most, among the overall top ``within``.

        Args:
            n: Rows to return.
            within: Only models this high overall (the ones a reader would shortlist).

        Returns:
            Rows of :attr:`table`, largest ``|shift|`` first.
        """
        top = self.table[self.table["overall_rank"] <= within]
        order = top["shift"].abs().sort_values(ascending=False, kind="stable").index
        return top.loc[order].head(n)


def rank_gap(
    table: pd.DataFrame,
    benchmark: str,
    *,
    task_type: str = "Retrieval",
    overall_col: str = MEAN_TASK,
    rank_col: str = "Rank (Borda)",
    top_n: int = 10,
) -> RankGap:
    """Rank every model twice — by the overall mean and by one task type — and compare.

    Args:
        table: mteb's summary table for the benchmark (``SummaryTable.df``).
        benchmark: Its name (recorded only).
        task_type: Task-type column to compare with (``Retrieval`` for search and RAG).
        overall_col: The overall score column.
        rank_col: The benchmark's own rank column, kept for reference.
        top_n: Size of the top lists compared.

    Returns:
        The comparison.

    Raises:
        ValueError: If fewer than two models have both scores.
    """
    if task_type not in table.columns or overall_col not in table.columns:
        raise ValueError(f"{benchmark} has no {task_type!r} or {overall_col!r} column")
    d = table.dropna(subset=[overall_col, task_type]).drop_duplicates("Model")
    if len(d) < 2:
        raise ValueError(f"fewer than two models of {benchmark} have both {overall_col} and {task_type} scores")
    out = pd.DataFrame(
        {
            "model": d["Model"].astype(str).to_numpy(),
            "overall": d[overall_col].astype(float).to_numpy(),
            "task_score": d[task_type].astype(float).to_numpy(),
        }
    )
    out["overall_rank"] = _ranks(out["overall"])
    out["task_rank"] = _ranks(out["task_score"])
    out["shift"] = (out["task_rank"] - out["overall_rank"]).astype("Int64")
    out["leaderboard_rank"] = (
        d[rank_col].astype("Int64").to_numpy() if rank_col in d.columns else pd.array([pd.NA] * len(d), dtype="Int64")
    )
    if "STS" in d.columns and task_type != "STS":
        out["sts_rank"] = _ranks(pd.Series(d["STS"].astype(float).to_numpy()))
    out = out.sort_values(["overall_rank", "model"], kind="stable").reset_index(drop=True)
    spearman = float(out["overall"].corr(out["task_score"], method="spearman"))
    leader = out.iloc[0]
    task_best = out.sort_values(["task_rank", "model"], kind="stable").iloc[0]
    top_overall = out[out["overall_rank"] <= top_n]
    return RankGap(
        benchmark=benchmark,
        overall_col=overall_col,
        task_type=task_type,
        n_models=len(out),
        table=out,
        spearman=spearman,
        top_n=top_n,
        leader=str(leader["model"]),
        leader_task_rank=int(leader["task_rank"]),
        task_leader=str(task_best["model"]),
        task_leader_overall_rank=int(task_best["overall_rank"]),
        top_not_top=tuple(str(m) for m in top_overall[top_overall["task_rank"] > top_n]["model"]),
    )


@dataclass(frozen=True)
class DomainRanking:
    """A domain benchmark's order beside a general benchmark's.

    Attributes:
        domain: Domain benchmark (e.g. ``MTEB(Law, v1)``).
        general: General benchmark (e.g. ``MTEB(eng, v2)``).
        n_domain: Models ranked on the domain benchmark.
        n_general: Models ranked on the general one.
        n_domain_tasks: Tasks of the domain benchmark with results.
        table: The domain top ``top_n``: ``model``, ``domain_score``, ``domain_rank``,
            ``general_rank`` (NA when not ranked there), ``specialised`` (name heuristic).
        top_n: Rows in :attr:`table`.
        domain_leader: Best on the domain benchmark.
        domain_leader_general_rank: Its general rank (None when not ranked there).
        general_leader: Best on the general benchmark.
        general_leader_domain_rank: Its domain rank (None when not ranked there).
        overlap: Models in both top-``top_n`` lists.
        common: The general top ``top_n`` among models ranked on both benchmarks:
            ``model``, ``general_rank``, ``domain_rank``.
    """

    domain: str
    general: str
    n_domain: int
    n_general: int
    n_domain_tasks: int
    table: pd.DataFrame
    top_n: int
    domain_leader: str
    domain_leader_general_rank: int | None
    general_leader: str
    general_leader_domain_rank: int | None
    overlap: int
    common: pd.DataFrame


def _score_ranks(table: pd.DataFrame, col: str) -> pd.DataFrame:
    d = table.dropna(subset=[col]).drop_duplicates("Model")
    out = pd.DataFrame({"model": d["Model"].astype(str).to_numpy(), "score": d[col].astype(float).to_numpy()})
    out["rank"] = _ranks(out["score"])
    return out.sort_values(["rank", "model"], kind="stable").reset_index(drop=True)


def domain_vs_general(
    domain_table: pd.DataFrame,
    general_table: pd.DataFrame,
    *,
    domain: str,
    general: str,
    n_domain_tasks: int,
    score_col: str = MEAN_TASK,
    top_n: int = 10,
) -> DomainRanking:
    """Compare a domain benchmark's ranking with a general benchmark's.

    Args:
        domain_table: Summary table of the domain benchmark.
        general_table: Summary table of the general benchmark.
        domain: Domain benchmark name.
        general: General benchmark name.
        n_domain_tasks: Tasks of the domain benchmark (for the text).
        score_col: Score ranked in both (``Mean (Task)``).
        top_n: Size of the top lists.

    Returns:
        The comparison.

    Raises:
        ValueError: If either table has no ranked model.
    """
    d = _score_ranks(domain_table, score_col)
    g = _score_ranks(general_table, score_col)
    if d.empty or g.empty:
        raise ValueError(f"no model has a {score_col} score on {domain if d.empty else general}")
    g_rank = dict(zip(g["model"], g["rank"], strict=True))
    d_rank = dict(zip(d["model"], d["rank"], strict=True))
    top = d.head(top_n).rename(columns={"score": "domain_score", "rank": "domain_rank"})
    top["general_rank"] = pd.array([g_rank.get(m, pd.NA) for m in top["model"]], dtype="Int64")
    top["specialised"] = [bool(LEGAL_NAME.search(m)) for m in top["model"]]
    dl, gl = str(d.iloc[0]["model"]), str(g.iloc[0]["model"])
    dl_g, gl_d = g_rank.get(dl), d_rank.get(gl)
    both = g[g["model"].isin(d_rank)].head(top_n)
    common = pd.DataFrame({
        "model": both["model"].to_numpy(),
        "general_rank": both["rank"].to_numpy(),
        "domain_rank": pd.array([d_rank[m] for m in both["model"]], dtype="Int64"),
    })
    return DomainRanking(
        domain=domain,
        general=general,
        n_domain=len(d),
        n_general=len(g),
        n_domain_tasks=n_domain_tasks,
        table=top.reset_index(drop=True),
        top_n=top_n,
        domain_leader=dl,
        domain_leader_general_rank=None if dl_g is None else int(dl_g),
        general_leader=gl,
        general_leader_domain_rank=None if gl_d is None else int(gl_d),
        overlap=len(set(d.head(top_n)["model"]) & set(g.head(top_n)["model"])),
        common=common,
    )


# --------------------------------------------------------------------------- your data vs MTEB


def query_kinds(folder: Path) -> dict[str, str]:
    """The optional ``kind`` label of each query in a BEIR folder's ``queries.jsonl``.

    Args:
        folder: A BEIR folder.

    Returns:
        Query id → kind; empty when the file is absent or has no kinds.
    """
    path = Path(folder) / "queries.jsonl"
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            return {}
        if isinstance(row, dict) and row.get("kind") and row.get("_id") is not None:
            out[str(row["_id"])] = str(row["kind"])
    return out


def kinds_for_run(stored: runs.StoredRun, demo_fingerprint: str | None = None) -> dict[str, str]:
    """Query kinds for a run: from its source folder, or the demo's when it is the demo data.

    Args:
        stored: A loaded run.
        demo_fingerprint: The demo dataset's fingerprint (an upload of the demo files has
            the same content but its own folder).

    Returns:
        Query id → kind (empty when unknown).
    """
    source = Path(str(stored.run.get("dataset_source") or ""))
    kinds = query_kinds(source) if source.is_dir() else {}
    if not kinds and demo_fingerprint and stored.run.get("dataset_fingerprint") == demo_fingerprint:
        kinds = query_kinds(DEMO_DIR)
    return kinds


@dataclass(frozen=True)
class OwnDataRanks:
    """One stored run's models ranked on its data beside their MTEB retrieval rank.

    Attributes:
        run_id: The run.
        dataset: Its dataset name.
        n_queries: Queries evaluated.
        metric: Metric ranked (``nDCG@10``).
        ranks: :func:`lib.report.rank_vs_mteb` plus ``low``/``high`` (95 % CI).
        agreement: One sentence on whether the orders agree.
        ci_halfwidth: Mean half-width of the metric's 95 % CI over the models.
        by_kind: Mean metric per model (rows, labels) and query kind (columns); empty
            when the queries carry no kinds.
        kind_winners: Query kind → best model label on it.
    """

    run_id: str
    dataset: str
    n_queries: int
    metric: str
    ranks: pd.DataFrame
    agreement: str
    ci_halfwidth: float
    by_kind: pd.DataFrame
    kind_winners: Mapping[str, str]


def _kind_group(kind: str) -> str:
    """``multilingual-de`` → ``multilingual``: the demo's languages are too few to split."""
    return kind.split("-", 1)[0]


def own_vs_mteb(
    stored: runs.StoredRun,
    leaderboard: pd.DataFrame | None,
    *,
    metric: str = "nDCG@10",
    kinds: Mapping[str, str] | None = None,
) -> OwnDataRanks:
    """Rank a run's models on its data and on MTEB retrieval; break the metric down by query kind.

    Args:
        stored: A finished run.
        leaderboard: The ``MTEB(eng, v2)`` summary table, or None without leaderboard data.
        metric: The metric ranked.
        kinds: Query id → kind (see :func:`kinds_for_run`).

    Returns:
        The comparison.
    """
    models = report.model_table(stored, metric)
    ranks = report.rank_vs_mteb(models, leaderboard)
    ranks["low"] = models["low"].to_numpy()
    ranks["high"] = models["high"].to_numpy()
    half = ((models["high"] - models["low"]) / 2).dropna()
    by_kind = pd.DataFrame()
    winners: dict[str, str] = {}
    if kinds and not stored.per_query.empty and metric in stored.per_query.columns:
        pq = stored.per_query[["model", "query_id", metric]].copy()
        pq["kind"] = [_kind_group(kinds.get(str(q), "")) for q in pq["query_id"]]
        pq = pq[pq["kind"] != ""]
        if not pq.empty:
            labels = dict(zip(models["model"], models["label"], strict=True))
            pq["label"] = pq["model"].map(labels)
            by_kind = pq.pivot_table(index="label", columns="kind", values=metric, aggfunc="mean")
            by_kind = by_kind.reindex([labels[m] for m in models["model"]])
            counts = pq.drop_duplicates("query_id")["kind"].value_counts()
            by_kind.columns = [f"{c} ({int(counts[c])})" for c in by_kind.columns]
            by_kind.columns.name = None
            for col in by_kind.columns:
                winners[col] = str(by_kind[col].idxmax())
    return OwnDataRanks(
        run_id=str(stored.run["run_id"]),
        dataset=str(stored.run["dataset_name"]),
        n_queries=int(stored.run["n_queries"]),
        metric=metric,
        ranks=ranks,
        agreement=report.rank_agreement(ranks),
        ci_halfwidth=float(half.mean()) if not half.empty else math.nan,
        by_kind=by_kind,
        kind_winners=winners,
    )
