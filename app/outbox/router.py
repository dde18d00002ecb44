"""Outbox endpoints: see what is stuck, send it again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core import pagination
from app.core.deps import get_session
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.outbox import service

router = APIRouter(prefix="/api/v1/outbox", tags=["outbox"], responses=PROBLEM_RESPONSES)


class OutboxOut(BaseModel):
    id: int
    kind: str
    dedupe_key: str
    state: str
    attempts: int
    max_attempts: int
    available_at: datetime
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None


class OutboxPage(BaseModel):
    items: list[OutboxOut]
    next_cursor: str | None


@router.get("", response_model=OutboxPage)
def list_outbox(
    state: Literal["pending", "in_flight", "done", "dead", "cancelled"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    _: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    rows = list(service.list_messages(session, state, pagination.decode(cursor), limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    # Payloads are left out on purpose: they may carry customer text.
    return {
        "items": [r.model_dump(exclude={"payload", "lease_until", "locked_by"}) for r in rows],
        "next_cursor": pagination.encode(rows[-1].id or 0) if more and rows else None,
    }


@router.post("/{message_id}/retry", response_model=OutboxOut)
def retry_message(
    message_id: RowId, _: Principal = Depends(require("manage")), session: Session = Depends(get_session)
) -> Any:
    message = service.retry(session, message_id)
    session.commit()
    return message.model_dump(exclude={"payload", "lease_until", "locked_by"})
