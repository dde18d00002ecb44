"""Unknown query parameters are refused (422, naming each), not ignored: a misspelt filter must not
answer with everything unfiltered. Applies to the JSON API (`/api/`); pages keep their own parameters."""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.core.errors import InvalidInput, field_error

_known: dict[int, frozenset[str]] = {}


def _names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _names(sub)
    return names


def _declared(route: APIRoute) -> frozenset[str]:
    found = _known.get(id(route))
    if found is None:
        found = frozenset(_names(route.dependant))
        _known[id(route)] = found
    return found


def refuse_unknown_query(request: Request) -> None:
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.url.path.startswith("/api/"):
        return
    unknown = sorted(set(request.query_params) - _declared(route))
    if unknown:
        raise InvalidInput(
            f"Unknown query parameter(s): {', '.join(unknown)}.",
            errors=[field_error(name, "not a parameter of this endpoint") for name in unknown],
        )
