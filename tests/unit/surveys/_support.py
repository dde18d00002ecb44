"""Shared test helpers: where the real vendor examples live, and local payload fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# /work/shared sits beside the repo (/work/main); the examples are the vendors' own payloads.
EXAMPLES = Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "examples"
PAYLOADS = Path(__file__).resolve().parent / "payloads"


def example_bytes(name: str) -> bytes:
    path = EXAMPLES / name
    if not path.is_file():  # fail loudly: a silently skipped vendor test proves nothing
        raise FileNotFoundError(f"vendor example payload missing: {path}")
    return path.read_bytes()


def payload_bytes(name: str) -> bytes:
    path = PAYLOADS / name
    if not path.is_file():
        raise FileNotFoundError(f"test payload missing: {path}")
    return path.read_bytes()


def load(raw: bytes) -> Any:
    return json.loads(raw)


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 (ephemeral port) in a thread, for the fetch functions.

    ``routes`` maps a request path (with query) to (status, headers, body); every request is
    recorded as (path, headers) so tests can check exactly what was sent.
    """

    def __init__(self, routes: dict[str, tuple[int, dict[str, str], bytes]]) -> None:
        import http.server
        import threading

        self.routes = routes
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, headers, body = outer.routes.get(self.path, (404, {}, b'{"error": "not found"}'))
                self.send_response(status)
                for key, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
