"""Agreement between two judges on the pairs both graded: Cohen's kappa and a confusion matrix.

Kappa is computed here from the confusion matrix (Cohen 1960; optionally with linear or
quadratic weights for ordinal grades, as scikit-learn's ``cohen_kappa_score`` does), and
the tests check it against scikit-learn on the same labels. It is undefined (None) when
the judges' grades leave no room for chance disagreement (both always gave one grade).

Reading kappa (Landis & Koch 1977): < 0.2 slight, 0.2–0.4 fair, 0.4–0.6 moderate,
0.6–0.8 substantial, > 0.8 almost perfect. TREC assessors agree with each other at about
0.5–0.6 on graded relevance, so an LLM judge near that level is about as good as a second
person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from lib.errors import UserError
from lib.labelling import store as lstore

Weights = Literal["linear", "quadratic"] | None


@dataclass(frozen=True)
class Agreement:
    """How two judges agree.

    Attributes:
        judge_a: First judge.
        judge_b: Second judge.
        n: Pairs both graded.
        kappa: Cohen's kappa (None when undefined or n = 0).
        weighted_kappa: Quadratic-weighted kappa (grades are ordinal), or None.
        observed: Share of pairs with the same grade.
        confusion: Counts, index = judge_a's grade, columns = judge_b's grade (0, 1, 2).
    """

    judge_a: str
    judge_b: str
    n: int
    kappa: float | None
    weighted_kappa: float | None
    observed: float | None
    confusion: pd.DataFrame

    @property
    def strength(self) -> str:
        """Landis & Koch's words for the kappa ('undefined' without one)."""
        return interpret(self.kappa)


def interpret(kappa: float | None) -> str:
    """Landis & Koch's description of a kappa.

    Args:
        kappa: The kappa, or None.

    Returns:
        ``slight``, ``fair``, ``moderate``, ``substantial``, ``almost perfect``,
        ``poor`` (below 0) or ``undefined``.
    """
    if kappa is None:
        return "undefined"
    if kappa < 0:
        return "poor"
    for bound, word in ((0.2, "slight"), (0.4, "fair"), (0.6, "moderate"), (0.8, "substantial")):
        if kappa <= bound:
            return word
    return "almost perfect"


def confusion_matrix(a: Sequence[int], b: Sequence[int], labels: Sequence[int] = lstore.GRADES) -> np.ndarray:
    """Counts of (a's label, b's label).

    Args:
        a: First judge's labels.
        b: Second judge's labels (same pairs, same order).
        labels: The label values, in matrix order.

    Returns:
        A (len(labels), len(labels)) integer matrix.

    Raises:
        ValueError: If the lengths differ or a label is not in ``labels``.
    """
    if len(a) != len(b):
        raise ValueError(f"{len(a)} labels against {len(b)}")
    pos = {v: i for i, v in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for x, y in zip(a, b, strict=True):
        if x not in pos or y not in pos:
            raise ValueError(f"label {x if x not in pos else y!r} is not one of {list(labels)}")
        m[pos[x], pos[y]] += 1
    return m


def cohen_kappa(
    a: Sequence[int], b: Sequence[int], *, weights: Weights = None, labels: Sequence[int] = lstore.GRADES
) -> float | None:
    """Cohen's kappa of two judges' labels on the same items.

    ``kappa = 1 − Σ w·O / Σ w·E`` with O the observed confusion matrix, E the one expected
    by chance (outer product of the marginals) and w the disagreement weights (0 on the
    diagonal, 1 off it; ``|i−j|`` linear, ``(i−j)²`` quadratic) — the definition
    scikit-learn's ``cohen_kappa_score`` implements.

    Args:
        a: First judge's labels.
        b: Second judge's labels.
        weights: None, ``linear`` or ``quadratic``.
        labels: Label values (ordered, for the weights).

    Returns:
        The kappa, or None when it is undefined (no items, or no chance disagreement).
    """
    if not len(a):
        return None
    obs = confusion_matrix(a, b, labels).astype(float)
    n_cls = obs.shape[0]
    expected = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / obs.sum()
    i, j = np.indices((n_cls, n_cls))
    if weights is None:
        w = (i != j).astype(float)
    elif weights == "linear":
        w = np.abs(i - j).astype(float)
    elif weights == "quadratic":
        w = ((i - j) ** 2).astype(float)
    else:
        raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
    denom = float((w * expected).sum())
    if denom == 0.0:
        return None
    return 1.0 - float((w * obs).sum()) / denom


def agreement_from_labels(judge_a: str, judge_b: str, a: Sequence[int], b: Sequence[int]) -> Agreement:
    """Agreement of two aligned label lists.

    Args:
        judge_a: Name of the first judge.
        judge_b: Name of the second.
        a: First judge's grades.
        b: Second judge's grades.

    Returns:
        The agreement.
    """
    m = confusion_matrix(a, b)
    names = [f"{g} ({lstore.GRADE_NAMES[g]})" for g in lstore.GRADES]
    conf = pd.DataFrame(m, index=pd.Index(names, name=judge_a), columns=pd.Index(names, name=judge_b))
    n = len(a)
    return Agreement(
        judge_a=judge_a, judge_b=judge_b, n=n,
        kappa=cohen_kappa(a, b), weighted_kappa=cohen_kappa(a, b, weights="quadratic"),
        observed=float(np.trace(m)) / n if n else None, confusion=conf,
    )


def paired_grades(db: lstore.DbPath, set_id: str, judge_a: str, judge_b: str) -> pd.DataFrame:
    """The pairs both judges graded, with each one's current grade.

    Args:
        db: DuckDB file.
        set_id: The set.
        judge_a: First judge.
        judge_b: Second judge.

    Returns:
        Columns query_id, doc_id, grade_a, grade_b.

    Raises:
        UserError: If the judges are the same or one has no judgements in the set.
    """
    if judge_a == judge_b:
        raise UserError("pick two different judges to compare")
    latest = lstore.latest_judgements(db, set_id, [judge_a, judge_b])
    for j in (judge_a, judge_b):
        if not (latest["judge"] == j).any():
            raise UserError(f"judge {j!r} has no judgements in label set {set_id!r}")
    a = latest[latest["judge"] == judge_a][["query_id", "doc_id", "grade"]]
    b = latest[latest["judge"] == judge_b][["query_id", "doc_id", "grade"]]
    return a.merge(b, on=["query_id", "doc_id"], suffixes=("_a", "_b")).reset_index(drop=True)


def agreement(db: lstore.DbPath, set_id: str, judge_a: str, judge_b: str) -> Agreement:
    """Agreement of two judges of a set on the pairs both graded.

    Args:
        db: DuckDB file.
        set_id: The set.
        judge_a: First judge (e.g. the person).
        judge_b: Second judge (e.g. the LLM).

    Returns:
        The agreement (n = 0 and kappa None when they share no pair).
    """
    pairs = paired_grades(db, set_id, judge_a, judge_b)
    return agreement_from_labels(judge_a, judge_b, pairs["grade_a"].tolist(), pairs["grade_b"].tolist())


def all_agreements(db: lstore.DbPath, set_id: str) -> list[Agreement]:
    """Agreement of every pair of judges in the set that share at least one pair.

    Args:
        db: DuckDB file.
        set_id: The set.

    Returns:
        One agreement per pair of judges, in the order the judges first judged.
    """
    names = lstore.judges(db, set_id)["judge"].tolist()
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            ag = agreement(db, set_id, a, b)
            if ag.n:
                out.append(ag)
    return out
