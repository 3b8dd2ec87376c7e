"""The decision wizard: the articles' decision tree and use-case framework, as data.

Answers become a ranked, evidence-backed shortlist computed from the leaderboard data.

* :mod:`lib.decision.tree`: ``data/decision_tree.json`` → validated questions, options,
  score components and presets; answers → :class:`~lib.decision.tree.Plan`.
* :mod:`lib.decision.constraints`: constraint kinds, each a named predicate over a
  model's facts with an explicit rule for unknown metadata.
* :mod:`lib.decision.shortlist`: the plan applied to the real data.
"""

from __future__ import annotations

from lib.decision.constraints import Check, Constraint, ModelFacts
from lib.decision.shortlist import (
    DEFAULT_N,
    ComponentScores,
    Exclusion,
    ExpertStatus,
    Shortlist,
    ShortlistEntry,
    build_shortlist,
    explorer_url,
    shortlist_markdown,
)
from lib.decision.tree import (
    DecisionTree,
    DecisionTreeError,
    ExpertPick,
    Option,
    Plan,
    Preset,
    Question,
    load_tree,
    preset_choices,
    resolve,
)

__all__ = [
    "DEFAULT_N",
    "Check",
    "ComponentScores",
    "Constraint",
    "DecisionTree",
    "DecisionTreeError",
    "Exclusion",
    "ExpertPick",
    "ExpertStatus",
    "ModelFacts",
    "Option",
    "Plan",
    "Preset",
    "Question",
    "Shortlist",
    "ShortlistEntry",
    "build_shortlist",
    "explorer_url",
    "load_tree",
    "preset_choices",
    "resolve",
    "shortlist_markdown",
]
