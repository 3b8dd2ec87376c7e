"""Text for people: the app's one escape per output format and its one set of number formatters.

Escapes (user text — dataset names, queries, documents, error messages — shown literally):

* :func:`md_plain` — inside ``st.markdown`` / ``st.error`` / captions (Streamlit Markdown,
  where ``$…$`` is LaTeX and ``:color[…]`` is styling).
* :func:`md_text` — inside a Markdown *document* (the downloadable report; also safe in a
  table cell), with spreadsheet formulas defused.
* :func:`html` — inside HTML, with spreadsheet formulas defused.
* :func:`dollars` — the app's *own* prose for ``st.markdown``: only ``$`` is escaped, so
  "$1 … $2" is not read as LaTeX while the prose keeps its bold and links.
* :func:`defuse` — a leading formula character gets a quote (:func:`lib.csvsafe.defuse`'s rule).

Numbers: :func:`usd`, :func:`usd_price`, :func:`tokens`, :func:`tokens_rounded`, :func:`gb`,
:func:`params`, :func:`number`. Each keeps the exact output of the copy it replaced (the
variants are keyword options, not new copies).
"""

from __future__ import annotations

import html as _html
import math
import re

from lib import csvsafe

# --------------------------------------------------------------------------- escapes

# Streamlit Markdown: [links], *emphasis*, `code`, <html>, $math$, :color[text]. Underscores are
# left alone: inside words they do not emphasise, and file names are full of them.
_ST_ACTIVE = "\\`*[]<>$~|"
# A Markdown document (CommonMark + tables): no LaTeX, but "_" emphasises and "|" splits cells.
# Links need "[", so "(" is harmless once "[" is escaped; "#" only matters at the start.
_DOC_ACTIVE = "\\`*_[]|<>~"


def _backslash(text: str, active: str) -> str:
    """``text`` with every character of ``active`` backslash-escaped, on one line."""
    pattern = re.compile("([" + re.escape(active) + "])")
    return pattern.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def defuse(text: object) -> str:
    """Text safe to paste into a spreadsheet: a leading formula character gets a quote.

    Args:
        text: Any value (``None`` is the empty string).

    Returns:
        The text, prefixed with ``'`` when it starts like a formula (``=HYPERLINK(...)``);
        the rule is :func:`lib.csvsafe.defuse`'s, applied to the value as text.
    """
    return str(csvsafe.defuse("" if text is None else str(text)))


def md_plain(text: object) -> str:
    """User text for ``st.markdown``/``st.error``: shown literally, on one line.

    Args:
        text: Any value (``None`` is the empty string).

    Returns:
        The text with Streamlit's active Markdown characters (including ``$``) escaped.
    """
    return _backslash("" if text is None else str(text), _ST_ACTIVE)


def md_text(text: object) -> str:
    """User text for a Markdown document: formulas defused, Markdown and HTML characters escaped.

    Args:
        text: Any value.

    Returns:
        Text that renders literally in Markdown (and inside a table cell).
    """
    s = _backslash(defuse(text).replace("&", "&amp;"), _DOC_ACTIVE)
    return "\\" + s if s.startswith(("#", "+", "-", "=")) else s


def html(text: object) -> str:
    """User text for HTML: formulas defused, then HTML-escaped (quotes too).

    Args:
        text: Any value.

    Returns:
        Escaped text for an element or a quoted attribute.
    """
    return _html.escape(defuse(text), quote=True)


def dollars(text: str) -> str:
    """The app's own prose for ``st.markdown``: ``$`` escaped so "$1 … $2" is not LaTeX.

    Args:
        text: Markdown written by the app (not user text: use :func:`md_plain` for that).

    Returns:
        The text with every dollar sign backslash-escaped.
    """
    return text.replace("$", r"\$")


# --------------------------------------------------------------------------- numbers


def usd(x: float, *, millions: bool = True, below_cent: bool = False) -> str:
    """Dollars for labels and prose: cents below $100, whole dollars above.

    Args:
        x: Amount in USD.
        millions: Write amounts of a million or more as ``$1.2M``.
        below_cent: Write positive amounts under one cent as ``< $0.01``.

    Returns:
        E.g. ``"$0.20"``, ``"$1,595"``, ``"$1.2M"``; ``"—"`` if not finite.
    """
    if not math.isfinite(x):
        return "—"
    if millions and abs(x) >= 1e6:
        return f"${x / 1e6:,.1f}M"
    if below_cent and 0 < x < 0.01:
        return "< $0.01"
    return f"${x:,.0f}" if abs(x) >= 100 else f"${x:,.2f}"


def usd_price(x: float) -> str:
    """A per-token price (USD per 1M tokens): up to three decimals, five for tiny prices.

    Args:
        x: Price in USD.

    Returns:
        E.g. ``"$0.02"``, ``"$0.13"``, ``"$0.00005"``.
    """
    return f"${x:.3f}".rstrip("0").rstrip(".") if x >= 0.001 else f"${x:.5f}"


def tokens(x: float) -> str:
    """A token (or vector) count, compact with three significant digits.

    Args:
        x: Count.

    Returns:
        E.g. ``"36.5B"``, ``"100M"``, ``"1.23k"``; ``"never"`` if not finite.
    """
    if not math.isfinite(x):
        return "never"
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return f"{x / div:.3g}{suffix}"
    return f"{x:.3g}"


def tokens_rounded(n: float) -> str:
    """A token count for prose: one decimal in billions, whole millions, else whole tokens.

    Args:
        n: Count.

    Returns:
        ``3e9`` → ``"3.0B"``; ``2.5e7`` → ``"25M"``; ``1234`` → ``"1,234"``.
    """
    if n >= 1e9:
        return f"{n / 1e9:,.1f}B"
    if n >= 1e6:
        return f"{n / 1e6:,.0f}M"
    return f"{n:,.0f}"


def gb(x: float) -> str:
    """Decimal gigabytes with one decimal place below 10,000.

    Args:
        x: Size in GB.

    Returns:
        E.g. ``"58.6 GB"``, ``"12,288 GB"``.
    """
    return f"{x:,.1f} GB" if x < 10_000 else f"{x:,.0f} GB"


def params(n: float) -> str:
    """A parameter count: ``1.5B`` from a billion, else whole millions (``335M``).

    Args:
        n: Parameters.

    Returns:
        The label.
    """
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:,.0f}M"


def number(v: object, pattern: str) -> str:
    """``pattern.format(v)`` for a number; the empty string for a missing or non-numeric value.

    Args:
        v: Any value (``None``, NaN and text give ``""``).
        pattern: A ``str.format`` pattern such as ``"{:,.1f}"`` or ``"${:,.2f}"``.

    Returns:
        The formatted number or ``""``.
    """
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    return "" if math.isnan(x) else pattern.format(x)
