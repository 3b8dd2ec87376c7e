"""Local by default: the real server binds loopback only, and browsers never see a traceback.

Both run ``streamlit run`` with the repository's ``.streamlit/config.toml`` as it is (no
``--server.address`` flag), the way ``make run`` starts the app.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import goto_page, launch

pytestmark = pytest.mark.e2e


def _listening(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port`` (read from /proc/net/tcp{,6})."""
    found: set[str] = set()
    for name, width in (("tcp", 8), ("tcp6", 32)):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            local, state = cols[1], cols[3]
            addr, _, hexport = local.partition(":")
            if state != "0A" or int(hexport, 16) != port:  # 0A = LISTEN
                continue
            raw = bytes.fromhex(addr)
            if width == 8:
                found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:  # four little-endian 32-bit words
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def _non_loopback_ipv4() -> str | None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
        ip = s.getsockname()[0]
    except OSError:
        return None
    finally:
        s.close()
    return None if ip.startswith("127.") else ip


def test_default_config_binds_loopback_only(tmp_path: Path) -> None:
    server = launch(tmp_path, script="app.py", address=None)
    try:
        bound = _listening(server.port)
        assert bound == {"127.0.0.1"}, bound
        with socket.create_connection(("127.0.0.1", server.port), timeout=5):
            pass
        ip = _non_loopback_ipv4()
        if ip is None:
            pytest.skip("this machine has no non-loopback IPv4 address to try")
        with pytest.raises(OSError):  # refused: nothing listens on that interface
            socket.create_connection((ip, server.port), timeout=5).close()
    finally:
        server.stop()


def test_an_exception_shows_no_traceback_in_the_browser_and_is_logged(
    tmp_path: Path, browser: Any
) -> None:
    script = tmp_path / "boom.py"
    script.write_text(
        "import streamlit as st\n"
        "st.title('Boom page')\n"
        "def deep_helper():\n"
        "    raise RuntimeError('secret-detail-4711 at /srv/private/path')\n"
        "deep_helper()\n"
    )
    server = launch(tmp_path, script=str(script), address=None)
    context = browser.new_context()
    try:
        page = context.new_page()
        goto_page(page, server.url)
        box = page.locator('[data-testid="stException"]').first
        box.wait_for()
        shown = page.locator('[data-testid="stMain"]').inner_text()
        for leak in ("secret-detail-4711", "Traceback", "deep_helper", "/srv/private", "RuntimeError"):
            assert leak not in shown, (leak, shown)
        log = server.log()
        assert "Traceback" in log and "secret-detail-4711" in log and "deep_helper" in log
    finally:
        context.close()
        server.stop()
