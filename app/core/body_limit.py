"""Refuses request bodies over a size limit with 413 before they reach a router."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.problems import MEDIA_TYPE, PROBLEM_TYPE_BASE


class _TooLarge(HTTPException):
    """An HTTPException so that FastAPI's body parsing passes it on as a 413, not a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # NUL is never meaningful in a URL, and PostgreSQL cannot compare text holding one.
        if b"%00" in scope.get("query_string", b"") or "\x00" in scope.get("path", ""):
            await self._refuse(scope, send, 400, "The URL contains a NUL character (%00).", "url")
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse_large(scope, send)
            return

        seen = 0
        started = False

        # Chunked bodies carry no length: count as they stream in.
        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse_large(scope, send)

    async def _refuse_large(self, scope: Scope, send: Send) -> None:
        detail = f"The request body exceeds the limit of {self.max_bytes} bytes."
        await self._refuse(scope, send, 413, detail, "body", f"larger than {self.max_bytes} bytes")

    async def _refuse(
        self, scope: Scope, send: Send, status: int, detail: str, field: str, message: str | None = None
    ) -> None:
        phrase = HTTPStatus(status).phrase
        body: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + phrase.lower().replace(" ", "-"),
            "title": phrase,
            "status": status,
            "detail": detail,
            "instance": scope.get("path"),
            "errors": [{"field": field, "message": message or detail}],
        }
        raw = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", MEDIA_TYPE.encode()),
                    (b"content-length", str(len(raw)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": raw})
