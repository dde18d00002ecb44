"""The triage queue: items nobody could place, with the router's best guess; select many, place them on
a stage (and moment) in one POST. Each placement is a correction the router learns from."""

from __future__ import annotations

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
from app.journey import service as journeys
from app.people.roles import ACT, Viewer
from app.web import views
from app.web.context import signed_in, verify_csrf
from app.web.errors import Forbidden
from app.web.render import message, page

router = APIRouter(include_in_schema=False)
PER_PAGE = 50


def _queue(request: Request, session: Session, who: Viewer, after: int | None, **extra: object) -> Response:
    journey = journeys.current_or_none(session)
    if journey is None:
        return message(request, "No journey yet", "Apply a journey first.", who=who)
    rows = queries.list_items(session, state="triage", after_id=after, limit=PER_PAGE + 1)
    total = session.execute(select(func.count()).where(col(FeedbackItem.state) == "triage")).scalar_one()
    stages = {s.key: s.name for s in journey.stages}
    items = []
    for item in rows[:PER_PAGE]:
        guess, sure = views.best_guess(item.placement or {})
        items.append({"item": item, "guess": stages.get(guess or ""), "guess_key": guess, "sure": sure})
    ctx = {
        "items": items,
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
    stage, _, moment = target.partition("/")
    if not who.may(ACT, stage):
        raise Forbidden(
            f"{who.name}, only the owner or sponsor of this stage (or the CX lead) may place items on it.",
            action="triage",
            target=f"stage:{stage}",
        )
    try:
        journey = journeys.current(session)
        placed = bulk.triage_many(
            session, journey, items, stage, moment or None, (reason or "").strip() or None, Actor(who.actor)
        )
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _queue(request, session, who, None, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/triage?placed={len(placed)}", status_code=303)
