"""The issue page and its actions, each a plain POST form (no JavaScript needed).

Every action checks the person's role first: a refusal is a 403 page and an audit row. A service's
refusal (a move the lifecycle forbids, a missing reason) re-renders the page with the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.deps import get_session
from app.core.errors import DomainError, InvalidInput, field_error
from app.core.pagination import RowId
from app.issues import curation
from app.issues import service as issues
from app.journey import service as journeys
from app.journey.schemas import Journey
from app.loop import fixes
from app.loop import service as loop
from app.people.roles import ACT, COMMENT, LEAD, Viewer
from app.web.context import signed_in, verify_csrf
from app.web.errors import Forbidden
from app.web.issue_view import issue_page
from app.web.render import page
from app.web.root_cause_form import cause_choice, cause_options

router = APIRouter(include_in_schema=False)
DONE = {
    "acknowledge": "Acknowledged: the reminders so far are settled.",
    "snooze": "Snoozed: no reminders until the date you chose.",
    "transition": "Moved.",
    "confirm": "Confirmed: the customers who told us are being told.",
    "decline": "Declined, with your reason on the timeline.",
    "comment": "Comment added.",
    "title": "Renamed.",
    "owner": "Handed to the new owner.",
    "merged": "Merged: this issue took in the other one's items.",
    "unmerge": "The merge is undone: the items are back.",
    "split": "Split: the chosen items are a new issue, this one.",
}
Text = Annotated[str, Form(max_length=4000)]
Action = Callable[[Journey, Actor, datetime], Any]


def render_issue(
    request: Request,
    session: Session,
    who: Viewer,
    issue_id: int,
    *,
    error: str | None = None,
    notice: str | None = None,
    status: int = 200,
    all_evidence: bool = False,
    undo: int | None = None,
) -> Response:
    journey = journeys.current(session)
    ctx = issue_page(session, journey, issue_id, who, utcnow(), all_evidence=all_evidence)
    ctx.update(error=error, notice=notice, undo=undo)
    ctx.update(cause_options(session, journey, issue_id))
    return page(request, "issue.html", ctx, status=status, who=who)


@router.get("/issues/{issue_id}", response_class=HTMLResponse)
def issue_detail(
    request: Request,
    issue_id: RowId,
    done: str | None = None,
    evidence: Literal["all"] | None = None,
    undo: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    notice = DONE.get(done or "")
    return render_issue(
        request, session, who, issue_id, notice=notice, all_evidence=evidence == "all", undo=undo
    )


def act(
    request: Request, session: Session, who: Viewer, issue_id: int, need: str, action: str, run: Action
) -> Response:
    """Check the role, run the service, commit once; answer with the page again."""
    issue = issues.get(session, issue_id)
    teams = issues.teams_of(session, [issue_id])[issue_id]
    if not who.may(need, issue.stage, teams, owner=issue.owner):
        what = {
            ACT: "the owner or sponsor of this stage",
            COMMENT: "a contributing team",
            LEAD: "the CX lead",
        }
        raise Forbidden(
            f"{who.name}, you are a {who.role.lower()} here: only {what[need]} (or the CX lead) may do this.",
            action=action,
            target=f"EI-{issue_id}",
        )
    try:
        result = run(journeys.current(session), Actor(who.actor), utcnow())
        session.commit()
    except DomainError as exc:
        session.rollback()
        return render_issue(request, session, who, issue_id, error=exc.detail, status=exc.status)
    # An action may name the page to land on (a merge lands on the issue that absorbed this one).
    target = result if isinstance(result, str) else f"/issues/{issue_id}?done={action}"
    return RedirectResponse(target, status_code=303)


def snooze_until(value: str) -> datetime:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput("Pick the day the snooze ends.", errors=[field_error("until", "a date")]) from None
    return datetime.combine(day, time(8, 0), UTC)


Guarded = [Depends(verify_csrf)]


@router.post("/issues/{issue_id}/acknowledge", dependencies=Guarded)
def acknowledge(
    request: Request,
    issue_id: RowId,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request, session, who, issue_id, ACT, "acknowledge",
        lambda j, a, now: loop.acknowledge(session, j, issue_id, a, now),
    )  # fmt: skip


@router.post("/issues/{issue_id}/snooze", dependencies=Guarded)
def snooze(
    request: Request,
    issue_id: RowId,
    reason: Text,
    until: Annotated[str, Form(max_length=20)],
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request, session, who, issue_id, ACT, "snooze",
        lambda j, a, now: loop.snooze(session, j, issue_id, reason, snooze_until(until), a, now),
    )  # fmt: skip


@router.post("/issues/{issue_id}/transition", dependencies=Guarded)
def transition(
    request: Request,
    issue_id: RowId,
    to: Annotated[str, Form(max_length=20)],
    reason: Annotated[str | None, Form(max_length=4000)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request, session, who, issue_id, ACT, "transition",
        lambda j, a, now: loop.move(session, issue_id, to, (reason or "").strip() or None, a, now),
    )  # fmt: skip


@router.post("/issues/{issue_id}/confirm", dependencies=Guarded)
def confirm(
    request: Request,
    issue_id: RowId,
    reason: Annotated[str | None, Form(max_length=2000)] = None,
    root_cause: Annotated[str | None, Form(max_length=201)] = None,
    cause_reason: Annotated[str | None, Form(max_length=2000)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request, session, who, issue_id, ACT, "confirm",
        lambda j, a, now: fixes.confirm(
            session, j, issue_id, (reason or "").strip() or None, a, now, request.app.state.settings,
            cause_choice(root_cause, cause_reason),
        ),
    )  # fmt: skip


@router.post("/issues/{issue_id}/decline", dependencies=Guarded)
def decline(
    request: Request,
    issue_id: RowId,
    reason: Text,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request, session, who, issue_id, ACT, "decline",
        lambda j, a, now: loop.move(session, issue_id, "declined", reason.strip(), a, now),
    )  # fmt: skip


@router.post("/issues/{issue_id}/comment", dependencies=Guarded)
def comment(
    request: Request,
    issue_id: RowId,
    text: Text,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request, session, who, issue_id, COMMENT, "comment",
        lambda j, a, now: curation.comment(session, issue_id, text, a),
    )  # fmt: skip


@router.post("/issues/{issue_id}/title", dependencies=Guarded)
def retitle(
    request: Request,
    issue_id: RowId,
    title: Annotated[str, Form(max_length=1000)],
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request, session, who, issue_id, ACT, "title",
        lambda j, a, now: curation.rename(session, issue_id, title, a),
    )  # fmt: skip


@router.post("/issues/{issue_id}/owner", dependencies=Guarded)
def reassign(
    request: Request,
    issue_id: RowId,
    owner: Annotated[str, Form(max_length=100)],
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return act(
        request, session, who, issue_id, LEAD, "owner",
        lambda j, a, now: curation.reassign(session, j, issue_id, owner, a),
    )  # fmt: skip
