"""Authentication for routers: `Depends(require("read"))`."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth.service import Principal, authenticate
from app.core.deps import get_session

_bearer = HTTPBearer(auto_error=False, description="An API key made with `seam keys create`.")


def require(scope: str) -> Callable[..., Principal]:
    def dependency(
        request: Request,
        creds: HTTPAuthorizationCredentials | None = Depends(_bearer),
        session: Session = Depends(get_session),
    ) -> Principal:
        if creds is None or creds.scheme.lower() != "bearer":
            raise HTTPException(
                401, "An API key is required: Authorization: Bearer KEY.", {"WWW-Authenticate": "Bearer"}
            )
        principal = authenticate(session, creds.credentials)
        if principal is None:
            raise HTTPException(
                401, "The API key is not valid or was revoked.", {"WWW-Authenticate": "Bearer"}
            )
        if not principal.allows(scope):
            raise HTTPException(403, f"This key lacks the '{scope}' scope.")
        request.state.principal = principal
        return principal

    return dependency
