"""Every page of the router, reached the way a user does (sidebar navigation), in Chromium.

Two situations a user meets: a fresh install with an empty database (every page must explain
what to do, never crash) and a loaded leaderboard. The page list is read from ``app.py``'s
``PAGES`` registry, so a page added there is covered here without editing this test. Deeper
flows of each page have their own ``test_<page>_e2e.py``; this one guarantees that no page
logs a Python exception or a console error on first open, and leaves one screenshot per page.
"""

from __future__ import annotations

import ast
import datetime as dt
import os
import time
from pathlib import Path
from typing import Any

import pytest

from lib import store
from tests.e2e.conftest import ROOT, SCREENSHOT_DIR, goto_page, launch, wait_for_script

pytestmark = pytest.mark.e2e


def _pages() -> list[tuple[str, str]]:
    """(file, title) for every page registered in app.py whose file exists."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "PAGES" for t in node.targets):
            rows = ast.literal_eval(node.value)
            return [(f, title) for f, title, _icon, _section in rows if (ROOT / f).exists()]
    raise AssertionError("app.py has no PAGES registry")


PAGES = _pages()


def _visit_all(page: Any, url: str, screenshot: Any, prefix: str) -> dict[str, str]:
    goto_page(page, url)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.wait_for()
    seen: dict[str, str] = {}
    for path, title in PAGES:
        nav.get_by_role("link", name=title, exact=True).click()
        wait_for_script(page)
        slug = Path(path).stem
        assert page.url.rstrip("/").endswith(slug) or (path == PAGES[0][0]), (title, page.url)
        heading = page.locator("h1").first
        heading.wait_for()
        seen[title] = heading.inner_text()
        screenshot(page, f"{prefix}_{slug}")
    return seen


def _fresh_env(tmp_path: Path) -> dict[str, str]:
    """A fresh clone's environment: a new database, no EMS_* data variables, no hub."""
    env = {k: v for k, v in os.environ.items() if not (k.startswith("EMS_") or k.startswith("HF_"))}
    env.update(EMS_DB=str(tmp_path / "fresh.duckdb"), EMS_CACHE_DIR=str(tmp_path / "cache"),
               EMS_PRICES_LOCAL=str(tmp_path / "prices.local.csv"))
    return env


def test_fresh_offline_install_shows_the_leaderboard_by_itself(tmp_path: Path, page: Any, screenshot: Any) -> None:
    # A fresh clone on a machine with no network (this one: the hub's name does not resolve):
    # `streamlit run`, open the app, and the leaderboard table appears with no button or command.
    t0 = time.monotonic()
    server = launch(tmp_path, script="app.py", env=_fresh_env(tmp_path))
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        table = page.locator('[data-testid="stDataFrame"]').first
        table.wait_for(timeout=240_000)
        seconds = time.monotonic() - t0
        wait_for_script(page)
        sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
        assert "the bundled snapshot" in sidebar and "2026-08-20" in sidebar
        if (dt.datetime.now(dt.UTC).date() - dt.date(2026, 8, 20)).days > 90:
            assert "older than 90 days" in sidebar and "python -m lib refresh" in sidebar
        assert page.locator("[data-testid=\"stCaptionContainer\"]").filter(has_text="of 317 models").count() >= 1
        screenshot(page, "first_start_offline", full_page=False)
        print(f"first start: {seconds:.1f} s from server start to the leaderboard table")
        (SCREENSHOT_DIR / "first_start_offline.txt").write_text(f"{seconds:.1f}\n")
    finally:
        server.stop()


def test_every_page_when_the_data_cannot_load(
    streamlit_server: Any, tmp_path: Path, page: Any, screenshot: Any
) -> None:
    # First start with a broken source: every page must say what to do next, never crash, and the
    # reason is on screen (an expanded status box), not hidden in a collapsed one.
    server = streamlit_server(extra_env={"EMS_DB": str(tmp_path / "fresh.duckdb"),
                                         "EMS_MTEB_RESULTS": str(tmp_path / "no-copy")})
    seen = _visit_all(page, server.url, screenshot, "fresh")
    assert set(seen) == {t for _f, t in PAGES}
    body = page.locator('[data-testid="stMain"]')
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Leaderboard", exact=True).click()
    wait_for_script(page)
    text = body.inner_text()
    assert "python -m lib refresh" in text
    assert "no-copy does not exist" in text  # the specific reason, visible without a click


def test_every_page_with_leaderboard_data(streamlit_server: Any, lb_db: Path, page: Any, screenshot: Any) -> None:
    store.close(lb_db)  # the server process needs the DuckDB file to itself
    server = streamlit_server(extra_env={"EMS_DB": str(lb_db)})
    seen = _visit_all(page, server.url, screenshot, "page")
    assert set(seen) == {t for _f, t in PAGES}
    # The sidebar's provenance line names the loaded source on every page.
    assert "mteb" in page.locator('[data-testid="stSidebar"]').inner_text().lower()
