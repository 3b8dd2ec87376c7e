"""A flaky API and a killed app, in a real browser against a real ``streamlit run`` server.

1. API faults: the Evaluate page runs an OpenAI-compatible model served by the fake server
   (``tests/fake_openai.py``) that answers 500, quotes the key back in a 401, or rate-limits
   once (429): the first two end in a clear error box — never a Python exception — and a failed
   run; the 429 is retried and the run finishes. After each, BM25 runs fine in the same tab.
   The key typed into the page never appears in the server's logs or the database.
2. kill -9: an evaluation job waits on an API that never answers, the server is killed with
   SIGKILL, a new server opens the same database, and the Runs page shows the run as
   interrupted with its reason — never as done; the job (its id still in the page's URL) is
   interrupted, with Run again.

After a failed run the form must come back enabled, with the user's choices kept (the typed
model spec stays in its box), so the user can fix it and run again.

Screenshots: ``artifacts/screenshots/api-faults-*.png``.
"""

from __future__ import annotations

import os
import re
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest

from lib import store
from lib.evaluation import runs
from tests.e2e.conftest import goto_page, wait_for_script
from tests.fake_openai import FakeOpenAI
from tests.lbfiles import copy_app_db

pytestmark = pytest.mark.e2e

TOKEN = uuid.uuid4().hex
KEY = f"sk-EMS-CANARY-{TOKEN}"


def _models(page: Any, keep: str | None) -> None:
    """Leave only the picker's model starting with ``keep`` selected (none when None)."""
    picker = page.locator('[data-testid="stMultiSelect"]')
    chips = picker.locator('[aria-label="Selected values"] [data-tag]')
    for _ in range(10):
        other = chips.filter(has_not_text=re.compile(rf"^{keep}")) if keep else chips
        if other.count() == 0:
            break
        other.first.get_by_role("button", name=re.compile(r"^Remove ")).click()
    if keep and chips.count() == 0:
        picker.get_by_role("combobox").fill(keep)
        page.get_by_role("option", name=re.compile(rf"^{keep}")).click()
        page.keyboard.press("Escape")
    assert chips.count() == (1 if keep else 0)


def _load_demo(page: Any, url: str) -> None:
    goto_page(page, url, "evaluate")
    page.get_by_role("button", name="Use the demo dataset").click()
    page.get_by_text("60 queries").first.wait_for()
    wait_for_script(page)


RUN_ID = re.compile(r"Run (\d{8}-\d{6}-[0-9a-f]{8})")


def _main_text(page: Any) -> str:
    return str(page.locator('[data-testid="stMain"]').inner_text())


def _run(page: Any, extra: str, keep: str | None = None, *, fails: bool = False) -> str:
    """Pick the models (``keep`` from the picker, ``extra`` typed in), run, and wait for the outcome.

    A BM25 run can finish before its progress box is ever seen, so the wait is for the outcome:
    a new run id in the results (success) or the error box (failure).

    Returns:
        The page's main text afterwards.
    """
    _models(page, keep)
    form = page.locator('[data-testid="stForm"]')
    form.get_by_role("textbox", name="Another model (optional)").fill(extra)
    form.get_by_role("textbox", name="API key (for openai: models)").fill(KEY)
    before = RUN_ID.findall(_main_text(page))
    page.get_by_role("button", name="Run evaluation").click()
    if fails:
        page.locator('[data-testid="stAlert"]').filter(has_text="The evaluation did not run").wait_for(timeout=120_000)
    else:
        for _ in range(480):
            shown = RUN_ID.findall(_main_text(page))
            if shown and shown != before:
                break
            page.wait_for_timeout(250)
        else:
            pytest.fail(f"no new run appeared:\n{_main_text(page)[-3000:]}")  # the end: job panel, results
    wait_for_script(page, 120_000)
    return _main_text(page)


def _form_enabled(page: Any) -> bool:
    return bool(page.get_by_role("button", name="Run evaluation").is_enabled())


def test_api_faults_in_the_browser(
    streamlit_server: Any, lb_db: Path, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    db = copy_app_db(lb_db, tmp_path / "faults.duckdb")  # leaderboard loaded: no first-start load to wait for
    with FakeOpenAI() as fake:
        server = streamlit_server({"EMS_DB": str(db)})
        _load_demo(page, server.url)
        outcomes: dict[str, str] = {}
        for mode, opts, message in [
            ("500", {}, "HTTP 500 after 2 retries"),
            ("echo_key", {"max_retries": "0"}, "HTTP 401"),
            ("429_then_ok", {}, None),
        ]:
            fake.set(mode)
            text = _run(page, fake.spec(**opts), fails=message is not None)
            assert any(r["headers"].get("authorization") == f"Bearer {KEY}" for r in fake.requests)
            if message is None:
                assert "The evaluation did not run" not in text
                page.get_by_role("heading", name="Results").wait_for()
                assert fake.calls >= 2  # retried after the 429
                outcomes[mode] = "retried, done"
            else:
                alert = page.locator('[data-testid="stAlert"]').filter(has_text="The evaluation did not run")
                alert.wait_for()
                assert message in alert.inner_text() and TOKEN not in alert.inner_text()
                screenshot(page, f"api-faults-{mode}")
                outcomes[mode] = "clear error"
            assert _form_enabled(page)
            if message is not None:
                box = page.locator('[data-testid="stForm"]').get_by_role("textbox", name="Another model (optional)")
                assert box.input_value() == fake.spec(**opts)  # the user's spec is kept to fix and rerun
            # The same session carries on: BM25 next.
            text = _run(page, "", keep="bm25")
            assert "The evaluation did not run" not in text
            page.get_by_role("heading", name="Results").wait_for()
            assert _form_enabled(page)
        print("api faults in the browser:", outcomes)
        assert page.locator('[data-testid="stException"]').count() == 0
        page.goto("about:blank")  # leave before stopping the server (a live tab would retry and log errors)
        logs = server.stderr() + (server.log_dir / "stdout.log").read_text(errors="replace")
        server.stop()
    listing = runs.list_runs(db)
    statuses = list(listing.sort_values("created_at")["status"])
    assert statuses == ["failed", "done", "failed", "done", "done", "done"]
    assert TOKEN not in logs
    for f in (db, Path(f"{db}.wal")):
        assert not f.exists() or TOKEN.encode() not in f.read_bytes()
    assert not any(TOKEN in str(e) for e in listing["error"])
    store.close(db)


def test_kill9_during_an_evaluation_in_the_app(
    streamlit_server: Any, lb_db: Path, page: Any, screenshot: Any, tmp_path: Path
) -> None:
    db = copy_app_db(lb_db, tmp_path / "killed.duckdb")  # leaderboard loaded: no first-start load to wait for
    with FakeOpenAI(mode="hang") as fake:
        server = streamlit_server({"EMS_DB": str(db)})
        _load_demo(page, server.url)
        _models(page, None)
        form = page.locator('[data-testid="stForm"]')
        form.get_by_role("textbox", name="Another model (optional)").fill(fake.spec(timeout="600", max_retries="0"))
        page.get_by_role("button", name="Run evaluation").click()
        page.get_by_text("… running").first.wait_for()  # the job's panel
        page.get_by_text(re.compile(r"encoding documents")).first.wait_for()
        job_url = page.url
        assert "job=" in job_url
        screenshot(page, "api-faults-kill9-1-running", full_page=False)
        assert fake.calls >= 1  # the request is in flight: the run is mid-way
        page.goto("about:blank")  # the browser leaves first, so it logs no reconnection errors
        os.kill(server.proc.pid, signal.SIGKILL)
        assert server.proc.wait(timeout=30) == -signal.SIGKILL

    # A new app process on the same file: the run is interrupted, with its reason, never done.
    again = streamlit_server({"EMS_DB": str(db)})
    goto_page(page, again.url, "runs")
    grid = page.locator('[data-testid="stDataFrame"]').filter(visible=True).first  # not the collapsed jobs table
    grid.get_by_text("✗ interrupted", exact=True).first.wait_for(state="attached")
    cells = [c.strip() for c in grid.locator('[role="gridcell"]').all_text_contents()]
    assert "✗ interrupted" in cells and "✓ done" not in cells
    page.get_by_text("stopped before they finished").wait_for()
    # Opened (the newest run is preselected), it says why it has no results.
    reason = page.locator('[data-testid="stAlert"]').filter(has_text="the app stopped during this run")
    reason.wait_for()
    assert "failed" in reason.inner_text() and f"process {server.proc.pid}" in reason.inner_text()
    screenshot(page, "api-faults-kill9-2-runs")
    # The job the page followed (its id is in the URL): interrupted, with Run again.
    goto_page(page, again.url, "evaluate?" + job_url.split("?", 1)[1])
    page.locator('[data-testid="stAlert"]').filter(has_text="Interrupted").wait_for()
    page.get_by_role("button", name="Run again").wait_for()
    screenshot(page, "api-faults-kill9-3-job-interrupted", full_page=False)
    page.goto("about:blank")
    again.stop()
    row = runs.list_runs(db).iloc[0]
    assert row["status"] == "failed" and bool(row["interrupted"])
    assert f"process {server.proc.pid}" in row["error"]
    from lib import jobs

    [job] = jobs.list_jobs(db)
    assert job.status == "interrupted" and job.can_run_again and job.result_ref == row["run_id"]
    store.close(db)
