"""Requests counted and timed by method, route template and status class.

The route label is the template the request matched (`/api/v1/issues/{issue_id}`), never the raw path:
ids and query strings would make a series per request. A request no route matched is `unmatched`, so a
scan of random paths adds no series either.
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics

REQUESTS = metrics.counter(
    "http_requests",
    "HTTP requests answered, by method, route template and status class",
    ("method", "route", "status"),
)
LATENCY = Histogram(
    metrics.PREFIX + "http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method, route template and status class",
    ("method", "route", "status"),
    registry=metrics.REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
# The methods a route can declare; anything else is one label, not one series per invented verb.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
# Each label set's children, looked up once: `labels()` takes a lock and builds its key on every call.
# Bounded by routes x methods x status classes.
_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}


def _series(labels: tuple[str, str, str]) -> tuple[Any, Any]:
    found = _children.get(labels)
    if found is None:
        found = _children.setdefault(labels, (REQUESTS.labels(*labels), LATENCY.labels(*labels)))
    return found


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    # `path_format` is the template without its converters: `/webhooks/{source_id}`, not `{source_id:rowid}`.
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class RequestMetricsMiddleware:
    """Outside the admission gate and the error handler, so 503s and 500s are counted too. `skip` paths
    (the scrape itself) are not counted: a scraper would otherwise measure mostly itself."""

    def __init__(self, app: ASGIApp, skip: tuple[str, ...] = ()) -> None:
        self.app = app
        self.skip = frozenset(skip)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.skip:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client sees when no response starts

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            method = scope.get("method", "GET")
            labels = (method if method in METHODS else "OTHER", route_of(scope), f"{status // 100}xx")
            count, latency = _series(labels)
            count.inc()
            latency.observe(time.perf_counter() - started)
