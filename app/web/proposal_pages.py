"""`/grouping`: the consolidation pass's merge proposals, for the people who own the stage: two issues
that look like one problem, side by side with their customers' words; merge them or keep them apart.
A rejected pair is never proposed again and moves the stage's threshold (app.routing.proposals)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.deps import get_session
from app.core.errors import DomainError
from app.core.pagination import RowId
from app.feedback.models import FeedbackItem
from app.journey import service as journeys
from app.people.roles import ACT, Viewer
from app.routing import proposals
from app.web.context import signed_in, verify_csrf
from app.web.errors import Forbidden
from app.web.render import message, page

router = APIRouter(include_in_schema=False)
ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
SHOWN = 50
QUOTES = 3
DONE = {
    "merged": "Merged: the second issue's items and customers are now in the first.",
    "kept": "Kept apart.",
}


def _quotes(session: Session, issue_id: int) -> list[str]:
    c = ITEMS.c
    stmt = (
        select(c.text)
        .where(c.issue_id == issue_id, c.text.is_not(None), c.text != "")
        .order_by(c.id.desc())
        .limit(QUOTES * 10)
    )
    # Customers often say the same thing in the same words: show different ones.
    return list(dict.fromkeys(str(t) for t in session.execute(stmt).scalars()))[:QUOTES]


def _pending(request: Request, session: Session, who: Viewer, **extra: object) -> HTMLResponse:
    journey = journeys.current_or_none(session)
    if journey is None:
        return message(request, "No journey yet", "Apply a journey first.", who=who)
    names = {s.key: s.name for s in journey.stages}
    rows = [p for p in proposals.listing(session, "proposed", None, 500) if who.may(ACT, p["stage"])][:SHOWN]
    for p in rows:
        p["stage_name"] = names.get(p["stage"], p["stage"])
        p["keep"]["quotes"] = _quotes(session, p["keep"]["id"])
        p["merge"]["quotes"] = _quotes(session, p["merge"]["id"])
    status = int(str(extra.pop("status", 200)))
    return page(request, "proposals.html", {"proposals": rows, **extra}, who=who, status=status)


@router.get("/grouping", response_class=HTMLResponse)
def proposal_list(
    request: Request,
    done: Annotated[Literal["merged", "kept"] | None, Query()] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    return _pending(request, session, who, notice=DONE.get(done or ""))


@router.post("/grouping/{proposal_id}", dependencies=[Depends(verify_csrf)])
def decide(
    request: Request,
    proposal_id: RowId,
    decision: Annotated[Literal["merge", "keep_apart"], Form()],
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    try:
        row = proposals.get(session, proposal_id)
        if not who.may(ACT, row.stage):
            raise Forbidden(
                f"{who.name}, only the owner or sponsor of this stage (or the CX lead) may decide this.",
                action="grouping.decide",
                target=f"proposal:{proposal_id}",
            )
        if decision == "merge":
            proposals.accept(session, proposal_id, None, Actor(who.actor))
        else:
            proposals.reject(session, proposal_id, Actor(who.actor))
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _pending(request, session, who, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/grouping?done={'merged' if decision == 'merge' else 'kept'}", status_code=303)
