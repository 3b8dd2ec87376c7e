"""Browser-test harness: a real ``streamlit run app.py`` server and Debian's Chromium.

Fixtures (reuse them in any ``tests/e2e/test_*.py``; mark tests ``@pytest.mark.e2e``):

* ``streamlit_server``: a factory ``start(extra_env=None) -> StreamlitServer``. It starts
  ``streamlit run app.py`` on a free port with the test environment (``EMS_DB`` etc. from
  ``tests/conftest.py``, ``EMS_PRICES_LOCAL`` pointing at a temporary file, plus
  ``extra_env``), waits for ``/_stcore/health`` (bounded; on failure the message includes
  the server's stderr) and kills the process by its PID at teardown, always.
* ``app_url``: one default server per test module; its base URL.
* ``browser``: Playwright driving ``/usr/bin/chromium`` (``playwright install`` cannot
  download browsers here; ``scripts/ensure_chromium.sh`` installs Chromium).
* ``page``: a fresh page whose browser console errors, uncaught page errors and any
  Streamlit exception box (``[data-testid="stException"]``) fail the test at teardown.
  ``page.ignore_console(substring)`` (see :class:`CheckedPage`) tolerates a known message.
* ``screenshot(page, name)``: saves ``artifacts/screenshots/<name>.png`` (full page).

Helpers: ``goto_page(page, url, path)`` opens a page of the multipage app and waits for the
script to finish; ``wait_for_script(page)`` waits until Streamlit is idle again.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SCREENSHOT_DIR = ROOT / "artifacts" / "screenshots"
STARTUP_TIMEOUT_S = float(os.environ.get("EMS_E2E_STARTUP_TIMEOUT", "60"))
SCRIPT_TIMEOUT_MS = 60_000
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# Opened at a page URL such as /cost, Streamlit's frontend first probes /cost/_stcore/health
# and /cost/_stcore/host-config to discover a base path, gets 404, and falls back to /.
# Those two 404s are expected; any other failed resource is a real problem.
_BASE_PATH_PROBE = re.compile(r"status of 404 .*\[https?://[^/]+/.+/_stcore/(health|host-config)\]")
# app.py's page_icon=":material/hub:" makes the browser fetch the favicon SVG from
# fonts.gstatic.com; offline (this sandbox, air-gapped CI) that lookup fails. It is the tab
# icon only, so it is tolerated; every other external or local failure still fails a test.
_OFFLINE_FAVICON = re.compile(r"\[https://fonts\.gstatic\.com/s/i/short-term/.*materialsymbols")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is an e2e test, even if a marker was forgotten."""
    for item in items:
        if "/tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StreamlitServer:
    """A running ``streamlit run`` subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    log_dir: Path

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8765``."""
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        """What the server wrote to stderr so far."""
        path = self.log_dir / "stderr.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log(self) -> str:
        """The whole server log so far: stdout (where Streamlit's rich tracebacks go) and stderr."""
        out = self.log_dir / "stdout.log"
        return (out.read_text(errors="replace") if out.exists() else "") + self.stderr()

    def stop(self) -> None:
        """Terminate the server by PID (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _wait_healthy(server: StreamlitServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(
                f"streamlit exited with code {server.proc.returncode} before answering "
                f"/_stcore/health. stderr:\n{server.stderr()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}"
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        time.sleep(0.25)
    server.stop()
    pytest.fail(
        f"streamlit did not answer {server.url}/_stcore/health within {timeout_s:.0f}s "
        f"(last: {last}). stderr:\n{server.stderr()[-4000:]}"
    )


def launch(
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    script: str = "app.py",
    env: dict[str, str] | None = None,
    address: str | None = "127.0.0.1",
) -> StreamlitServer:
    """Start ``streamlit run <script>`` on a free port and wait until it is healthy.

    Args:
        log_dir: Where stdout/stderr logs (and the default price-override file) go.
        extra_env: Environment added on top of the test process's.
        script: Script relative to the project root.
        env: The whole environment instead of the test process's (``extra_env`` still applies).
        address: ``--server.address``; None leaves it to ``.streamlit/config.toml`` (the default config).

    Returns:
        The running server (call ``stop()`` when done).
    """
    env = dict(os.environ if env is None else env)
    # Never write the developer's data/prices.local.csv from a test.
    env.setdefault("EMS_PRICES_LOCAL", str(log_dir / "prices.local.csv"))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})
    port = _free_port()
    cmd = [
        sys.executable, "-m", "streamlit", "run", script,
        "--server.headless", "true",
        "--server.port", str(port),
        *(["--server.address", address] if address else []),
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with (log_dir / "stdout.log").open("wb") as out, (log_dir / "stderr.log").open("wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err)
    server = StreamlitServer(proc, port, log_dir)
    try:
        _wait_healthy(server, STARTUP_TIMEOUT_S)
    except BaseException:
        server.stop()
        raise
    return server


def _own_db(lb_db: Path, folder: Path) -> dict[str, str]:
    """A private copy of the session's app database, with its leaderboard, for one server.

    Each server owns its DuckDB file (one writer per file), and starts the way a user's app does
    after its first start: with the leaderboard loaded (a folder without one would load it by
    itself, which ``test_all_pages_e2e`` covers, at ~20 s per server). The leaderboard file is
    shared by hard link: it is read-only for the app, and a refresh swaps in a new file.
    """
    from tests.lbfiles import copy_app_db

    return {"EMS_DB": str(copy_app_db(lb_db, folder / "app.duckdb"))}


@pytest.fixture
def streamlit_server(
    tmp_path_factory: pytest.TempPathFactory, lb_db: Path
) -> Iterator[Callable[..., StreamlitServer]]:
    """Factory: ``start(extra_env=None, script="app.py")`` → a healthy server (own database unless given)."""
    started: list[StreamlitServer] = []

    def start(extra_env: dict[str, str] | None = None, script: str = "app.py") -> StreamlitServer:
        folder = tmp_path_factory.mktemp("streamlit")
        extra = extra_env or {}
        env = extra if "EMS_DB" in extra else {**_own_db(lb_db, folder), **extra}
        server = launch(folder, env, script)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, lb_db: Path) -> Iterator[str]:
    """One default app server for the whole test module (its own database); its base URL."""
    folder = tmp_path_factory.mktemp("streamlit-module")
    server = launch(folder, _own_db(lb_db, folder))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (session-wide)."""
    if not CHROMIUM.exists():
        subprocess.run(["bash", str(ROOT / "scripts" / "ensure_chromium.sh")], check=False)
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found; run scripts/ensure_chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@dataclass
class CheckedPage:
    """A Playwright page plus what went wrong in it."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def ignore_console(self, substring: str) -> None:
        """Tolerate console errors containing ``substring`` (say why in the test)."""
        self.ignored.append(substring)

    def problems(self) -> list[str]:
        """Console/page errors not ignored, and Streamlit exceptions shown on the page."""
        out = [e for e in self.console_errors if not any(s in e for s in self.ignored)]
        if not self.page.is_closed():
            boxes = self.page.locator('[data-testid="stException"]')
            for i in range(boxes.count()):
                out.append("Streamlit exception on page: " + boxes.nth(i).inner_text()[:2000])
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)


def checked_tab(context: Any) -> CheckedPage:
    """A new tab in ``context`` whose console errors and page errors are recorded."""
    raw = context.new_page()
    raw.set_default_timeout(SCRIPT_TIMEOUT_MS)
    checked = CheckedPage(raw)

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            where = (msg.location or {}).get("url", "")
            text = f"console.error: {msg.text} [{where}]"
            if not (_BASE_PATH_PROBE.search(text) or _OFFLINE_FAVICON.search(text)):
                checked.console_errors.append(text)

    raw.on("console", on_console)
    raw.on("pageerror", lambda exc: checked.console_errors.append(f"page error: {exc}"))
    return checked


@pytest.fixture
def page(browser: Any) -> Iterator[CheckedPage]:
    """A fresh 1440×900 page; console errors and Streamlit exceptions fail the test."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    checked = checked_tab(context)
    yield checked
    problems = checked.problems()
    context.close()
    if problems:
        pytest.fail("browser problems:\n" + "\n".join(problems), pytrace=False)


def wait_for_script(page: Any, timeout_ms: int = SCRIPT_TIMEOUT_MS) -> None:
    """Wait until the Streamlit script has finished its current run."""
    page.wait_for_selector(APP_IDLE, timeout=timeout_ms)
    # A rerun may start right after an input event; give it a beat, then wait again.
    page.wait_for_timeout(300)
    page.wait_for_selector(APP_IDLE, timeout=timeout_ms)


_warmed: set[str] = set()


def _warm_up(page: Any, base_url: str) -> None:
    # Because the project has a ``pages/`` folder, Streamlit starts in its legacy
    # multipage mode: until some session has run app.py (whose st.navigation switches the
    # server to the router's pages for good), a deep link such as /cost runs pages/cost.py
    # alone, without app.py's page config and sidebar. Open the root once, in a separate
    # unchecked tab, so the page under test runs the way users see it.
    if base_url in _warmed:
        return
    tab = page.context.new_page()
    try:
        tab.goto(base_url, wait_until="domcontentloaded")
        tab.wait_for_selector(APP_IDLE, timeout=SCRIPT_TIMEOUT_MS)
    finally:
        tab.close()
    _warmed.add(base_url)


def goto_page(page: Any, base_url: str, url_path: str = "") -> None:
    """Open ``base_url/url_path`` (e.g. ``cost``) and wait for the first run to finish."""
    if url_path:
        _warm_up(page, base_url)
    page.goto(f"{base_url}/{url_path}", wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_for_script(page)


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """``screenshot(page, name, full_page=True)`` → ``artifacts/screenshots/<name>.png``."""

    def take(page: Any, name: str, full_page: bool = True) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        if not full_page:
            page.screenshot(path=str(path))
            return path
        # Streamlit scrolls inside its main container, not the document, so Playwright's
        # full_page sees one viewport. Grow the viewport to the content, shoot, restore.
        size = page.viewport_size or {"width": 1440, "height": 900}
        height = page.evaluate(
            """() => {
                const el = document.querySelector('[data-testid="stMain"]')
                    || document.querySelector('[data-testid="stAppViewContainer"]');
                return el ? el.scrollHeight : document.body.scrollHeight;
            }"""
        )
        page.set_viewport_size({"width": size["width"], "height": max(int(height) + 40, 600)})
        try:
            wait_for_script(page)
            page.wait_for_timeout(500)  # let charts re-layout to the new size
            page.screenshot(path=str(path), full_page=True)
        finally:
            page.set_viewport_size(size)
        return path

    return take
