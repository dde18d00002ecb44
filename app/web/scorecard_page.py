"""The moments-of-truth scorecard board at `/scorecard` (app.digests.scorecard): pain points first, each
moment's weekly score drawn as a small SVG line with its numbers in a table below."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.deps import get_session
from app.digests import scorecard
from app.journey import service as journeys
from app.people.roles import Viewer
from app.web.charts import band_line, bars
from app.web.context import signed_in
from app.web.render import message, page

router = APIRouter(include_in_schema=False)


@router.get("/scorecard", response_class=HTMLResponse)
def scorecard_board(
    request: Request, who: Viewer = Depends(signed_in), session: Session = Depends(get_session)
) -> Response:
    journey = journeys.current_or_none(session)
    if journey is None:
        return message(request, "No journey yet", "Apply a journey first: seam journey apply FILE.", who=who)
    card = scorecard.build(session, journey, utcnow())
    ctx = {"journey": journey, "card": card, "line": band_line, "bars": bars}
    return page(request, "scorecard.html", ctx, who=who)
