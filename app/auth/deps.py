"""Authentication for routers: `Depends(require("read"))`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app.auth.ratelimit import MemoryLimiter, bucket_of
from app.auth.service import PREFIX_LEN, TOUCH_EVERY, Principal, authenticate, touch
from app.core import logs
from app.core.clock import utcnow
from app.core.db import reader
from app.core.errors import InvalidInput
from app.core.problems import domain_problem, problem_response, validation_problem

log = logging.getLogger("seam.auth")

_bearer = HTTPBearer(auto_error=False, description="An API key made with `seam keys create`.")


_touched: dict[str, float] = {}
_touched_lock = threading.Lock()


def _lookup(request: Request, token: str) -> Principal | None:
    # A session of its own, closed before the endpoint runs: a request waiting for a thread to run its
    # endpoint must not hold a pooled connection (nor, on SQLite, a lock) while it waits.
    engine = request.app.state.engine
    with Session(reader(engine)) as session:
        principal = authenticate(session, token)
    if principal is not None and _due(principal, token[:PREFIX_LEN]):
        # Off the request's path: on SQLite the write waits for the write lock, and a read must not.
        _recorder.submit(_record_use, engine, principal.key_id)
    return principal


def _due(principal: Principal, prefix: str) -> bool:
    """Whether this process should record a use: not within a minute of the last one it knows of (a
    burst of requests with one key makes one write, not one each)."""
    every = TOUCH_EVERY.total_seconds()
    now = time.monotonic()
    with _touched_lock:
        if now - _touched.get(prefix, -every) < every:
            return False
        _touched[prefix] = now
    last = principal.last_used_at
    return last is None or (utcnow() - last) >= TOUCH_EVERY


# One thread: at most one write per key per minute reaches it (see _due).
_recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seam-key-use")


def _record_use(engine: Any, key_id: int) -> None:
    try:
        with Session(engine) as session:
            touch(session, key_id)
            session.commit()
    except SQLAlchemyError as exc:
        # Best effort: when a key was last used is not worth an error.
        log.info("key %s: last use not recorded (%s)", key_id, type(exc).__name__)


def client_address(request: Request) -> str:
    """The peer's address (behind a proxy, uvicorn's --proxy-headers and --forwarded-allow-ips make it
    the client's)."""
    return request.client.host if request.client else "unknown"


def _buckets(request: Request, token: str | None) -> list[str]:
    buckets = [bucket_of("auth-addr", client_address(request))]
    if token:
        buckets.append(bucket_of("auth-key", token[:PREFIX_LEN]))
    return buckets


def _too_many(retry_after: int) -> HTTPException:
    return HTTPException(
        429, "Too many failed authentication attempts; retry later.", {"Retry-After": str(retry_after)}
    )


def _refuse(request: Request, token: str | None, detail: str) -> HTTPException:
    """401, or 429 once this address (or this key prefix) has failed too often."""
    limiter: MemoryLimiter = request.app.state.auth_failures
    waits = [w for b in _buckets(request, token) if (w := limiter.hit(b)) is not None]
    if waits:
        return _too_many(max(waits))
    return HTTPException(401, detail, {"WWW-Authenticate": "Bearer"})


def require(scope: str) -> Callable[..., Principal]:
    def dependency(
        request: Request,
        creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        token = creds.credentials if creds is not None else None
        limiter: MemoryLimiter = request.app.state.auth_failures
        # Over the limit: refused before the database is asked.
        waits = [w for b in _buckets(request, token) if (w := limiter.blocked(b)) is not None]
        if waits:
            raise _too_many(max(waits))
        if creds is None or token is None or creds.scheme.lower() != "bearer":
            raise _refuse(request, None, "An API key is required: Authorization: Bearer KEY.")
        principal = _lookup(request, token)
        if principal is None:
            raise _refuse(request, token, "The API key is not valid or was revoked.")
        if not principal.allows(scope):
            raise HTTPException(403, f"This key lacks the '{scope}' scope.")
        request.state.principal = principal
        logs.set_actor(f"key:{principal.key_id}:{principal.name}")
        return principal

    dependency.seam_scope = scope  # type: ignore[attr-defined]
    return dependency


def _scope_of(dependant: Any) -> str | None:
    """The scope an operation's `require` asks for, or None for an operation open to anyone."""
    for sub in getattr(dependant, "dependencies", ()):
        scope = getattr(sub.call, "seam_scope", None) or _scope_of(sub)
        if scope:
            return str(scope)
    return None


def _refusal(request: Request, scope: str) -> JSONResponse | None:
    """The 401, 403 or 429 that `require(scope)` would give this request, or None if its key may act."""
    try:
        require(scope)(request, _credentials(request))
    except HTTPException as exc:
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, str(exc.detail), request=request, headers=headers)
    return None


def _credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if not scheme or not token.strip():
        return None
    return HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())


async def _unauthenticated(request: Request) -> JSONResponse | None:
    """For an operation that needs a key, when input was refused before `require` ran (a body FastAPI
    could not parse, an unknown query parameter, a malformed header): the key's refusal, if any.

    A caller without a valid key learns nothing about the operation's input from us: 401 comes before
    422 whatever the order in which FastAPI resolves the body, the parameters and the dependencies."""
    if getattr(request.state, "principal", None) is not None:
        return None
    route = request.scope.get("route")
    scope = _scope_of(getattr(route, "dependant", None))
    if scope is None:
        return None
    return await run_in_threadpool(_refusal, request, scope)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return await _unauthenticated(request) or validation_problem(request, exc)

    @app.exception_handler(InvalidInput)
    async def _invalid(request: Request, exc: InvalidInput) -> JSONResponse:
        return await _unauthenticated(request) or domain_problem(request, exc)
