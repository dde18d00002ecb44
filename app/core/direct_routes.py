"""A few hot endpoints answered straight from the middleware stack, past FastAPI's routing.

A webhook acknowledgement is a few hundred microseconds of work of its own, and FastAPI's per-request
machinery (matching the path against every route of every included router, solving dependencies,
wrapping the endpoint) cost as much again on the event loop. A direct route matches one method and
one path pattern and calls its handler with the request; everything outside (request ids, metrics,
the unhandled-error answer, the admission gate, the body limit) still applies, because this sits
innermost of our middleware. The application's exception handlers answer what the handler raises,
exactly as they would behind the router.

A handler declares its own path parameters' bounds: a path the pattern matches but the handler does
not take (an id out of range) answers as the routed endpoint would, by falling through to the router.
The routed endpoint stays the one in the OpenAPI document and the fallback for everything else.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette._utils import is_async_callable
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request, Mapping[str, str]], Awaitable[Response]]
ExceptionHandler = Callable[[Request, Exception], Any]


@dataclass(frozen=True)
class TemplateRoute:
    """What `scope["route"]` holds for a direct request: its template, for the metrics' route label."""

    path_format: str


@dataclass(frozen=True)
class DirectRoute:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    # The template the routed endpoint declares (`/webhooks/{source_id}`), so both count as one route.
    template: str
    # Whether the handler takes these path parameters; otherwise the request goes to the router.
    accepts: Callable[[Mapping[str, str]], bool] = lambda params: True


def _handler_for(handlers: Mapping[Any, ExceptionHandler], exc: Exception) -> ExceptionHandler | None:
    """As Starlette's ExceptionMiddleware looks it up: an HTTPException's status first, then the class
    hierarchy."""
    if isinstance(exc, HTTPException) and exc.status_code in handlers:
        return handlers[exc.status_code]
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


class DirectRoutes:
    def __init__(
        self, app: ASGIApp, routes: Sequence[DirectRoute], handlers: Mapping[Any, ExceptionHandler]
    ) -> None:
        self.app = app
        self.routes = tuple(routes)
        # The application's own dict: handlers installed after this middleware was added count too.
        self.handlers = handlers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                if scope["method"] != route.method:
                    continue
                found = route.pattern.fullmatch(scope["path"])
                if found is None or not route.accepts(found.groupdict()):
                    continue
                await self._answer(route, found.groupdict(), scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _answer(
        self, route: DirectRoute, params: dict[str, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        scope["route"] = TemplateRoute(route.template)
        scope["path_params"] = params
        request = Request(scope, receive, send)
        try:
            response = await route.handler(request, params)
        except Exception as exc:
            handler = _handler_for(self.handlers, exc)
            if handler is None:
                raise
            response = await handler(request, exc) if is_async_callable(handler) else handler(request, exc)
        await response(scope, receive, send)
