"""Domain errors: services raise these, the HTTP layer turns them into problem+json."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"
    type_slug = "bad-request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class NotFound(DomainError):
    status = 404
    title = "Not found"
    type_slug = "not-found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"
    type_slug = "conflict"


class InvalidInput(DomainError):
    """Semantically invalid input; `errors` lists each field path and reason."""

    status = 422
    title = "Invalid input"
    type_slug = "invalid-input"


def field_error(path: str, message: str) -> dict[str, str]:
    return {"field": path, "message": message}
