"""The shared machinery of the tests' fault-injecting OpenAI-compatible servers on 127.0.0.1.

:class:`FakeServer` runs a threading HTTP server in the background (a context manager),
keeps a switchable ``mode``, counts ``calls`` and keeps ``requests``; :class:`JsonHandler`
reads a JSON POST, records it and hands it to the subclass's :meth:`JsonHandler.answer`.
``tests/fake_openai.py`` (embeddings) and ``tests/fake_chat.py`` (chat completions) build on it.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


class JsonHandler(BaseHTTPRequestHandler):
    """Reads one JSON request, records it on the fake, and lets :meth:`answer` reply."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet: the tests read their own output
        pass

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout) or was killed: nothing to answer
            pass

    def do_POST(self) -> None:
        fake = self.server.fake
        n = int(self.headers.get("Content-Length", 0))
        req = json.loads(self.rfile.read(n))
        with fake.lock:
            fake.calls += 1
            call = fake.calls
            fake.requests.append(fake.record(self.headers, req))
        self.answer(fake, fake.mode, call, req)

    def answer(self, fake: Any, mode: str, call: int, req: dict[str, Any]) -> None:
        """Reply to request number ``call`` (1-based) in ``mode``."""
        raise NotImplementedError


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeServer


class FakeServer:
    """A fake server in a background thread; ``with Fake() as fake: … fake.url``."""

    MODES: ClassVar[tuple[str, ...]] = ("ok",)
    DEFAULT_MODEL: ClassVar[str] = "fake-model"
    HANDLER: ClassVar[type[JsonHandler]] = JsonHandler

    def __init__(self, mode: str = "ok", delay: float = 1.5) -> None:
        self.mode = mode
        self.delay = delay
        self.calls = 0
        self.requests: list[Any] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._srv = _Server(("127.0.0.1", 0), self.HANDLER)
        self._srv.fake = self
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    def record(self, headers: Any, req: dict[str, Any]) -> Any:
        """What ``requests`` keeps of one request (default: its body)."""
        return req

    @property
    def url(self) -> str:
        """The base URL, ``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self._srv.server_address[1]}/v1"

    def set(self, mode: str, **attrs: Any) -> Self:
        """Switch mode (and any attribute, e.g. ``fail_after_n``) and reset the counters."""
        assert mode in self.MODES, mode
        with self.lock:
            self.mode, self.calls, self.requests = mode, 0, []
            for k, v in attrs.items():
                setattr(self, k, v)
        return self

    def spec(self, model: str | None = None, **opts: str) -> str:
        """A model spec reaching this server (short timeouts and retries by default)."""
        merged = {"base_url": self.url, "max_retries": "2", "timeout": "0.5", **opts}
        return f"openai:{model or self.DEFAULT_MODEL}?" + "&".join(f"{k}={v}" for k, v in merged.items())

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # releases handlers waiting in 'hang' and 'timeout'
        self._srv.shutdown()
        self._srv.server_close()
        self._thread.join(timeout=5)
