"""Evaluations as background jobs, in a real browser against a real ``streamlit run`` server.

The job embeds with an OpenAI-compatible model served by ``tests/fake_openai.py`` in its
``slow`` mode (each request answers after a delay), so it runs long enough to leave the page,
come back, reload, open a second browser, and cancel.

1. Start → another page and back → reload → a second browser: the job is still running each
   time, then done, and its results are shown.
0. Cancel → the job is stored as cancelled (its run too, with no results), Run again offered.
(kill -9 mid-job → interrupted with Run again: ``test_api_faults_e2e.test_kill9_during_an_evaluation_in_the_app``.)

Screenshots: ``artifacts/screenshots/jobs-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lib import jobs, store
from lib.evaluation import runs
from tests.e2e.conftest import checked_tab, goto_page, wait_for_script
from tests.e2e.test_api_faults_e2e import _load_demo, _models
from tests.fake_openai import FakeOpenAI

pytestmark = pytest.mark.e2e

RUN_ID = re.compile(r"run (\d{8}-\d{6}-[0-9a-f]{8})", re.IGNORECASE)


def _panel(page: Any) -> Any:
    return page.get_by_text(re.compile(r"^Evaluate fake-model on demo"))


def _submit(page: Any, spec: str) -> None:
    _models(page, None)
    page.locator('[data-testid="stForm"]').get_by_role("textbox", name="Another model (optional)").fill(spec)
    page.get_by_role("button", name="Run evaluation").click()


def _running(page: Any) -> None:
    """The followed job's panel is there and the job is (still) running."""
    try:
        # Generous: on two busy cores, loading a model in a fresh server process can take a minute.
        _panel(page).first.wait_for(timeout=180_000)
        page.get_by_text("… running").first.wait_for(timeout=180_000)
        page.get_by_text(re.compile(r"fake-model: encoding (documents|queries)")).first.wait_for(timeout=180_000)
    except Exception:
        print(page.locator('[data-testid="stMain"]').inner_text())  # what was on screen instead
        raise


def test_a_job_survives_leaving_reloading_and_another_browser(
    streamlit_server: Any, browser: Any, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    # Each request answers after ``fake.delay`` seconds (read again while it waits): 2 s while the
    # test wanders (38 requests of 4 documents: over a minute), then almost nothing to let it finish.
    # (Progress and Cancel come between encode chunks of 128 texts.)
    with FakeOpenAI(mode="slow", delay=2.0) as fake:
        server = streamlit_server()  # its own copy of the loaded leaderboard database
        db = server.log_dir / "app.duckdb"
        _load_demo(page, server.url)

        # Cancel: the job stops between two batches and is stored as cancelled, its run with no results.
        _submit(page, fake.spec(batch_size="4", timeout="30"))
        _running(page)
        page.get_by_role("button", name="Cancel").click()
        # Once the job has the cancel request, the requests in flight may finish at once: the job
        # stops at the end of its encode chunk instead of waiting out 32 requests of 2 s.
        page.get_by_text("cancelling…").first.wait_for(timeout=120_000)
        fake.delay = 0.0
        page.locator('[data-testid="stAlert"]').filter(has_text="Cancelled").wait_for(timeout=120_000)
        fake.delay = 2.0
        page.get_by_role("button", name="Run again").wait_for()
        wait_for_script(page)
        screenshot(page, "jobs-0-cancelled", full_page=False)  # (the database is checked once the app stops)

        # A new job from the same form, after the cancelled one.
        _submit(page, fake.spec(batch_size="4", timeout="30"))
        _running(page)
        screenshot(page, "jobs-1-running", full_page=False)
        assert page.get_by_role("button", name="Cancel").is_visible()

        # Another page and back, inside the app: the job goes on and the panel is back.
        page.get_by_role("link", name=re.compile("Cost")).first.click()
        page.get_by_role("heading", name=re.compile("Cost")).first.wait_for()
        wait_for_script(page)
        page.get_by_role("link", name=re.compile("Evaluate")).first.click()
        _running(page)
        assert "job=" in page.url

        # Reload: a new session; the job id in the URL finds the same job.
        page.reload(wait_until="domcontentloaded")
        _running(page)

        # Another browser (a fresh context: no cookies, no session) sees the running job too.
        other_ctx = browser.new_context(viewport={"width": 1440, "height": 900})
        other = checked_tab(other_ctx)
        try:
            other.goto(f"{server.url}/evaluate", wait_until="domcontentloaded", timeout=180_000)
            _running(other)
            screenshot(other, "jobs-2-second-browser", full_page=False)
        finally:
            other_ctx.close()

        # Then it finishes by itself and the results are shown.
        fake.delay = 0.01
        page.get_by_role("heading", name="Results").wait_for(timeout=180_000)
        wait_for_script(page, 120_000)
        assert _panel(page).count() == 0
        screenshot(page, "jobs-3-done")
        first_run = RUN_ID.search(page.locator('[data-testid="stMain"]').inner_text())
        assert first_run

        # The same form starts another job once the first one's results are shown.
        page.get_by_role("button", name="Run evaluation").click(timeout=60_000)
        page.wait_for_function(
            "old => { const m = document.querySelector('[data-testid=\"stMain\"]').innerText"
            ".match(/run (\\d{8}-\\d{6}-[0-9a-f]{8})/i); return m && m[1] !== old; }",
            arg=first_run.group(1), timeout=180_000)
        wait_for_script(page, 120_000)
        screenshot(page, "jobs-4-second-done")

        goto_page(page, server.url, "runs")
        screenshot(page, "jobs-5-runs")
        page.goto("about:blank")
        server.stop()

    second, done, cancelled = jobs.list_jobs(db)  # newest first
    assert (second.status, done.status, cancelled.status) == ("done", "done", "cancelled")
    stopped = runs.load_run(str(cancelled.result_ref), db)
    assert runs.is_cancelled(stopped.run["status"], stopped.run["error"])
    assert stopped.summary.empty and stopped.per_query.empty  # nothing half-stored
    assert runs.load_run(str(done.result_ref), db).run["status"] == "done"
    store.close(db)
