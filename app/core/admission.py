"""Admits at most as many requests at once as the database pool can serve; the rest wait without a
thread or a connection, and are refused with 503 and Retry-After if they wait too long.

Why a gate in front rather than only a pool timeout: a sync endpoint's response is validated in a
second threadpool slot while its session still holds a connection. With more requests in flight than
connections, every thread can end up waiting for a connection that only a thread can give back, and the
whole process stalls until the pool timeout. Bounding requests in flight to the pool's size makes that
wait impossible."""

from __future__ import annotations

import asyncio
import logging

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.problems import RETRY_AFTER_S, problem_response

log = logging.getLogger("seam.admission")

# Paths that never touch the database: liveness must answer even when every slot is taken. /metrics
# reads through an engine of its own (app.core.db_metrics), and is most wanted when every slot is taken.
UNGATED_PREFIXES = ("/healthz", "/static/", "/docs", "/redoc", "/favicon", "/metrics")


class AdmissionGate:
    def __init__(self, app: ASGIApp, limit: int, wait_s: float) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.wait_s = wait_s
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(UNGATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        # Made on first use, inside the server's event loop.
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        try:
            await asyncio.wait_for(self._slots.acquire(), self.wait_s)
        except TimeoutError:
            log.warning("request refused: %d requests in flight for %.0f s", self.limit, self.wait_s)
            response = problem_response(
                503,
                "The service is busy; retry shortly.",
                request=Request(scope),
                slug="busy",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
            await response(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._slots.release()


def limit_for(pool_size: int) -> int:
    """Pool plus overflow, less two for the process's own background work (the in-process worker,
    audits written outside a request)."""
    return max(1, 2 * pool_size - 2)
