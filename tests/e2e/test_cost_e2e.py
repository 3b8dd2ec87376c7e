"""The Cost page in a real browser: change an input, see the numbers move, screenshot it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import goto_page, wait_for_script

pytestmark = pytest.mark.e2e


def _metric(page: Any, label: str) -> Any:
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).locator('[data-testid="stMetricValue"]')


def test_cost_page_updates_and_screenshot(app_url: str, page: Any, screenshot: Any) -> None:
    goto_page(page, app_url, "cost")
    page.get_by_role("heading", name="Cost", exact=True).wait_for()
    corpus = _metric(page, "Corpus today")
    assert corpus.inner_text() == "3B tokens"  # 1M docs × 10 chunks × 300 tokens
    # Stale and conflicting prices are visibly marked.
    assert page.get_by_text("⚠ stale", exact=False).first.is_visible()

    docs = page.get_by_role("spinbutton", name="Documents", exact=True)
    docs.fill("2000000")
    docs.press("Enter")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
              .some(m => m.innerText.includes('Corpus today') && m.innerText.includes('6B'))""",
    )
    wait_for_script(page)
    assert corpus.inner_text() == "6B tokens"
    screenshot(page, "cost")


def test_local_price_file_is_used_and_marked(
    streamlit_server: Any, page: Any, tmp_path: Any
) -> None:
    """extra_env reaches the server: a local override file changes the shown price."""
    local = tmp_path / "prices.local.csv"
    local.write_text(
        "model,price_per_1m_tokens,date_checked,note\n"
        "openai/text-embedding-3-large,0.065,2026-11-20,e2e override\n"
    )
    server = streamlit_server({"EMS_PRICES_LOCAL": str(local)})
    goto_page(page, server.url, "cost")
    warning_or_info = page.locator('[data-testid="stAlert"]').filter(has_text="e2e override")
    warning_or_info.first.wait_for()
    assert "your override (local file)" in warning_or_info.first.inner_text()


def test_harness_reports_streamlit_exceptions(
    streamlit_server: Any, browser: Any, tmp_path: Any
) -> None:
    """The page fixture's check sees an exception box (tested on a throwaway script)."""
    from tests.e2e.conftest import CheckedPage

    script = tmp_path / "boom.py"
    script.write_text("import streamlit as st\nst.write('hi')\nraise RuntimeError('boom')\n")
    server = streamlit_server(script=str(script))
    context = browser.new_context()
    try:
        checked = CheckedPage(context.new_page())
        goto_page(checked, server.url)
        checked.locator('[data-testid="stException"]').first.wait_for()
        problems = checked.problems()
        # The box is reported; its details stay in the server log (client.showErrorDetails = "none").
        assert any(p.startswith("Streamlit exception on page") for p in problems), problems
    finally:
        context.close()
