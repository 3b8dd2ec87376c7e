"""Interview prep in a real browser: every step with its live demo, then the quiz; one screenshot per section.

Screenshots: artifacts/screenshots/interview-<n>-<step>.png and interview-10-quiz.png.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lib.interview import content
from tests.e2e.conftest import goto_page, wait_for_script

pytestmark = pytest.mark.e2e

LONG_MS = 240_000  # a cold demo (model load + encoding) on a busy 2-core machine
CONTENT = content.load_content()
#: Step id → (button that runs its live demo or None, text that appears once it has run).
DEMOS = {
    "mteb_rank": ("Run the demo evaluation", "Best per kind"),
    "reindex": ("Run it: index with all-MiniLM-L6-v2, query with multilingual-e5-small (4-bit)",
                "The fix without downtime: a shadow index"),
    "dimensions": ("Run the sweep", "Read it honestly"),
    "finetune": ("Fine-tune now", "Paired test on the 60 questions"),
    "encoder": ("Embed the texts", "BertModel"),
    "q_legal": (None, "Model answer, with this app's numbers"),
    "q_dropped": (None, "Cause 1 — incompatible index."),
    "q_updates": (None, "1 · Shadow index."),
    "tradeoffs": (None, "Step 6 · API vs self-hosted"),
}


def test_walkthrough_and_quiz(streamlit_server: Any, lb_db: Path, page: Any, screenshot: Any, tmp_path: Path) -> None:
    from tests.lbfiles import copy_app_db

    db = copy_app_db(lb_db, tmp_path / "lb.duckdb")  # the server owns its copy (the walk stores a run in it)
    server = streamlit_server({"EMS_DB": str(db)})
    goto_page(page, server.url, "interview")
    page.get_by_role("heading", name="Interview prep", exact=True).wait_for()
    main = page.locator('[data-testid="stMain"]')

    for n, sec in enumerate(CONTENT.sections, start=1):
        if n > 1:
            page.get_by_role("button", name=f"{sec.label} →").click()
            wait_for_script(page)
        page.get_by_role("heading", name=sec.title).wait_for()
        button, done_text = DEMOS[sec.id]
        if sec.id == "finetune":
            main.get_by_text("32 pairs", exact=True).click()
            wait_for_script(page)
        if button is not None:
            page.get_by_role("button", name=button).click()
            main.get_by_text(done_text).first.wait_for(timeout=LONG_MS)
            wait_for_script(page, LONG_MS)
            assert page.get_by_role("button", name=button).count() == 0  # the result replaced the button
        main.get_by_text(done_text).first.wait_for()
        if sec.id in ("mteb_rank", "reindex", "dimensions", "q_updates"):
            page.locator(".js-plotly-plot").first.locator(".main-svg").first.wait_for()
        if sec.kind == "question":
            assert content.MISSING not in main.inner_text().split("Model answer, with this app's numbers")[1]
        screenshot(page, f"interview-{n}-{sec.id}")

    # Trade-offs link to the wizard and the Cost page through the router.
    assert page.get_by_role("link", name="Decision wizard: the same questions, your answers → a shortlist").count() == 1
    assert page.get_by_role("link", name="Cost page: API vs self-hosted for your volumes").count() == 1

    # The quiz: answer the first question right and the second wrong; the score stays in the session.
    page.get_by_role("button", name="Take the quiz →").click()
    wait_for_script(page)
    q1, q2 = CONTENT.quiz[0], CONTENT.quiz[1]
    page.get_by_text("Question 1 of").wait_for()
    main.get_by_text(q1.options[q1.answer], exact=True).click()
    wait_for_script(page)
    page.get_by_role("button", name="Check answer").click()
    wait_for_script(page)
    main.get_by_text("Correct.").wait_for()
    page.get_by_role("button", name="Next question →").click()
    wait_for_script(page)
    wrong = q2.options[(q2.answer + 1) % len(q2.options)]
    main.get_by_text(wrong, exact=True).click()
    wait_for_script(page)
    page.get_by_role("button", name="Check answer").click()
    wait_for_script(page)
    main.get_by_text("Not quite.").wait_for()
    assert "1 / 2" in main.inner_text()
    screenshot(page, "interview-10-quiz")
