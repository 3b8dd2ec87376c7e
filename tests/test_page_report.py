"""AppTest of the Report page: a real run → recommendation, risks, HTML and Markdown downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib.evaluation import engine

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "report.py")
DEMO = ROOT / "data" / "demo"


@pytest.fixture()
def run_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EMS_DB", str(tmp_path / "rep.duckdb"))
    return engine.evaluate(DEMO, engine.EvaluationConfig(models=("minilm", "bm25"))).run_id


def test_report_page_builds_and_offers_downloads(run_id: str) -> None:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["ems_report_runs"] = [run_id]
    at.session_state["ems_shortlist"] = ["sentence-transformers/all-MiniLM-L6-v2"]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.multiselect(key="rep_runs").value == [run_id]
    assert "Recommended: all-MiniLM-L6-v2" in at.success[0].value
    risks = " ".join(m.value for m in at.markdown)
    assert "Small sample" in risks and "Licence" in risks
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download HTML report", "Download Markdown"]


def test_no_runs_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMS_DB", str(tmp_path / "empty.duckdb"))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "No finished evaluation runs" in at.info[0].value
