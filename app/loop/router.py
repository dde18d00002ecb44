"""Close-the-loop endpoints: acknowledge, snooze, confirm; the digest preview. (The customer's answer to
"did this fix it for you?" is a page: app.web.links.)"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.clock import utcnow
from app.core.deps import get_session
from app.core.errors import NotFound
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.core.types_api import ApiModel, IsoDatetime
from app.digests import build as digests
from app.digests.render import render
from app.issues import service as issues
from app.issues.router import _detail
from app.issues.schemas import IssueDetail
from app.journey import service as journeys
from app.loop import queries
from app.loop import service as loop
from app.loop.jobs import scheduler_config

router = APIRouter(prefix="/api/v1", tags=["loop"], responses=PROBLEM_RESPONSES)


class SnoozeIn(ApiModel):
    reason: str = Field(min_length=1, max_length=2000)
    until: IsoDatetime


class ConfirmIn(ApiModel):
    reason: str | None = Field(default=None, max_length=2000)


class AccountabilityOut(BaseModel):
    issue_id: int
    status: str
    priority: str | None
    impact_score: float | None
    due_at: datetime | None
    overdue: bool
    acknowledged_at: datetime | None
    snoozed_until: datetime | None
    snooze_reason: str | None
    reminders_sent: int
    shipped_at: datetime | None
    verification_outcome: str | None
    verification_reason: str | None
    confirm_requested_at: datetime | None


@router.get("/issues/{issue_id}/accountability", response_model=AccountabilityOut)
def accountability(
    issue_id: RowId, _: Principal = Depends(require("read")), session: Session = Depends(get_session)
) -> Any:
    """Priority, due date, acknowledgement, snooze, reminders sent and the shipped fix's evidence."""
    return queries.accountability(session, issue_id, utcnow())


@router.post("/issues/{issue_id}/acknowledge", response_model=IssueDetail)
def acknowledge(
    issue_id: RowId,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """The owner has it in hand: reminders so far are settled and escalation starts again."""
    loop.acknowledge(session, journeys.current(session), issue_id, issues.Actor.of(principal), utcnow())
    session.commit()
    return _detail(session, issue_id)


@router.post("/issues/{issue_id}/snooze", response_model=IssueDetail)
def snooze(
    issue_id: RowId,
    body: SnoozeIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """No reminders until `until`; the reason is recorded on the issue."""
    until: datetime = body.until
    loop.snooze(
        session, journeys.current(session), issue_id, body.reason, until, issues.Actor.of(principal), utcnow()
    )
    session.commit()
    return _detail(session, issue_id)


@router.post("/issues/{issue_id}/confirm", response_model=IssueDetail)
def confirm(
    issue_id: RowId,
    body: ConfirmIn | None = None,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Confirm a shipped fix: once its verification window ended with the evidence holding, or earlier
    with a reason. 409 when the evidence says it regressed, or when a needed reason is missing."""
    reason = body.reason if body else None
    loop.confirm(session, journeys.current(session), issue_id, reason, issues.Actor.of(principal), utcnow())
    session.commit()
    return _detail(session, issue_id)


@router.get("/digests/preview", response_class=HTMLResponse, responses={200: {"content": {"text/html": {}}}})
def digest_preview(
    to: Annotated[str, Query(min_length=3, max_length=320)],
    kind: Literal["owner", "team", "leadership"] | None = None,
    _: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> HTMLResponse:
    """The HTML of the weekly digest this address would get for the last full week (the first of its
    digests, or the first of `kind`)."""
    found = digests.preview(session, journeys.current(session), to, utcnow(), scheduler_config().zone)
    found = [a for a in found if kind is None or a.digest.kind == kind]
    if not found:
        raise NotFound("Nobody in the journey gets a digest at this address.")
    return HTMLResponse(render(found[0].digest).html)
