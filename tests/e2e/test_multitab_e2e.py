"""Several browser tabs evaluate at the same time against one app server: every run saved once, as done.

One ``streamlit run`` server, four Chromium windows (four Streamlit sessions, each a script
thread in the one app process that holds the DuckDB file). Each tab loads the demo dataset,
keeps BM25 only (fast) and presses **Run evaluation**; the clicks go out back to back, before
any result arrives, so the runs overlap on the server. Then: every tab shows its own results
and no error, the Runs page lists each run exactly once as done, and — while the app holds
the file — another process opening it is told which file and which process. After the
server stops, the database holds exactly those runs with all their rows.

Screenshots: ``artifacts/screenshots/multitab-*.png``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lib import store
from lib.evaluation import runs
from tests.e2e.conftest import (
    CheckedPage,
    checked_tab,
    goto_page,
    wait_for_script,
)
from tests.lbfiles import copy_app_db

pytestmark = pytest.mark.e2e

TABS = 4
RUN_ID = re.compile(r"Run (\d{8}-\d{6}-[0-9a-f]{8})")


@pytest.fixture
def tabs(page: CheckedPage, browser: Any) -> Iterator[list[CheckedPage]]:
    """The ``page`` fixture's tab plus three more, each in its own window.

    Separate windows rather than tabs of one window: Chromium throttles the timers of
    background tabs to once a second, which would space the clicks a second apart and
    let each run finish before the next starts. Each is still its own Streamlit session.
    """
    contexts = [browser.new_context(viewport={"width": 1440, "height": 900}) for _ in range(TABS - 1)]
    extra = [checked_tab(c) for c in contexts]
    yield [page, *extra]
    problems = [f"tab {i + 2}: {p}" for i, t in enumerate(extra) for p in t.problems()]
    for c in contexts:
        c.close()
    if problems:
        pytest.fail("browser problems:\n" + "\n".join(problems), pytrace=False)


def _prepare(tab: Any, url: str) -> None:
    """Demo dataset loaded, BM25 the only model, ready to press Run."""
    goto_page(tab, url, "evaluate")
    tab.get_by_role("button", name="Use the demo dataset").click()
    tab.get_by_text("60 queries").first.wait_for()
    wait_for_script(tab)
    selected = tab.locator('[data-testid="stMultiSelect"] [aria-label="Selected values"] [data-tag]')
    selected.filter(has_text="bm25").first.wait_for()
    for _ in range(10):  # remove every model but BM25 (the default also has MiniLM)
        other = selected.filter(has_not_text="bm25")
        if other.count() == 0:
            break
        other.first.get_by_role("button", name=re.compile(r"^Remove ")).click()
    assert selected.count() == 1 and "bm25" in selected.first.inner_text()
    assert tab.get_by_role("button", name="Run evaluation").is_enabled()


def test_four_tabs_evaluate_at_once(
    streamlit_server: Any, lb_db: Path, tabs: list[CheckedPage], screenshot: Any, tmp_path: Path
) -> None:
    db = copy_app_db(lb_db, tmp_path / "multitab.duckdb")  # leaderboard loaded: no first-start load to wait for
    # Two job workers: the four tabs' evaluations (background jobs) then really run side by side in
    # the server (with the default one worker they would queue, and nothing would overlap).
    server = streamlit_server({"EMS_DB": str(db), "EMS_JOB_WORKERS": "2"})
    for tab in tabs:
        _prepare(tab, server.url)
    screenshot(tabs[0], "multitab-1-ready", full_page=False)

    for tab in tabs:  # back to back: no tab waits for another's result
        tab.get_by_role("button", name="Run evaluation").click()
    ids: list[str] = []
    for i, tab in enumerate(tabs):
        tab.get_by_role("heading", name="Results").wait_for(timeout=180_000)
        wait_for_script(tab, 180_000)
        text = tab.locator('[data-testid="stMain"]').inner_text()
        m = RUN_ID.search(text)
        assert m, f"tab {i + 1} shows no run id:\n{text[:2000]}"
        ids.append(m.group(1))
        assert "did not run" not in text and "Evaluation failed" not in text, f"tab {i + 1}: {text[:2000]}"
        assert tab.locator('[data-testid="stException"]').count() == 0
    assert len(set(ids)) == TABS  # each tab its own run
    screenshot(tabs[-1], "multitab-2-results-last-tab")

    # The Runs page (opened in the first tab) lists each of them once, as done.
    goto_page(tabs[0], server.url, "runs")
    grid = tabs[0].locator('[data-testid="stDataFrame"]').filter(visible=True).first  # not the collapsed jobs table
    grid.wait_for()
    # st.dataframe draws on a canvas; its accessible table (hidden, but in the DOM) holds the cells.
    grid.get_by_text(ids[-1], exact=True).first.wait_for(state="attached")
    rows = [
        [c.strip() for c in row.locator('[role="gridcell"]').all_text_contents()]
        for row in grid.locator('[role="row"]').all()
    ]
    rows = [r for r in rows if r]
    listed = {rid: [r for r in rows if rid in r] for rid in ids}
    assert all(len(found) == 1 for found in listed.values()), rows  # each run exactly once
    assert all("✓ done" in found[0] for found in listed.values()), rows
    assert len(rows) == TABS, rows  # and nothing else: no running, failed or duplicate row
    screenshot(tabs[0], "multitab-3-runs")

    # While the app holds the file, another process opening it is told which file and which process.
    with pytest.raises(store.StoreLockedError) as locked:
        runs.list_runs(db)
    assert str(db) in str(locked.value) and f"process {server.proc.pid}" in str(locked.value)

    # Check every tab while the app is up, then leave it: a stopped server makes open tabs retry and log errors.
    for i, tab in enumerate(tabs):
        assert tab.problems() == [], f"tab {i + 1}"
        tab.goto("about:blank")
    server.stop()
    listing = runs.list_runs(db)
    spans = sorted(zip(listing["created_at"], listing["finished_at"], strict=True))
    overlapping = max(sum(1 for s, f in spans if s <= start < f) for start, _ in spans)
    print(f"multitab: {TABS} sessions, {len(listing)} runs saved, at most {overlapping} running at once")
    # The clicks went out before any result came back, so the runs overlapped in the server
    # (a slower machine only makes them overlap more); otherwise this test proved nothing.
    assert overlapping >= 2
    assert sorted(listing["run_id"]) == sorted(ids)
    assert set(listing["status"]) == {"done"}
    for rid in ids:
        stored = runs.load_run(rid, db)
        assert len(stored.per_query) == 60 and len(stored.topk) == 60
    store.close(db)
