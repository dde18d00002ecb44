"""One logging setup for every Seam process (API, worker, scheduler, CLI): one line per record, JSON by
default, each with its time, level, logger, message, and the request id and actor of the request it
belongs to (null outside a request).

`configure` is called once by each entry point (`app.asgi`, `app.cli`), never by `create_app`, so an
application embedded in tests or another server keeps that host's logging.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LogFormat = Literal["json", "text"]
# The loggers SEAM_LOG_LEVEL sets. Everything else (httpx, SQLAlchemy, asyncio...) stays at WARNING
# whatever the setting: their DEBUG and INFO lines carry URLs and statement parameters, which can hold
# customers' words and references.
OURS = ("seam", "integrations", "uvicorn", "uvicorn.error", "uvicorn.access", "apscheduler")
REQUEST_ID_HEADER = "x-request-id"
# An incoming id is kept when it is short and plain (a proxy's or a client's trace id); anything else
# could inject into log lines or headers, so it is replaced by one of ours.
_SANE_ID = re.compile(r"^[A-Za-z0-9._:/+=-]{1,128}$")

# A mutable holder per request: the endpoint and its dependencies run in other threads, on copies of
# this context, so they fill in the actor on the shared dict rather than setting the variable.
_request: ContextVar[dict[str, str | None] | None] = ContextVar("seam_request", default=None)


def set_actor(actor: str) -> None:
    """Names who the current request acts as (`key:ID:NAME`, `person:ID`); never a secret."""
    current = _request.get()
    if current is not None:
        current["actor"] = actor


def current_request_id() -> str | None:
    current = _request.get()
    return current["request_id"] if current else None


class _RequestContext(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = _request.get() or {}
        record.request_id = current.get("request_id")
        record.actor = current.get("actor")
        return True


class _NoQueryStrings(logging.Filter):
    """uvicorn's access line names the full path; its query string can carry an email address or a
    search phrase (a digest preview, a feedback search), so only the path is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        access = record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5
        if access and isinstance(args, tuple) and "?" in str(args[2]):
            record.args = (*args[:2], str(args[2]).split("?", 1)[0] + "?…", *args[3:])
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "actor": getattr(record, "actor", None),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(actor)s] %(message)s"


def configure(level: str, fmt: LogFormat) -> None:
    """Sends every record to stderr in `fmt`; `level` reaches each of Seam's loggers. Idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(_RequestContext())
    handler.addFilter(_NoQueryStrings())
    handler.seam = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "seam", False)]:
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    numeric = numeric if isinstance(numeric, int) else logging.INFO
    root.setLevel(max(numeric, logging.WARNING))
    for name in OURS:
        logger = logging.getLogger(name)
        logger.setLevel(numeric)
        # uvicorn's own handlers (when it configured itself) would print each line twice.
        logger.handlers = [h for h in logger.handlers if getattr(h, "seam", False)]
        logger.propagate = True
    logging.getLogger("seam.logs").debug("logging at %s as %s", logging.getLevelName(numeric), fmt)


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == REQUEST_ID_HEADER.encode():
            candidate = value.decode("latin-1")
            if _SANE_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives each request an id (the caller's `X-Request-ID` when sane), for its log lines and its
    response's `X-Request-ID` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = _request.set({"request_id": request_id, "actor": None})
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                message = {**message, "headers": [*headers, (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _request.reset(token)
