"""Evaluate → Runs → Report in a real browser: upload through the file chooser, run, download.

Screenshots of each step go to artifacts/screenshots/evaluate-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import SCRIPT_TIMEOUT_MS, goto_page, wait_for_script

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "demo"


def _button(page: Any, name: str) -> Any:
    return page.get_by_role("button", name=name)


def test_upload_run_results_report(
    streamlit_server: Any, lb_db_copy: Path, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    # A private copy: the run stored here must not leak into other tests' leaderboard file.
    app_url = streamlit_server({"EMS_DB": str(lb_db_copy)}).url
    goto_page(page, app_url, "evaluate")
    page.get_by_role("heading", name="Evaluate on your data").wait_for()
    screenshot(page, "evaluate-1-start")

    # Upload the three demo files through the real file chooser.
    with page.expect_file_chooser() as chooser:
        page.locator('[data-testid="stFileUploaderDropzone"] button').first.click()
    chooser.value.set_files([str(DEMO / "corpus.jsonl"), str(DEMO / "queries.jsonl"), str(DEMO / "qrels" / "test.tsv")])
    page.get_by_text("test.tsv").first.wait_for()
    page.get_by_label("Dataset name (for separate files)").fill("northwind")
    page.get_by_label("Dataset name (for separate files)").press("Enter")
    wait_for_script(page)
    _button(page, "Check and use these files").click()
    page.get_by_text("149 documents").wait_for()
    wait_for_script(page)
    page.get_by_text("Preview").first.click()
    page.get_by_role("tab", name="Queries").wait_for()
    screenshot(page, "evaluate-2-uploaded")

    # Run (default models: MiniLM on this machine + BM25): a background job, followed by a panel.
    run = _button(page, "Run evaluation")
    assert run.is_enabled()
    run.click()
    page.get_by_text(re.compile(r"^Evaluate .* on northwind")).first.wait_for(timeout=SCRIPT_TIMEOUT_MS)
    screenshot(page, "evaluate-3-running", full_page=False)
    page.get_by_role("heading", name="Results").wait_for(timeout=120_000)
    wait_for_script(page, 120_000)

    # Metrics table and charts.
    page.get_by_role("heading", name="Metrics with 95 % confidence intervals").wait_for()
    table = page.locator('[data-testid="stDataFrame"]').filter(has_text="nDCG@10").first
    table.wait_for()
    assert page.locator(".js-plotly-plot").count() >= 4
    page.locator(".js-plotly-plot").first.locator(".bars").first.wait_for()
    screenshot(page, "evaluate-4-results")

    # Drill-down: sorted by disagreement, one query opened with both models' top-k.
    assert page.get_by_text("Rank on your data vs rank on MTEB retrieval").count() >= 1
    page.get_by_role("heading", name="Per-query drill-down").scroll_into_view_if_needed()
    page.get_by_text("relevant in top 10").first.wait_for()
    assert page.get_by_text("relevant in top 10").count() == 2
    page.get_by_role("heading", name="Per-query drill-down").scroll_into_view_if_needed()
    screenshot(page, "evaluate-5-drilldown", full_page=False)

    # Runs page lists it.
    goto_page(page, app_url, "runs")
    page.get_by_role("heading", name="Runs").wait_for()
    screenshot(page, "evaluate-6-runs")
    page.get_by_text("149 documents, 60 queries").first.wait_for()

    # Report page: download the HTML and check its content.
    goto_page(page, app_url, "report")
    _button(page, "Download HTML report").wait_for()
    screenshot(page, "evaluate-7-report")
    with page.expect_download() as dl:
        _button(page, "Download HTML report").click()
    path = tmp_path / "report.html"
    dl.value.save_as(str(path))
    html = path.read_text(encoding="utf-8")
    assert "Recommended: all-MiniLM-L6-v2" in html
    assert "northwind" in html
    assert "95 % CI" in html and "Risks and caveats" in html and "Price sources" in html
    assert "Plotly.newPlot" in html

    # The downloaded report opens offline with its charts drawn.
    report_page = page.context.new_page()
    report_page.goto(path.as_uri())
    report_page.locator(".js-plotly-plot").first.wait_for()
    assert report_page.locator(".js-plotly-plot").count() >= 4
    size = report_page.viewport_size or {"width": 1440, "height": 900}
    height = report_page.evaluate("() => document.body.scrollHeight")
    report_page.set_viewport_size({"width": size["width"], "height": int(height) + 40})
    report_page.wait_for_timeout(500)
    report_page.screenshot(path=str(ROOT / "artifacts" / "screenshots" / "evaluate-8-report-html.png"), full_page=True)
    report_page.close()
