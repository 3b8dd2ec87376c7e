"""The walkthrough and quiz text (``data/interview.json``), validated into frozen dataclasses.

Text lives in JSON so it can be edited without touching code; numbers never do. A
walkthrough's model answer and a quiz explanation are *templates*: ``{name}`` fields are
filled with facts the app computed (see :mod:`lib.interview.facts`) by :func:`fill`.
Quotes are verbatim from the two source articles (a test checks them against the texts);
each names its article by a key of :mod:`lib.articles`.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lib import articles
from lib.config import DATA_DIR
from lib.errors import UserError

CONTENT_PATH = DATA_DIR / "interview.json"
SECTION_KINDS = ("misconception", "question", "tradeoffs")
#: Shown in place of a fact that has not been computed yet.
MISSING = "…"


class InterviewContentError(UserError):
    """``data/interview.json`` is malformed; the message names the entry and field."""


@dataclass(frozen=True)
class Quote:
    """A sentence quoted from a source article.

    Attributes:
        source: Article key (:mod:`lib.articles`: ``explained`` or ``rag-guide-2026``).
        text: The verbatim text.
    """

    source: str
    text: str


@dataclass(frozen=True)
class Section:
    """One walkthrough step.

    Attributes:
        id: Stable id (used in widget keys and quiz links).
        kind: ``misconception``, ``question`` or ``tradeoffs``.
        label: Short label for the step selector.
        title: Heading.
        quotes: What the articles say.
        verdict: The one-line answer.
        explanation: Markdown paragraphs shown before the live data.
        takeaways: Bullet points to remember.
        model_answer: Markdown template of an interview answer (empty for misconceptions).
    """

    id: str
    kind: str
    label: str
    title: str
    quotes: tuple[Quote, ...]
    verdict: str
    explanation: tuple[str, ...]
    takeaways: tuple[str, ...]
    model_answer: str = ""


@dataclass(frozen=True)
class QuizQuestion:
    """A multiple-choice question.

    Attributes:
        id: Stable id.
        section: The walkthrough section it tests.
        prompt: The question.
        options: Choices (templates: may contain ``{fact}`` fields).
        answer: Index of the right option.
        explanation: Template shown after the answer is revealed.
    """

    id: str
    section: str
    prompt: str
    options: tuple[str, ...]
    answer: int
    explanation: str


@dataclass(frozen=True)
class TextPair:
    """Two texts for the similarity demo.

    Attributes:
        a: First text.
        b: Second text.
        relation: ``paraphrase`` or ``unrelated``.
    """

    a: str
    b: str
    relation: str


@dataclass(frozen=True)
class InterviewContent:
    """Everything the Interview prep page shows that is not computed.

    Attributes:
        sources: Article key → full citation (from :mod:`lib.articles`).
        sections: Walkthrough steps in order.
        quiz: Quiz questions in order.
        lengths: Texts of increasing length for the fixed-size-vector demo.
        pairs: Paraphrase and unrelated pairs for the similarity demo.
        prose: The page's own sentences around the demos, by key: templates whose ``{name}``
            fields the page fills with the numbers it computed (see :meth:`text`).
    """

    sources: Mapping[str, str]
    sections: tuple[Section, ...]
    quiz: tuple[QuizQuestion, ...]
    lengths: tuple[str, ...]
    pairs: tuple[TextPair, ...]
    prose: Mapping[str, str] = field(default_factory=dict)

    def text(self, key: str, **facts: object) -> str:
        """A prose template filled with facts (each formatted with ``str``; missing ones show ``…``).

        Args:
            key: A key of :attr:`prose`.
            **facts: Field name → value, already formatted where a format matters.

        Returns:
            The filled text.

        Raises:
            InterviewContentError: If ``data/interview.json`` has no such prose entry.
        """
        if key not in self.prose:
            raise InterviewContentError(f"interview.json: 'prose' has no entry {key!r}")
        return fill(self.prose[key], {k: str(v) for k, v in facts.items()})

    def section(self, section_id: str) -> Section:
        """The section with this id.

        Args:
            section_id: A :attr:`Section.id`.

        Returns:
            The section.

        Raises:
            KeyError: If there is none.
        """
        for s in self.sections:
            if s.id == section_id:
                return s
        raise KeyError(section_id)


def _req(obj: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...] = str) -> Any:
    if key not in obj:
        raise InterviewContentError(f"{where}: missing field '{key}'")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip() and key != "model_answer"):
        raise InterviewContentError(f"{where}: field '{key}' must be a non-empty {getattr(kind, '__name__', kind)}")
    return value


def _strs(obj: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = _req(obj, key, where, list)
    if not all(isinstance(x, str) and x.strip() for x in items):
        raise InterviewContentError(f"{where}: every entry of '{key}' must be a non-empty string")
    return tuple(items)


def parse_content(raw: Mapping[str, Any], source: str = "interview.json") -> InterviewContent:
    """Validate the parsed JSON.

    Args:
        raw: The decoded JSON object.
        source: File name used in messages.

    Returns:
        The content.

    Raises:
        InterviewContentError: Naming the entry and field at fault.
    """
    if "sources" in raw:
        raise InterviewContentError(f"{source}: remove 'sources': the articles are named in lib/articles.py")
    sources = {k: a.citation for k, a in articles.ARTICLES.items()}
    sections: list[Section] = []
    for i, s in enumerate(_req(raw, "sections", source, list)):
        where = f"{source}: sections[{i}]"
        sid = _req(s, "id", where)
        where = f"{source}: section '{sid}'"
        kind = _req(s, "kind", where)
        if kind not in SECTION_KINDS:
            raise InterviewContentError(f"{where}: kind must be one of {', '.join(SECTION_KINDS)}")
        quotes = []
        for j, q in enumerate(_req(s, "quotes", where, list)):
            key = _req(q, "source", f"{where} quotes[{j}]")
            if key not in sources:
                raise InterviewContentError(
                    f"{where} quotes[{j}]: unknown article {key!r} (known: {', '.join(sources)})"
                )
            quotes.append(Quote(key, _req(q, "text", f"{where} quotes[{j}]")))
        sections.append(
            Section(
                id=sid, kind=kind, label=_req(s, "label", where), title=_req(s, "title", where),
                quotes=tuple(quotes), verdict=_req(s, "verdict", where),
                explanation=_strs(s, "explanation", where), takeaways=_strs(s, "takeaways", where),
                model_answer=str(s.get("model_answer") or ""),
            )
        )
    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids):
        raise InterviewContentError(f"{source}: section ids must be unique")
    quiz: list[QuizQuestion] = []
    for i, q in enumerate(_req(raw, "quiz", source, list)):
        qid = _req(q, "id", f"{source}: quiz[{i}]")
        where = f"{source}: quiz question '{qid}'"
        options = _strs(q, "options", where)
        answer = _req(q, "answer", where, int)
        if len(options) < 2 or not 0 <= answer < len(options):
            raise InterviewContentError(f"{where}: needs at least two options and an answer index among them")
        section = _req(q, "section", where)
        if section not in ids:
            raise InterviewContentError(f"{where}: unknown section {section!r}")
        quiz.append(QuizQuestion(qid, section, _req(q, "prompt", where), options, answer,
                                 _req(q, "explanation", where)))
    if len({q.id for q in quiz}) != len(quiz):
        raise InterviewContentError(f"{source}: quiz ids must be unique")
    enc = _req(raw, "encoder", source, dict)
    pairs = []
    for j, p in enumerate(_req(enc, "pairs", f"{source}: encoder", list)):
        where = f"{source}: encoder pairs[{j}]"
        relation = _req(p, "relation", where)
        if relation not in ("paraphrase", "unrelated"):
            raise InterviewContentError(f"{where}: relation must be 'paraphrase' or 'unrelated'")
        pairs.append(TextPair(_req(p, "a", where), _req(p, "b", where), relation))
    prose = raw.get("prose", {})
    if not isinstance(prose, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in prose.items()):
        raise InterviewContentError(f"{source}: 'prose' must be an object of key → text")
    return InterviewContent(
        sources=dict(sources), sections=tuple(sections), quiz=tuple(quiz),
        lengths=_strs(enc, "lengths", f"{source}: encoder"), pairs=tuple(pairs), prose=dict(prose),
    )


def load_content(path: Path | None = None) -> InterviewContent:
    """Read and validate ``data/interview.json``.

    Args:
        path: Another file (tests).

    Returns:
        The content.

    Raises:
        InterviewContentError: If the file is missing, not JSON, or malformed.
    """
    p = path or CONTENT_PATH
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InterviewContentError(f"cannot read {p}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InterviewContentError(f"{p.name}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(raw, dict):
        raise InterviewContentError(f"{p.name}: the top level must be an object")
    return parse_content(raw, p.name)


def fields(template: str) -> set[str]:
    """The ``{name}`` fields a template uses.

    Args:
        template: Text with ``str.format`` fields.

    Returns:
        Field names.
    """
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def fill(template: str, facts: Mapping[str, str]) -> str:
    """Insert computed facts into a template; a fact not computed yet shows as ``…``.

    Facts arrive formatted (strings), so templates carry no format specs and a missing
    fact can never raise.

    Args:
        template: Text with ``{name}`` fields.
        facts: Field name → formatted value.

    Returns:
        The filled text.
    """
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(str(facts.get(name, MISSING)))
    return "".join(out)
