"""Every page of the router, reached the way a user does (sidebar navigation), in Chromium.

Two situations a user meets: a fresh install with an empty database (every page must explain
what to do, never crash) and a loaded leaderboard. The page list is read from ``app.py``'s
``PAGES`` registry, so a page added there is covered here without editing this test. Deeper
flows of each page have their own ``test_<page>_e2e.py``; this one guarantees that no page
logs a Python exception or a console error on first open, and leaves one screenshot per page.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from lib import store
from tests.e2e.conftest import ROOT, goto_page, wait_for_script

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


def test_every_page_on_a_fresh_install(streamlit_server: Any, tmp_path: Path, page: Any, screenshot: Any) -> None:
    # A brand-new database: no leaderboard, no runs. Each page must say what to do next.
    server = streamlit_server(extra_env={"EMS_DB": str(tmp_path / "fresh.duckdb"), "EMS_MTEB_RESULTS": ""})
    seen = _visit_all(page, server.url, screenshot, "fresh")
    assert set(seen) == {t for _f, t in PAGES}
    body = page.locator('[data-testid="stMain"]')
    # The last page visited is still on screen; go back to the leaderboard for its hint.
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Leaderboard", exact=True).click()
    wait_for_script(page)
    assert "python -m lib refresh" in body.inner_text()


def test_every_page_with_leaderboard_data(streamlit_server: Any, lb_db: Path, page: Any, screenshot: Any) -> None:
    store.close(lb_db)  # the server process needs the DuckDB file to itself
    server = streamlit_server(extra_env={"EMS_DB": str(lb_db)})
    seen = _visit_all(page, server.url, screenshot, "page")
    assert set(seen) == {t for _f, t in PAGES}
    # The sidebar's provenance line names the loaded source on every page.
    assert "mteb" in page.locator('[data-testid="stSidebar"]').inner_text().lower()
