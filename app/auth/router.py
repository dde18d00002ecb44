"""API keys for admins: list (with last use), make, rotate, revoke; every change on the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from app.auth import service
from app.auth.deps import require
from app.auth.models import ApiKey
from app.auth.service import SCOPES, Principal, Scope
from app.core import links
from app.core.clock import utcnow
from app.core.deps import get_session
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.core.types_api import ApiModel

router = APIRouter(prefix="/api/v1/keys", tags=["keys"], responses=PROBLEM_RESPONSES)


class KeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The key's first characters: enough to recognise it, never to use it.")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Recorded to the minute.")


class KeyEventOut(BaseModel):
    action: str
    actor: str
    at: datetime
    detail: str | None


class KeyDetail(KeyOut):
    events: list[KeyEventOut]


class KeyCreated(KeyOut):
    key: str = Field(description="The key itself, shown this once.")


class KeyList(BaseModel):
    items: list[KeyOut]


class KeyIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1, max_length=len(SCOPES), description=", ".join(SCOPES))
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


def _out(row: ApiKey) -> dict[str, Any]:
    return KeyOut.model_validate(row, from_attributes=True).model_dump()


@router.get("", response_model=KeyList)
def list_keys(
    _: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return {"items": [_out(k) for k in service.list_keys(session)]}


@router.post(
    "",
    response_model=KeyCreated,
    status_code=201,
    responses=links.answered(
        201,
        "Created; the token is shown only here.",
        GetKey=links.to("/api/v1/keys/{key_id}", "GET", "The key just made.", key_id="$response.body#/id"),
        RotateKey=links.to("/api/v1/keys/{key_id}/rotate", "POST", "Rotate it.", key_id="$response.body#/id"),
        RevokeKey=links.to("/api/v1/keys/{key_id}/revoke", "POST", "Revoke it.", key_id="$response.body#/id"),
    ),
)
def create_key(
    body: KeyIn, principal: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    expires = utcnow() + timedelta(days=body.expires_in_days) if body.expires_in_days else None
    row, token = service.create_key(
        session, body.name, list(body.scopes), expires_at=expires, actor=principal.actor
    )
    session.commit()
    return {**_out(row), "key": token}


@router.get("/{key_id}", response_model=KeyDetail)
def get_key(
    key_id: RowId, _: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    row = service.find(session, key_id)
    events = [KeyEventOut.model_validate(e, from_attributes=True) for e in service.events(session, key_id)]
    return {**_out(row), "events": events}


@router.post("/{key_id}/revoke", response_model=KeyOut)
def revoke_key(
    key_id: RowId, principal: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    row = service.revoke(session, service.find(session, key_id), principal.actor)
    session.commit()
    return _out(row)


@router.post("/{key_id}/rotate", response_model=KeyCreated, status_code=201)
def rotate_key(
    key_id: RowId, principal: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    """A new key with the same name, scopes and expiry; the old one is revoked at once."""
    new, token = service.rotate(session, service.find(session, key_id), principal.actor)
    session.commit()
    return {**_out(new), "key": token}
