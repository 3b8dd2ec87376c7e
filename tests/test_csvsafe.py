"""CSV exports are safe to open in a spreadsheet: formula-like text cells get a leading quote."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from lib import csvsafe
from lib.leaderboard import explorer

EVIL = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1",
        "\r=1+1"]


@pytest.mark.parametrize("text", EVIL)
def test_formula_cells_get_a_quote(text: str) -> None:
    assert csvsafe.defuse(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "", "a=b", "x-1", "1+1", 3, -0.5, None, float("nan")])
def test_other_values_are_untouched(value: object) -> None:
    out = csvsafe.defuse(value)
    assert out is value or out == value


def test_to_csv_defuses_text_but_keeps_numbers_numbers() -> None:
    df = pd.DataFrame({"query": [*EVIL, "plain"], "score": [-0.5, 1.0, -2.0, 3.0, 4.0, 5.0, 6.0],
                       "cat": pd.Categorical(["-x"] * 7)})
    df = df.rename(columns={"cat": "=col"})
    rows = list(csv.reader(io.StringIO(csvsafe.to_csv(df, index=False))))
    assert rows[0] == ["query", "score", "'=col"]
    assert [r[0] for r in rows[1:]] == ["'" + t for t in EVIL] + ["plain"]
    assert [r[1] for r in rows[1:]] == ["-0.5", "1.0", "-2.0", "3.0", "4.0", "5.0", "6.0"]  # numbers stay numbers
    assert {r[2] for r in rows[1:]} == {"'-x"}
    assert df["query"].iloc[0] == EVIL[0]  # the caller's frame is not modified


def test_index_labels_are_defused_too() -> None:
    df = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["=a", "b"], name="@who"))
    rows = list(csv.reader(io.StringIO(csvsafe.to_csv(df))))
    assert rows == [["'@who", "v"], ["'=a", "1"], ["b", "2"]]


def test_explorer_export_defuses_model_names() -> None:
    table = pd.DataFrame({explorer.PIN_COL: [False, True], "Model": ["=HYPERLINK(\"x\")", "good/model"],
                          "Mean (Task)": [-1.5, 60.0]})
    view = explorer.ExplorerView(table=table, rank_col="Rank", score_col="Mean (Task)", type_cols=(),
                                 shown_cols=("Model", "Mean (Task)"), n_models=2, n_tasks=1, weights={},
                                 sort_col="Mean (Task)")
    rows = list(csv.reader(io.StringIO(explorer.export_csv(view).decode())))
    assert rows == [[explorer.PIN_COL, "Model", "Mean (Task)"], ["False", "'=HYPERLINK(\"x\")", "-1.5"],
                    ["True", "good/model", "60.0"]]


def test_repeated_column_names_and_empty_frames() -> None:
    df = pd.DataFrame([["=a", "=b"]], columns=["x", "x"])
    assert csvsafe.to_csv(df, index=False) == "x,x\n'=a,'=b\n"
    assert csvsafe.to_csv(pd.DataFrame(), index=False) == pd.DataFrame().to_csv(index=False)
