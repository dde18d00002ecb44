"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.allow import allow_header
from app.core.errors import DomainError

log = logging.getLogger("seam.errors")

PROBLEM_TYPE_BASE = "https://seam.dev/problems/"
MEDIA_TYPE = "application/problem+json"


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] = []


def problem_response(
    status: int,
    detail: str | None,
    *,
    request: Request | None = None,
    slug: str | None = None,
    title: str | None = None,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + (slug or phrase.lower().replace(" ", "-")),
        "title": title or phrase,
        "status": status,
        "detail": detail,
        "errors": list(errors),
    }
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _printable(part: Any) -> Any:
    # A field name can come from the input (an unknown key): a NUL or a lone surrogate in it could be
    # neither stored with the answer (idempotency records) nor always encoded.
    if not isinstance(part, str):
        return part
    return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in part)


def _loc_to_path(loc: Sequence[Any]) -> str:
    parts = [_printable(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        where = parts.pop(0)
        if not parts:
            return where
        if where != "body":
            parts = [f"{where}.{parts[0]}", *parts[1:]]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path or "body"


def validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    return [{"field": _loc_to_path(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in errors]


def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errs = validation_errors(exc.errors())
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errs[:5])
    return problem_response(422, detail, request=request, slug="invalid-input", errors=errs)


def domain_problem(request: Request, exc: DomainError) -> JSONResponse:
    return problem_response(
        exc.status,
        exc.detail,
        request=request,
        slug=exc.type_slug,
        title=exc.title,
        errors=exc.errors,
        **exc.extra,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allow_header(request)}
        return problem_response(exc.status_code, str(exc.detail), request=request, headers=headers)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("database pool exhausted on %s %s", request.method, request.url.path)
        return _busy(request)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> JSONResponse:
        if "database is locked" in str(exc.orig):
            log.warning("SQLite write lock not granted in time on %s %s", request.method, request.url.path)
            return _busy(request)
        log.error("database error on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
        return problem_response(500, "An internal error occurred; it has been logged.", request=request)


RETRY_AFTER_S = 2


def _busy(request: Request) -> JSONResponse:
    return problem_response(
        503,
        "The service is busy; retry shortly.",
        request=request,
        slug="busy",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


class UnhandledErrors:
    """The outermost middleware: a bug becomes a logged 500 problem, and the connection stays usable.

    Starlette's own last-resort handler re-raises after answering, and uvicorn then closes a keep-alive
    connection that had already started its response; a client's next request on it would be reset."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            request = Request(scope)
            response = problem_response(
                500, "An internal error occurred; it has been logged.", request=request
            )
            await response(scope, receive, send)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": HTTPStatus(code).phrase}
    for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}
