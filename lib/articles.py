"""The two source articles, named so a reader can find them.

The decision tree, the model categories, the trade-offs, the misconceptions, the interview
questions and the published latency and price figures come from two articles. Every page,
report and data file names them through this module (data files by :attr:`Article.key`),
so the names live in one place.

* ``explained`` — Algoroq's "Embedding Models Explained: Choosing the Right Model for Your AI
  Application" (the title is the text's first line; the footer links "Algoroq Pricing" and
  their cohort).
* ``rag-guide-2026`` — a 2026 guide to choosing embedding models for RAG, written for
  KnowledgeSDK ("For the KnowledgeSDK use case", "KnowledgeSDK's API"). The copy used here
  has no title, so none is invented: the full citation gives its opening words instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from lib.errors import UserError


class UnknownArticleError(UserError):
    """A data file names an article key this module does not know."""


@dataclass(frozen=True)
class Article:
    """One source article.

    Attributes:
        key: Stable key used in data files (``explained``, ``rag-guide-2026``).
        title: The title as printed or, when ``titled`` is False, a plain description.
        publisher: Who published it, as the text itself says.
        short: In-line attribution for captions and quotes (``KnowledgeSDK's guide``).
        citation: Full reference a reader can search for.
        titled: False when the copy used has no title (then ``opening`` is set).
        opening: The text's first words, for finding an untitled article.
    """

    key: str
    title: str
    publisher: str
    short: str
    citation: str
    titled: bool = True
    opening: str = ""


EXPLAINED = Article(
    key="explained",
    title="Embedding Models Explained: Choosing the Right Model for Your AI Application",
    publisher="Algoroq",
    short="Algoroq's “Embedding Models Explained”",
    citation="Algoroq, “Embedding Models Explained: Choosing the Right Model for Your AI Application”",
)

_RAG_OPENING = "Every RAG tutorial jumps straight to chunking strategy…"
RAG_GUIDE = Article(
    key="rag-guide-2026",
    title="2026 guide to choosing embedding models for RAG",
    publisher="KnowledgeSDK",
    short="KnowledgeSDK's guide",
    citation=(
        "KnowledgeSDK's 2026 guide to choosing embedding models for RAG "
        f"(untitled in the copy used here; it opens “{_RAG_OPENING}”)"
    ),
    titled=False,
    opening=_RAG_OPENING,
)

#: Every article by key.
ARTICLES: Mapping[str, Article] = MappingProxyType({a.key: a for a in (EXPLAINED, RAG_GUIDE)})

#: Both articles at once, for text that draws on the pair ("the articles' figures").
BOTH = f"{EXPLAINED.short} and {RAG_GUIDE.short}"


def get(key: str) -> Article:
    """The article with this key.

    Args:
        key: An :attr:`Article.key`.

    Returns:
        The article.

    Raises:
        UnknownArticleError: Naming the key and the known keys.
    """
    try:
        return ARTICLES[key]
    except KeyError:
        raise UnknownArticleError(f"unknown article {key!r} (known: {', '.join(ARTICLES)})") from None
