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
