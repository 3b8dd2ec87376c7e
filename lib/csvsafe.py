"""CSV that is safe to open in a spreadsheet (OWASP "CSV injection").

Excel, LibreOffice and Google Sheets run a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula — ``=HYPERLINK("http://evil", "click")`` becomes a live link, older
Excel even runs DDE commands — and some treat a leading tab or carriage return the same
way. User data reaches our exports (query texts, document titles, model names, dataset
names), so every CSV the app writes goes through :func:`to_csv`, which prefixes such text
cells with ``'`` as OWASP recommends; the spreadsheet then shows the text as typed.

Only text cells change. A numeric column's ``-0.5`` is written as a number: it is what
the spreadsheet should read, and it cannot run anything.
"""

from __future__ import annotations

import csv
from typing import Any

import pandas as pd

#: Leading characters that make a spreadsheet treat a cell as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> object:
    """One cell, made inert: text starting like a formula gets a leading ``'``.

    Args:
        value: Any cell value.

    Returns:
        The value unchanged unless it is a string starting with a formula character.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _texty(dtype: object) -> bool:
    # Object columns, and pandas' string dtype (the default for text from pandas 3 on).
    return bool(pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype))


def _defuse_labels(labels: pd.Index) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        out: pd.Index = pd.MultiIndex.from_tuples([tuple(defuse(v) for v in t) for t in labels])
        out.names = [defuse(n) for n in labels.names]
        return out
    if _texty(labels.dtype):
        return pd.Index([defuse(v) for v in labels], dtype=object, name=defuse(labels.name))
    return labels.rename(defuse(labels.name))  # numbers, dates: only the name can be text


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells, column names and index labels are defused.

    Args:
        df: Any DataFrame.

    Returns:
        A new DataFrame; numeric, boolean and datetime columns are untouched.
    """
    out = df.copy()
    labels = out.columns
    out.columns = pd.RangeIndex(len(labels))  # by position: column names may repeat
    for i in out.columns:
        series = out[i]
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        if _texty(series.dtype):
            out[i] = series.astype(object).map(defuse)
    out.columns = _defuse_labels(labels)
    out.index = _defuse_labels(out.index)
    return out


def to_csv(df: pd.DataFrame, **kwargs: Any) -> str:
    """``df.to_csv(**kwargs)`` with formula cells defused (see the module docstring).

    Args:
        df: The table to export.
        **kwargs: Passed to :meth:`pandas.DataFrame.to_csv` (``index``, ``float_format``, …).

    Returns:
        The CSV text.
    """
    frame = safe_frame(df)
    if "quoting" not in kwargs and _has_cr(frame):
        # csv quotes a field holding the line terminator ("\n") but not a lone "\r", which
        # spreadsheets read as a line break; quoting every field keeps such rows whole.
        kwargs["quoting"] = csv.QUOTE_ALL
    return str(frame.to_csv(None, **kwargs))


def _has_cr(frame: pd.DataFrame) -> bool:
    for i in range(frame.shape[1]):
        series = frame.iloc[:, i]
        if _texty(series.dtype) and series.map(lambda v: isinstance(v, str) and "\r" in v).any():
            return True
    return any(isinstance(v, str) and "\r" in v for v in [*frame.columns, *frame.index])
