"""Loopback HTTP stand-ins for vendor APIs: a raw ASGI app served by uvicorn in a background thread.

Every request is validated against the vendor's OpenAPI document before anything else; a violation is
recorded and answered 400 (401 for a missing/unknown auth scheme). Then scripted faults apply, then the
stand-in's own handler runs under a lock (tests mutate state from their own thread).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

import uvicorn
from openapi_core import OpenAPI

from tests.fakes import openapi

FaultKind = Literal["status", "delay", "reset", "drop_response"]


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, str (text/plain) or bytes
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if self.body is None:
            return b"", "application/json"
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("content-type", "application/octet-stream")
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


@dataclass
class Request:
    method: str
    path: str  # normalised (e.g. Zendesk `.json` stripped)
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Fault:
    """One scripted misbehaviour.

    status: answer `status` with `headers`/`body` instead of serving. delay: sleep `seconds`, then serve.
    reset: close the socket with RST before serving. drop_response: serve (state changes!), then reset.
    """

    kind: FaultKind
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    seconds: float = 0.0


@dataclass
class _Planned:
    fault: Fault
    method: str | None
    path: re.Pattern[str] | None
    remaining: int


@dataclass
class Violation:
    method: str
    path: str
    errors: list[str]


class StandIn:
    """Base class: subclasses set `spec`/`spec_host` and implement `serve` and `spec_violation_reply`."""

    spec_host: str = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[Request] = []
        self.violations: list[Violation] = []
        self.response_violations: list[Violation] = []
        self._faults: list[_Planned] = []
        self.base_url = ""  # set once the server is listening
        self.latency_seconds = 0.0  # added to every request, e.g. for benchmarks against a "slow" vendor
        # Benchmarks of our side may turn the contract checks off: on a busy 2-core box their CPU (the
        # stand-in's one thread) would otherwise set the rate being measured.
        self.validate = True

    # --- hooks ------------------------------------------------------------------------------

    def spec(self) -> OpenAPI:
        raise NotImplementedError

    def normalise_path(self, path: str) -> str:
        return path

    def serve(self, request: Request) -> Reply:
        raise NotImplementedError

    def spec_violation_reply(self, errors: list[str], security: bool) -> Reply:
        raise NotImplementedError

    def after_reply(self, request: Request, reply: Reply) -> None:
        """Runs outside the lock after a reply was chosen; used to deliver webhooks."""

    # --- scripting --------------------------------------------------------------------------

    def fail(
        self, fault: Fault, *, method: str | None = None, path: str | None = None, times: int = 1
    ) -> None:
        """Script `fault` for the next `times` requests matching `method` and the `path` regex."""
        with self.lock:
            pattern = re.compile(path) if path else None
            self._faults.append(_Planned(fault, method.upper() if method else None, pattern, times))

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def _take_fault(self, request: Request) -> Fault | None:
        with self.lock:
            for planned in self._faults:
                if planned.method and planned.method != request.method:
                    continue
                if planned.path and not planned.path.search(request.path):
                    continue
                planned.remaining -= 1
                if planned.remaining <= 0:
                    self._faults.remove(planned)
                return planned.fault
        return None

    def calls(self, method: str, path_regex: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and re.search(path_regex, r.path)]

    # --- ASGI -------------------------------------------------------------------------------

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            return
        # uvicorn passes its cycle's bound `send`; its transport lets us reset the connection.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        raw_path = scope["path"]
        request = Request(
            method=scope["method"],
            path=self.normalise_path(raw_path),
            raw_path=raw_path,
            query=dict(parse_qsl(scope.get("query_string", b"").decode())),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            body=body,
        )
        with self.lock:
            self.requests.append(request)
        errors, security = (
            openapi.request_errors(
                self.spec(),
                self.spec_host,
                request.method,
                request.path,
                request.query,
                request.headers,
                body,
            )
            if self.validate
            else ([], False)
        )
        if errors:
            with self.lock:
                self.violations.append(Violation(request.method, request.raw_path, errors))
            await _send_reply(send, self.spec_violation_reply(errors, security))
            return
        fault = self._take_fault(request)
        if fault is not None and fault.kind == "status":
            await _send_reply(send, Reply(fault.status, fault.body, dict(fault.headers)))
            return
        delay = self.latency_seconds + (fault.seconds if fault is not None and fault.kind == "delay" else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if fault is not None and fault.kind == "reset":
            await _reset(transport)
            return
        with self.lock:
            reply = self.serve(request)
        if fault is not None and fault.kind == "drop_response":
            await _reset(transport)
            return
        if self.validate and 200 <= reply.status < 300 and reply.body is not None:
            self._check_response(request, reply)
        await _send_reply(send, reply)
        self.after_reply(request, reply)

    def _check_response(self, request: Request, reply: Reply) -> None:
        payload, content_type = reply.encode()
        errors = openapi.response_errors(
            self.spec(),
            self.spec_host,
            request.method,
            request.path,
            request.query,
            request.headers,
            request.body,
            reply.status,
            payload,
            content_type.split(";")[0],
        )
        if errors:
            with self.lock:
                self.response_violations.append(Violation(request.method, request.raw_path, errors))


async def _send_reply(send: Callable[..., Any], reply: Reply) -> None:
    payload, content_type = reply.encode()
    headers = {"content-type": content_type, **{k.lower(): v for k, v in reply.headers.items()}}
    await send(
        {
            "type": "http.response.start",
            "status": reply.status,
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def _reset(transport: Any) -> None:
    if transport is None:
        raise RuntimeError("cannot reach the connection's transport to reset it")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0 turns close() into a TCP RST, which is what a crashed peer or proxy looks like.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    # Let uvicorn see connection_lost, so it does not log "returned without starting response".
    await asyncio.sleep(0.01)


# --- running ----------------------------------------------------------------------------------


class ServerThread:
    """Run an ASGI app on 127.0.0.1 with an ephemeral port in a daemon thread."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            lifespan="off",
            http="h11",
            log_level="error",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="stand-in", daemon=True)
        self.url = ""

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`with serving(app) as url:` — the app is reachable at `url` inside the block."""
    if isinstance(app, StandIn):
        app.spec()  # load the (cached) document here, not inside the first request's time budget
    runner = ServerThread(app)
    url = runner.start()
    if isinstance(app, StandIn):
        app.base_url = url
    try:
        yield url
    finally:
        runner.stop()


def header(headers: Mapping[str, str], name: str) -> str | None:
    return {k.lower(): v for k, v in headers.items()}.get(name.lower())
