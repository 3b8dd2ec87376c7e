"""The decision wizard in a real browser: a preset walked to its shortlist, screenshotted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lib import store
from lib.decision import load_tree
from tests.e2e.conftest import goto_page, wait_for_script

pytestmark = pytest.mark.e2e


def test_finished_wizard_screenshot(streamlit_server: Any, lb_db: Path, page: Any, screenshot: Any) -> None:
    store.close(lb_db)  # the server process needs the DuckDB file to itself
    server = streamlit_server(extra_env={"EMS_DB": str(lb_db)})
    goto_page(page, server.url, "decision")
    page.get_by_role("heading", name="Decision wizard").wait_for()
    page.get_by_text("Self-hosted multilingual", exact=True).click()
    wait_for_script(page)
    page.get_by_role("button", name="Start", exact=True).click()
    wait_for_script(page)
    tree = load_tree()
    for i, q in enumerate(tree.questions, start=1):
        page.get_by_role("heading", name=q.prompt).wait_for()
        assert page.get_by_text(f"Question {i} of {len(tree.questions)}").is_visible()
        if i == 1:
            screenshot(page, "decision_question")
        page.get_by_role("button", name="Show shortlist" if i == len(tree.questions) else "Next").click()
        wait_for_script(page)
    page.get_by_role("heading", name="Shortlist · Self-hosted multilingual").wait_for()
    assert page.get_by_text("Expert pick (KnowledgeSDK's guide) for Self-hosted multilingual: BGE-M3").is_visible()
    assert page.get_by_text("Strongest models excluded").is_visible()
    link = page.get_by_role("link", name="Open in the leaderboard explorer")
    assert "lb_pins=" in (link.get_attribute("href") or "")
    screenshot(page, "decision")
    # "Several languages" suggests BM25 fused with the dense model, named with its parts.
    section = page.get_by_role("heading", name="Pipelines to evaluate")
    section.scroll_into_view_if_needed()
    assert page.get_by_text("reciprocal rank fusion, k = 60").first.is_visible()
    screenshot(page, "decision-pipelines", full_page=False)
