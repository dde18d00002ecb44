"""The journey board at `/`: one column per stage in journey order, and `/issues` for the digests'
links (the same board, filtered)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.deps import read_session
from app.insights.flags import stage_flags
from app.journey import service as journeys
from app.people.roles import Viewer
from app.web import board_query, views
from app.web.context import signed_in
from app.web.render import message, page

router = APIRouter(include_in_schema=False)
PER_COLUMN = 12
PER_STAGE_PAGE = 50

Key = Annotated[str | None, Query(max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


@router.get("/", response_class=HTMLResponse)
def journey_board(
    request: Request,
    persona: Key = None,
    team: Key = None,
    stage: Key = None,
    source: Literal["customers", "staff"] | None = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=10_000)] = 1,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(read_session),
) -> Response:
    journey = journeys.current_or_none(session)
    if journey is None:
        return message(request, "No journey yet", "Apply a journey first: seam journey apply FILE.", who=who)
    f = board_query.Filters(persona=persona, source=source, team=team, stage=stage)
    per = PER_STAGE_PAGE if stage else PER_COLUMN
    now = utcnow()
    columns = board_query.board(session, journey, f, now, per_column=per, page=page_no if stage else 1)
    ctx = {
        "journey": journey,
        "columns": columns,
        "filters": f,
        "page_no": page_no,
        "per": per,
        # Highlighted: the columns this person owns (a sponsor of every stage would see all lit).
        "mine": {s.key for s in journey.stages if s.owner == who.id},
        "card_title": views.card_title,
        # Significant persona drops and overdue experience checks, per stage (app.insights).
        "flags": stage_flags(session, journey, now),
    }
    return page(request, "board.html", ctx, who=who)


@router.get("/issues", include_in_schema=False)
def issues_list(request: Request) -> Response:
    """The digests link here with `stage` or `team`: the board shows the same selection."""
    query = request.url.query
    return RedirectResponse("/" + (f"?{query}" if query else ""), status_code=303)
