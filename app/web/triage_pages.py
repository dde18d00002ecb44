"""The triage queue: items nobody could place, with the router's best guess; select many, place them on
a stage (and moment) in one POST. Each placement is a correction the router learns from."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlmodel import Session, col

from app.core.actor import Actor
from app.core.deps import get_session
from app.core.errors import DomainError
from app.core.pagination import BodyRowId
from app.feedback import queries
from app.feedback.models import FeedbackItem
from app.intake import bulk
from app.issues import service as issues
from app.issues.lifecycle import ACTIVE
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.journey.schemas import Journey
from app.people.roles import ACT, Viewer
from app.web import views
from app.web.context import signed_in, verify_csrf
from app.web.errors import Forbidden
from app.web.render import message, page

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
# Offered as targets: enough for a stage owner's active issues, few enough for one select.
JOINABLE = 200


def _queue(request: Request, session: Session, who: Viewer, after: int | None, **extra: object) -> Response:
    journey = journeys.current_or_none(session)
    if journey is None:
        return message(request, "No journey yet", "Apply a journey first.", who=who)
    rows = queries.list_items(
        session, state="triage", after=None if after is None else (None, after), limit=PER_PAGE + 1
    )
    total = session.execute(select(func.count()).where(col(FeedbackItem.state) == "triage")).scalar_one()
    stages = {s.key: s.name for s in journey.stages}
    items = []
    for item in rows[:PER_PAGE]:
        guess, sure = views.best_guess(item.placement or {})
        items.append({"item": item, "guess": stages.get(guess or ""), "guess_key": guess, "sure": sure})
    ctx = {
        "items": items,
        "into": _issues_to_join(session, journey, who),
        "total": total,
        "next_after": rows[PER_PAGE - 1].id if len(rows) > PER_PAGE else None,
        "targets": [
            (s.key, s.name, [(m.key, m.name) for m in s.moments])
            for s in journey.stages
            if who.may(ACT, s.key)
        ],
        **extra,
    }
    return page(request, "triage.html", ctx, who=who, status=int(str(extra.get("status", 200))))


def _issues_to_join(
    session: Session, journey: Journey, who: Viewer
) -> list[tuple[str, list[ExperienceIssue]]]:
    """Active issues on the stages this person may place items on, newest evidence first, per stage."""
    mine = [s for s in journey.stages if who.may(ACT, s.key)]
    if not mine:
        return []
    c = ExperienceIssue.__table__.c  # type: ignore[attr-defined]
    stmt = (
        select(ExperienceIssue)
        .where(c.status.in_(sorted(ACTIVE)), c.stage.in_([s.key for s in mine]))
        .order_by(c.last_seen.desc(), c.id.desc())
        .limit(JOINABLE)
    )
    found = list(session.execute(stmt).scalars())
    return [
        (s.name, [i for i in found if i.stage == s.key]) for s in mine if any(i.stage == s.key for i in found)
    ]


@router.get("/triage", response_class=HTMLResponse)
def triage_queue(
    request: Request,
    after: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    placed: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    notice = f"Placed {placed} item{'s' if placed != 1 else ''}." if placed else None
    return _queue(request, session, who, after, notice=notice)


@router.post("/triage", dependencies=[Depends(verify_csrf)])
def triage_place(
    request: Request,
    target: Annotated[str, Form(max_length=210)],
    items: Annotated[list[BodyRowId], Form(max_length=bulk.MAX_ITEMS)],
    reason: Annotated[str | None, Form(max_length=2000)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    chosen = re.fullmatch(r"issue:([1-9][0-9]{0,8})", target)
    into = int(chosen.group(1)) if chosen else None
    try:
        journey = journeys.current(session)
        if into is not None:
            stage, moment = issues.get(session, into).stage, ""
        else:
            stage, _, moment = target.partition("/")
    except DomainError as exc:
        return _queue(request, session, who, None, error=exc.detail, status=exc.status)
    if not who.may(ACT, stage):
        raise Forbidden(
            f"{who.name}, only the owner or sponsor of this stage (or the CX lead) may place items on it.",
            action="triage",
            target=f"stage:{stage}",
        )
    try:
        note = (reason or "").strip() or None
        placed = bulk.triage_many(
            session, journey, items, stage, moment or None, note, Actor(who.actor), into_issue=into
        )
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _queue(request, session, who, None, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/triage?placed={len(placed)}", status_code=303)
