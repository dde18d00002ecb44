"""The `Allow` header of a 405: every method some route serves at the requested path (RFC 9110 §15.5.6).

Starlette names only the methods of the first route whose path matched, and routes that share a path
(`GET /api/v1/keys` and `POST /api/v1/keys`) are separate routes, so its header lists one of them."""

from __future__ import annotations

from fastapi import Request
from starlette.routing import Match

# OPTIONS and TRACE are served by no route; HEAD comes with every GET.
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        probe = {**request.scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return allowed


def allow_header(request: Request) -> str:
    return ", ".join(allowed_methods(request))
