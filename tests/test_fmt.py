"""lib.fmt: the app's escapes (Streamlit Markdown, Markdown documents, HTML) and number formatters."""

from __future__ import annotations

import math

import pytest
from markdown_it import MarkdownIt

from lib import csvsafe, fmt

SCRIPT = '<script>alert("x")</script>'


def _render(md: str) -> str:
    """CommonMark with raw HTML on: an escape that fails lets the tag through."""
    return str(MarkdownIt("commonmark", {"html": True}).enable("table").render(md))


def test_defuse_follows_csvsafe() -> None:
    assert fmt.defuse('=HYPERLINK("x")') == "'=HYPERLINK(\"x\")"
    assert fmt.defuse("+1") == "'+1" and fmt.defuse("ok") == "ok" and fmt.defuse(None) == ""
    # The spreadsheet rule is csvsafe's: a formula cell in a CSV is defused the same way, and
    # non-text values stay as they are there.
    assert csvsafe.defuse("=1+1") == fmt.defuse("=1+1") == "'=1+1"
    assert csvsafe.defuse(3) == 3


def test_dollar_in_streamlit_markdown() -> None:
    # Streamlit reads "$1 … $2" as LaTeX: user text and the app's own prose both escape "$".
    assert fmt.md_plain("costs $1 to $2") == r"costs \$1 to \$2"
    assert fmt.dollars("**$0.02** per 1M, $5 a month") == r"**\$0.02** per 1M, \$5 a month"
    # Own prose keeps its Markdown; user text does not.
    assert fmt.md_plain("**bold** [x](y) a_b") == r"\*\*bold\*\* \[x\](y) a_b"
    assert fmt.md_plain("two\nlines") == "two lines" and fmt.md_plain(None) == ""


def test_dollar_in_markdown_document() -> None:
    # A Markdown document has no LaTeX: "$" stays, and renders as "$".
    assert fmt.md_text("$5 a month") == "$5 a month"
    assert "$5 a month" in _render(fmt.md_text("$5 a month"))


@pytest.mark.parametrize("escape", [fmt.md_plain, fmt.md_text])
def test_script_never_renders_as_html(escape) -> None:  # type: ignore[no-untyped-def]
    out = _render(escape(SCRIPT))
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_md_text_cells_and_formulas() -> None:
    assert fmt.md_text("a|b <i>*x*</i>") == r"a\|b \<i\>\*x\*\</i\>"
    # A table cell stays one cell; a formula is defused (and its "'" start is harmless Markdown).
    table = "| h |\n|---|\n| " + fmt.md_text("a|b") + " |\n"
    assert _render(table).count("<td>") == 1
    assert fmt.md_text("=SUM(A1)") == "'=SUM(A1)"
    assert fmt.md_text("# not a heading").startswith("\\#")
    assert fmt.md_text("Tom & Jerry") == "Tom &amp; Jerry"


def test_html() -> None:
    assert fmt.html("<b>") == "&lt;b&gt;"
    assert fmt.html(SCRIPT) == "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
    assert fmt.html("=HYPERLINK(1)") == "&#x27;=HYPERLINK(1)"  # defused, then the quote escaped
    assert fmt.html("it's") == "it&#x27;s"


@pytest.mark.parametrize(("x", "kw", "out"), [
    (0.2, {}, "$0.20"), (99.994, {}, "$99.99"), (1595.4, {}, "$1,595"), (1.23e6, {}, "$1.2M"),
    (1.23e6, {"millions": False}, "$1,230,000"), (math.inf, {}, "—"), (math.nan, {}, "—"),
    (0.004, {"below_cent": True}, "< $0.01"), (0.004, {}, "$0.00"), (0.0, {"below_cent": True}, "$0.00"),
])
def test_usd(x: float, kw: dict[str, bool], out: str) -> None:
    assert fmt.usd(x, **kw) == out


def test_usd_price() -> None:
    assert fmt.usd_price(0.02) == "$0.02" and fmt.usd_price(0.13) == "$0.13" and fmt.usd_price(1.0) == "$1"
    assert fmt.usd_price(0.00005) == "$0.00005"


@pytest.mark.parametrize(("x", "out"), [
    (36.5e9, "36.5B"), (1e8, "100M"), (1234, "1.23k"), (2e12, "2T"), (12, "12"), (math.inf, "never"),
])
def test_tokens(x: float, out: str) -> None:
    assert fmt.tokens(x) == out


def test_tokens_rounded_gb_params_number() -> None:
    assert fmt.tokens_rounded(3e9) == "3.0B" and fmt.tokens_rounded(2.5e7) == "25M"
    assert fmt.tokens_rounded(1234) == "1,234"
    assert fmt.gb(58.59) == "58.6 GB" and fmt.gb(12288.4) == "12,288 GB"
    assert fmt.params(1.5e9) == "1.5B" and fmt.params(335e6) == "335M"
    assert fmt.number(1234.56, "{:,.1f}") == "1,234.6" and fmt.number(2, "${:,.2f}") == "$2.00"
    assert fmt.number(None, "{:.1f}") == "" and fmt.number(math.nan, "{:.1f}") == ""
    assert fmt.number("n/a", "{:.1f}") == ""
