"""Close-the-loop endpoints: acknowledge, snooze, confirm; the digest preview. (The customer's answer to
"did this fix it for you?" is a page: app.web.links.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.clock import utcnow
from app.core.deps import get_session
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.core.types_api import ApiModel, IsoDatetime
from app.insights.root_causes import RootCauseIn
from app.issues import queries as issue_queries
from app.issues.schemas import IssueDetail
from app.journey import service as journeys
from app.loop import fixes, queries
from app.loop import service as loop

router = APIRouter(prefix="/api/v1", tags=["loop"], responses=PROBLEM_RESPONSES)


class SnoozeIn(ApiModel):
    reason: str = Field(min_length=1, max_length=2000)
    until: IsoDatetime


class ConfirmIn(ApiModel):
    reason: str | None = Field(default=None, max_length=2000)
    # Required when the journey declares root causes and none was recorded on the issue before.
    root_cause: RootCauseIn | None = None


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
    answers_yes: int = Field(description="customers who said the confirmed fix worked for them")
    answers_no: int = Field(description="customers who said it did not; enough of them reopen the issue")


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
    loop.acknowledge(session, journeys.current(session), issue_id, principal.as_actor(), utcnow())
    session.commit()
    return issue_queries.detail(session, issue_id)


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
        session, journeys.current(session), issue_id, body.reason, until, principal.as_actor(), utcnow()
    )
    session.commit()
    return issue_queries.detail(session, issue_id)


@router.post("/issues/{issue_id}/confirm", response_model=IssueDetail)
def confirm(
    issue_id: RowId,
    request: Request,
    body: ConfirmIn | None = None,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Confirm a shipped fix: once its verification window ended with the evidence holding, or earlier
    with a reason. 409 when the evidence says it regressed, or when a needed reason is missing; 422 when
    the journey declares root causes and the issue has none (give `root_cause`)."""
    reason = body.reason if body else None
    settings = request.app.state.settings
    journey = journeys.current(session)
    cause = body.root_cause if body else None
    fixes.confirm(session, journey, issue_id, reason, principal.as_actor(), utcnow(), settings, cause)
    session.commit()
    return issue_queries.detail(session, issue_id)
