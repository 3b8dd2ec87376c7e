"""The decision tree and the use-case framework, as validated data.

``data/decision_tree.json`` holds the decision tree of Algoroq's "Embedding Models
Explained" (budget, latency, domain, scale, multilinguality) plus the questions the use-case
framework of KnowledgeSDK's 2026 RAG guide adds (privacy
and hosting, document length, content type, stakes, licence). Each question lists its
options; each option states, as data, the constraints it applies and the score weights it
implies. The presets are the framework's use cases: a set of answers plus the expert pick.

Nothing here decides anything: :func:`resolve` turns answers into a :class:`Plan` (the
constraints in question order and the score weights), and ``lib.decision.shortlist``
applies the plan to the leaderboard data. Loading validates everything and reports the
exact place of a mistake (``questions[2].options[1].weights: unknown component 'legl'``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib import articles
from lib.config import DATA_DIR
from lib.decision.constraints import KINDS, Constraint, make_constraint
from lib.errors import UserError

TREE_JSON = DATA_DIR / "decision_tree.json"
PARAM_KINDS = ("languages", "int")
#: Retrieval pipelines an answer can suggest (``lib.decision.pipelines`` builds the specs).
PIPELINE_KINDS = ("chunk", "hybrid")


class DecisionTreeError(UserError):
    """``decision_tree.json`` is malformed; the message names the place and the problem."""


@dataclass(frozen=True)
class Quote:
    """A short quotation with its source (an article key of :mod:`lib.articles`, or ``mteb``).

    Attributes:
        source: Key into :attr:`DecisionTree.sources`.
        text: The quoted words.
    """

    source: str
    text: str


@dataclass(frozen=True)
class Param:
    """A value an option asks for (the user's languages, their chunk length).

    Attributes:
        name: Key in the answers' params.
        kind: ``languages`` (ISO 639-3 codes) or ``int``.
        label: Widget label.
        default: Default value.
        min: Smallest allowed int (``int`` only).
        max: Largest allowed int (``int`` only).
    """

    name: str
    kind: str
    label: str
    default: tuple[str, ...] | int
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class PipelineHint:
    """A retrieval pipeline an answer suggests evaluating beside the plain models.

    Attributes:
        kind: ``chunk`` (documents split to the model's limit, scored by their best chunk) or
            ``hybrid`` (BM25 fused with the dense model by RRF).
        reason: Why this answer calls for it, in words.
        why: The articles' words behind it.
    """

    kind: str
    reason: str
    why: Quote


@dataclass(frozen=True)
class Option:
    """One answer to a question.

    Attributes:
        id: Stable id (URL state, presets, tests).
        label: What the user picks.
        description: What choosing it does, in words.
        constraints: Constraint specs (raw JSON dicts, validated) it applies.
        weights: Score component id → weight it adds.
        drops: Score components it removes (e.g. a domain replaces general retrieval).
        param: A value the option asks for, if any.
        pipelines: Retrieval pipelines the answer suggests evaluating (chunking, hybrid).
    """

    id: str
    label: str
    description: str
    constraints: tuple[Mapping[str, Any], ...] = ()
    weights: Mapping[str, float] = field(default_factory=dict)
    drops: tuple[str, ...] = ()
    param: Param | None = None
    pipelines: tuple[PipelineHint, ...] = ()


@dataclass(frozen=True)
class Question:
    """One step of the wizard.

    Attributes:
        id: Stable id.
        title: Short name (the decision-tree heading of the article).
        prompt: The question asked.
        why: Why it matters, quoted from the articles.
        options: The answers, in display order.
        default: Id of the option chosen when the user does not answer.
    """

    id: str
    title: str
    prompt: str
    why: tuple[Quote, ...]
    options: tuple[Option, ...]
    default: str

    def option(self, option_id: str) -> Option:
        """The option with this id.

        Raises:
            DecisionTreeError: If the question has no such option.
        """
        for o in self.options:
            if o.id == option_id:
                return o
        raise DecisionTreeError(
            f"question {self.id!r} has no option {option_id!r} (options: {', '.join(o.id for o in self.options)})"
        )


@dataclass(frozen=True)
class ScoreComponent:
    """A score the shortlist can be ranked on: the mean over a benchmark's tasks.

    Attributes:
        id: Stable id used in weights.
        label: Display name.
        benchmark: mteb benchmark name.
        task_types: Task types kept (None: every task of the benchmark).
        why: Why this score stands for the need, quoted.
    """

    id: str
    label: str
    benchmark: str
    task_types: tuple[str, ...] | None
    why: Quote


@dataclass(frozen=True)
class ExpertPick:
    """The article's recommended model(s) for a use case.

    Attributes:
        label: As the article writes it (``Qwen3-8B or BGE-M3``).
        models: mteb names of the models meant, in the article's order.
        reason: The article's reason column, verbatim.
        source: Which article (a key of :mod:`lib.articles`).
    """

    label: str
    models: tuple[str, ...]
    reason: str
    source: str


@dataclass(frozen=True)
class Preset:
    """A use case of the article's framework as a set of answers.

    Attributes:
        id: Stable id.
        use_case: The framework's row name.
        answers: Question id → option id; unlisted questions keep their default.
        params: Param name → value overriding the option's default.
        expert: The framework's recommendation.
        note: How the use case was read into answers, when that needs saying.
    """

    id: str
    use_case: str
    answers: Mapping[str, str]
    params: Mapping[str, Any]
    expert: ExpertPick
    note: str = ""


@dataclass(frozen=True)
class DecisionTree:
    """Everything in ``decision_tree.json``, validated.

    Attributes:
        questions: In wizard order (constraints are checked in this order, so an excluded
            model reports the earliest question that excluded it).
        components: Score components by id.
        presets: The framework's use cases.
        base_constraints: Applied whatever the answers.
        sources: Source key → full citation: every article of :mod:`lib.articles`, plus the
            file's own non-article sources (``mteb``).
        api_latency_p95_ms: Model → (low, high) p95 round trip quoted by KnowledgeSDK's guide.
        min_task_coverage: A component task run by fewer than this share of the models
            scored on the component is left out (listed), so one rarely-run task does not
            make most models unscorable.
    """

    questions: tuple[Question, ...]
    components: Mapping[str, ScoreComponent]
    presets: tuple[Preset, ...]
    base_constraints: tuple[Constraint, ...]
    sources: Mapping[str, str]
    api_latency_p95_ms: Mapping[str, tuple[float, float]]
    min_task_coverage: float

    def attribution(self, source: str) -> str:
        """The in-line name of a source for captions (``KnowledgeSDK's guide``, ``mteb``).

        Args:
            source: A key of :attr:`sources`.

        Returns:
            The article's short name, or the key itself for a non-article source.
        """
        return articles.ARTICLES[source].short if source in articles.ARTICLES else source

    def question(self, question_id: str) -> Question:
        """The question with this id.

        Raises:
            DecisionTreeError: If there is none.
        """
        for q in self.questions:
            if q.id == question_id:
                return q
        raise DecisionTreeError(f"no question {question_id!r}")

    def preset(self, preset_id: str) -> Preset:
        """The preset with this id.

        Raises:
            DecisionTreeError: If there is none.
        """
        for p in self.presets:
            if p.id == preset_id:
                return p
        raise DecisionTreeError(f"no preset {preset_id!r} (presets: {', '.join(p.id for p in self.presets)})")


@dataclass(frozen=True)
class Answer:
    """One answered question, for the summary.

    Attributes:
        question: The question.
        option: The chosen option.
        param_value: The option's parameter value, if it has one.
    """

    question: Question
    option: Option
    param_value: tuple[str, ...] | int | None = None

    @property
    def text(self) -> str:
        """The option label with its parameter (``Several languages: eng, deu``)."""
        if self.param_value is None:
            return self.option.label
        value = ", ".join(self.param_value) if isinstance(self.param_value, tuple) else f"{self.param_value:,}"
        return f"{self.option.label} — {value}"


@dataclass(frozen=True)
class Plan:
    """What a set of answers implies.

    Attributes:
        answers: One per question, in order.
        constraints: Base constraints, then each answer's, in question order.
        weights: Score component id → weight (after drops); never empty.
    """

    answers: tuple[Answer, ...]
    constraints: tuple[Constraint, ...]
    weights: Mapping[str, float]

    @property
    def choices(self) -> dict[str, str]:
        """Question id → option id."""
        return {a.question.id: a.option.id for a in self.answers}


# --- loading -----------------------------------------------------------------------------


def _req(obj: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in obj:
        raise DecisionTreeError(f"{where}: missing {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise DecisionTreeError(f"{where}.{key}: expected {_kind_name(kind)}, got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _as_tuple(kind))


def _quote(raw: Any, where: str, sources: Mapping[str, str]) -> Quote:
    if not isinstance(raw, dict):
        raise DecisionTreeError(f"{where}: expected an object with source and text")
    return Quote(_source(_req(raw, "source", where, str), f"{where}.source", sources), _req(raw, "text", where, str))


def _source(key: str, where: str, sources: Mapping[str, str]) -> str:
    if key not in sources:
        raise DecisionTreeError(f"{where}: {key!r} is not an article or a source ({', '.join(sources)})")
    return key


def _param(raw: Any, where: str) -> Param:
    if not isinstance(raw, dict):
        raise DecisionTreeError(f"{where}: expected an object")
    kind = _req(raw, "kind", where, str)
    if kind not in PARAM_KINDS:
        raise DecisionTreeError(f"{where}.kind: {kind!r} is not one of {', '.join(PARAM_KINDS)}")
    name = _req(raw, "name", where, str)
    label = _req(raw, "label", where, str)
    if kind == "languages":
        default = _req(raw, "default", where, list)
        if not default or not all(isinstance(x, str) and x for x in default):
            raise DecisionTreeError(f"{where}.default: expected a non-empty list of language codes")
        return Param(name, kind, label, tuple(default))
    lo = _req(raw, "min", where, int)
    hi = _req(raw, "max", where, int)
    dflt = _req(raw, "default", where, int)
    if not lo <= dflt <= hi:
        raise DecisionTreeError(f"{where}.default: {dflt} is outside [{lo}, {hi}]")
    return Param(name, kind, label, dflt, lo, hi)


def _pipelines(raw: Any, where: str, sources: Mapping[str, str]) -> tuple[PipelineHint, ...]:
    if not isinstance(raw, list):
        raise DecisionTreeError(f"{where}: expected a list")
    out = []
    for i, p in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(p, dict):
            raise DecisionTreeError(f"{at}: expected an object with kind, reason and why")
        kind = _req(p, "kind", at, str)
        if kind not in PIPELINE_KINDS:
            raise DecisionTreeError(f"{at}.kind: {kind!r} is not one of {', '.join(PIPELINE_KINDS)}")
        why = _quote(_req(p, "why", at, dict), f"{at}.why", sources)
        out.append(PipelineHint(kind, _req(p, "reason", at, str), why))
    return tuple(out)


def _option(raw: Any, where: str, components: Mapping[str, ScoreComponent],
            sources: Mapping[str, str] | None = None) -> Option:
    if not isinstance(raw, dict):
        raise DecisionTreeError(f"{where}: expected an object")
    param = _param(raw["param"], f"{where}.param") if raw.get("param") is not None else None
    constraints = raw.get("constraints", [])
    if not isinstance(constraints, list):
        raise DecisionTreeError(f"{where}.constraints: expected a list")
    for i, spec in enumerate(constraints):
        # Build once now so a bad spec fails at load time, with its place.
        make_constraint(spec, f"{where}.constraints[{i}]", params={} if param is None else {param.name: param.default})
        if isinstance(spec, dict) and "param" in spec and (param is None or spec["param"] != param.name):
            raise DecisionTreeError(f"{where}.constraints[{i}].param: the option has no parameter {spec['param']!r}")
    weights = raw.get("weights", {})
    if not isinstance(weights, dict):
        raise DecisionTreeError(f"{where}.weights: expected an object")
    for comp, w in weights.items():
        if comp not in components:
            raise DecisionTreeError(f"{where}.weights: unknown component {comp!r} (known: {', '.join(components)})")
        if isinstance(w, bool) or not isinstance(w, int | float) or w <= 0:
            raise DecisionTreeError(f"{where}.weights.{comp}: expected a positive number, got {w!r}")
    drops = raw.get("drops", [])
    if not isinstance(drops, list):
        raise DecisionTreeError(f"{where}.drops: expected a list")
    for comp in drops:
        if comp not in components:
            raise DecisionTreeError(f"{where}.drops: unknown component {comp!r}")
        if comp in weights:
            raise DecisionTreeError(f"{where}: component {comp!r} is both weighted and dropped")
    return Option(
        id=_req(raw, "id", where, str),
        label=_req(raw, "label", where, str),
        description=_req(raw, "description", where, str),
        constraints=tuple(constraints),
        weights={k: float(v) for k, v in weights.items()},
        drops=tuple(drops),
        param=param,
        pipelines=_pipelines(raw.get("pipelines", []), f"{where}.pipelines", sources or {}),
    )


def parse_tree(raw: Any, origin: str = "decision_tree.json") -> DecisionTree:
    """Validate a parsed JSON document and build the tree.

    Args:
        raw: The parsed JSON.
        origin: Name used in error messages.

    Returns:
        The tree.

    Raises:
        DecisionTreeError: On the first problem, naming its place.
    """
    if not isinstance(raw, dict):
        raise DecisionTreeError(f"{origin}: expected a JSON object at the top")
    extra = _req(raw, "sources", origin, dict)
    clash = sorted(set(extra) & set(articles.ARTICLES))
    if clash:
        raise DecisionTreeError(f"{origin}: sources: {clash} are articles (named in lib/articles.py), not file sources")
    sources = {**{k: a.citation for k, a in articles.ARTICLES.items()}, **extra}
    components: dict[str, ScoreComponent] = {}
    for i, c in enumerate(_req(raw, "components", origin, list)):
        where = f"{origin}: components[{i}]"
        types = c.get("task_types") if isinstance(c, dict) else None
        if types is not None and not (isinstance(types, list) and all(isinstance(t, str) for t in types)):
            raise DecisionTreeError(f"{where}.task_types: expected a list of task types or null")
        cid = _req(c, "id", where, str)
        if cid in components:
            raise DecisionTreeError(f"{where}.id: duplicate component {cid!r}")
        components[cid] = ScoreComponent(
            id=cid,
            label=_req(c, "label", where, str),
            benchmark=_req(c, "benchmark", where, str),
            task_types=tuple(types) if types is not None else None,
            why=_quote(c.get("why"), f"{where}.why", sources),
        )
    base = tuple(
        make_constraint(spec, f"{origin}: base_constraints[{i}]", params={}, question="base")
        for i, spec in enumerate(raw.get("base_constraints", []))
    )
    questions: list[Question] = []
    seen_params: dict[str, str] = {}
    for i, q in enumerate(_req(raw, "questions", origin, list)):
        where = f"{origin}: questions[{i}]"
        qid = _req(q, "id", where, str)
        if any(x.id == qid for x in questions):
            raise DecisionTreeError(f"{where}.id: duplicate question {qid!r}")
        options = tuple(
            _option(o, f"{where}.options[{j}]", components, sources)
            for j, o in enumerate(_req(q, "options", where, list))
        )
        if not options:
            raise DecisionTreeError(f"{where}.options: a question needs at least one option")
        ids = [o.id for o in options]
        if len(set(ids)) != len(ids):
            raise DecisionTreeError(f"{where}.options: duplicate option ids {ids}")
        for o in options:
            if o.param is not None:
                owner = seen_params.setdefault(o.param.name, qid)
                if owner != qid:
                    raise DecisionTreeError(f"{where}: parameter {o.param.name!r} is already used by {owner!r}")
        default = _req(q, "default", where, str)
        if default not in ids:
            raise DecisionTreeError(f"{where}.default: {default!r} is not one of {ids}")
        why = tuple(_quote(w, f"{where}.why[{j}]", sources) for j, w in enumerate(_req(q, "why", where, list)))
        if not why:
            raise DecisionTreeError(f"{where}.why: say why the question matters (quote the articles)")
        questions.append(
            Question(qid, _req(q, "title", where, str), _req(q, "prompt", where, str), why, options, default)
        )
    tree = DecisionTree(
        questions=tuple(questions),
        components=components,
        presets=(),
        base_constraints=base,
        sources=dict(sources),
        api_latency_p95_ms={k: (float(v[0]), float(v[1])) for k, v in raw.get("api_latency_p95_ms", {}).items()},
        min_task_coverage=float(raw.get("min_task_coverage", 0.5)),
    )
    if not 0 <= tree.min_task_coverage <= 1:
        raise DecisionTreeError(f"{origin}: min_task_coverage must be in [0, 1]")
    presets: list[Preset] = []
    for i, p in enumerate(_req(raw, "presets", origin, list)):
        where = f"{origin}: presets[{i}]"
        answers = _req(p, "answers", where, dict)
        for qid, oid in answers.items():
            try:
                tree.question(qid).option(oid)
            except DecisionTreeError as exc:
                raise DecisionTreeError(f"{where}.answers: {exc}") from None
        e = _req(p, "expert", where, dict)
        models = _req(e, "models", f"{where}.expert", list)
        if not models:
            raise DecisionTreeError(f"{where}.expert.models: name at least one mteb model")
        presets.append(
            Preset(
                id=_req(p, "id", where, str),
                use_case=_req(p, "use_case", where, str),
                answers=dict(answers),
                params=dict(p.get("params", {})),
                expert=ExpertPick(
                    label=_req(e, "label", f"{where}.expert", str),
                    models=tuple(models),
                    reason=_req(e, "reason", f"{where}.expert", str),
                    source=_source(_req(e, "source", f"{where}.expert", str), f"{where}.expert.source", sources),
                ),
                note=str(p.get("note", "")),
            )
        )
    if len({p.id for p in presets}) != len(presets):
        raise DecisionTreeError(f"{origin}: duplicate preset ids")
    return DecisionTree(
        questions=tree.questions,
        components=tree.components,
        presets=tuple(presets),
        base_constraints=tree.base_constraints,
        sources=tree.sources,
        api_latency_p95_ms=tree.api_latency_p95_ms,
        min_task_coverage=tree.min_task_coverage,
    )


def load_tree(path: Path | None = None) -> DecisionTree:
    """Read and validate ``data/decision_tree.json``.

    Args:
        path: Another file (tests).

    Returns:
        The tree.

    Raises:
        DecisionTreeError: If the file is missing, not JSON, or invalid.
    """
    path = path or TREE_JSON
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DecisionTreeError(f"decision tree file not found: {path}") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise DecisionTreeError(f"{path.name}: not valid JSON ({where}: {exc.msg})") from None
    return parse_tree(raw, path.name)


# --- answers → plan ----------------------------------------------------------------------


def normalise_languages(value: Sequence[str] | str) -> tuple[str, ...]:
    """Parse the user's language list into ISO 639-3 codes.

    Accepts ``"eng, deu"`` or a list; script suffixes (``eng-Latn``) are dropped because
    the constraint compares languages, not scripts.

    Raises:
        DecisionTreeError: If a code is not three letters.
    """
    items = value.replace(";", ",").split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        code = str(item).strip().split("-")[0].lower()
        if not code:
            continue
        if len(code) != 3 or not code.isalpha():
            raise DecisionTreeError(f"{item!r} is not an ISO 639-3 language code (three letters, e.g. eng, deu, zho)")
        if code not in out:
            out.append(code)
    if not out:
        raise DecisionTreeError("list at least one language (ISO 639-3, e.g. eng, deu, zho)")
    return tuple(out)


def _param_value(param: Param, given: Any) -> tuple[str, ...] | int:
    if given is None:
        return param.default
    if param.kind == "languages":
        return normalise_languages(given)
    try:
        value = int(given)
    except (TypeError, ValueError):
        raise DecisionTreeError(f"{param.label}: expected a whole number, got {given!r}") from None
    assert param.min is not None and param.max is not None
    if not param.min <= value <= param.max:
        raise DecisionTreeError(f"{param.label}: {value:,} is outside {param.min:,}–{param.max:,} for this answer")
    return value


def resolve(tree: DecisionTree, choices: Mapping[str, str], params: Mapping[str, Any] | None = None) -> Plan:
    """Turn answers into constraints and score weights.

    Args:
        tree: The decision tree.
        choices: Question id → option id; missing questions take their default.
        params: Param name → value (e.g. ``languages``, ``chunk_tokens``); missing ones
            take the chosen option's default.

    Returns:
        The plan.

    Raises:
        DecisionTreeError: For an unknown question/option or a bad parameter value.
    """
    params = dict(params or {})
    for qid in choices:
        tree.question(qid)
    answers: list[Answer] = []
    constraints: list[Constraint] = list(tree.base_constraints)
    weights: dict[str, float] = {}
    drops: set[str] = set()
    for q in tree.questions:
        option = q.option(choices.get(q.id, q.default))
        value = _param_value(option.param, params.get(option.param.name)) if option.param else None
        answers.append(Answer(q, option, value))
        bound = {option.param.name: value} if option.param and value is not None else {}
        for i, spec in enumerate(option.constraints):
            constraints.append(
                make_constraint(
                    spec,
                    f"{q.id}.{option.id}.constraints[{i}]",
                    params=bound,
                    question=q.id,
                )
            )
        for comp, w in option.weights.items():
            weights[comp] = weights.get(comp, 0.0) + w
        drops.update(option.drops)
    weights = {k: v for k, v in weights.items() if k not in drops}
    if not weights:
        raise DecisionTreeError("these answers leave nothing to rank on (every score component was dropped)")
    return Plan(tuple(answers), tuple(constraints), weights)


def preset_choices(tree: DecisionTree, preset_id: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A preset's answers, with every unlisted question at its default.

    Args:
        tree: The decision tree.
        preset_id: The preset.

    Returns:
        (question id → option id, param name → value).
    """
    p = tree.preset(preset_id)
    choices = {q.id: p.answers.get(q.id, q.default) for q in tree.questions}
    return choices, dict(p.params)


__all__ = [
    "KINDS",
    "Answer",
    "DecisionTree",
    "DecisionTreeError",
    "ExpertPick",
    "Option",
    "Param",
    "Plan",
    "Preset",
    "Question",
    "Quote",
    "ScoreComponent",
    "load_tree",
    "normalise_languages",
    "parse_tree",
    "preset_choices",
    "resolve",
]
