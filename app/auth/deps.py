"""Authentication for routers: `Depends(require("read"))`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth.service import Principal, authenticate
from app.core.db import reader

_bearer = HTTPBearer(auto_error=False, description="An API key made with `seam keys create`.")


def _lookup(request: Request, token: str) -> Principal | None:
    # A session of its own, closed before the endpoint runs: a request waiting for a thread to run its
    # endpoint must not hold a pooled connection (nor, on SQLite, a lock) while it waits.
    with Session(reader(request.app.state.engine)) as session:
        return authenticate(session, token)


def require(scope: str) -> Callable[..., Principal]:
    def dependency(
        request: Request,
        creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Principal:
        if creds is None or creds.scheme.lower() != "bearer":
            raise HTTPException(
                401, "An API key is required: Authorization: Bearer KEY.", {"WWW-Authenticate": "Bearer"}
            )
        principal = _lookup(request, creds.credentials)
        if principal is None:
            raise HTTPException(
                401, "The API key is not valid or was revoked.", {"WWW-Authenticate": "Bearer"}
            )
        if not principal.allows(scope):
            raise HTTPException(403, f"This key lacks the '{scope}' scope.")
        request.state.principal = principal
        return principal

    return dependency
