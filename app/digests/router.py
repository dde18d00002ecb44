"""The weekly digest a person would get, as HTML, for checking what Seam sends."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.clock import utcnow
from app.core.deps import get_session
from app.core.errors import NotFound
from app.core.problems import PROBLEM_RESPONSES
from app.digests import build as digests
from app.digests.charts import for_browser
from app.digests.render import render
from app.journey import service as journeys
from app.loop import queries as loop_queries
from app.scheduler.registry import scheduler_config

router = APIRouter(prefix="/api/v1", tags=["loop"], responses=PROBLEM_RESPONSES)


@router.get("/digests/preview", response_class=HTMLResponse, responses={200: {"content": {"text/html": {}}}})
def digest_preview(
    request: Request,
    to: Annotated[str, Query(min_length=3, max_length=320)],
    kind: Literal["owner", "team", "leadership"] | None = None,
    _: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> HTMLResponse:
    """The HTML of the weekly digest this address would get for the last full week (the first of its
    digests, or the first of `kind`)."""
    zone = scheduler_config(request.app.state.settings).zone
    public_url = request.app.state.settings.public_url
    found = digests.preview(session, journeys.current(session), to, utcnow(), zone, public_url)
    found = [a for a in found if kind is None or a.digest.kind == kind]
    if not found:
        raise NotFound("Nobody in the journey gets a digest at this address.")
    html = for_browser(render(found[0].digest))
    return HTMLResponse(_with_bundles(html, session, found[0].person))


def _with_bundles(html: str, session: Session, person: str) -> str:
    """The preview also shows how this person's reminders of the last 7 days were bundled: one message
    per day at most, and one escalation summary."""
    now = utcnow()
    bundles = loop_queries.reminder_bundles(
        session, journeys.current(session), person, now - timedelta(days=7), now
    )
    label = {"escalations": "escalation summary", "reminders": "reminders"}
    rows = "".join(
        f"<tr><td>{b['day']:%a %d %b}</td><td>{label[b['kind']]}</td>"
        f"<td>{escape(', '.join(f'EI-{i}' for i in b['issues']))}</td></tr>"
        for b in bundles
    )
    section = (
        '<section id="reminder-bundles" style="font-family:sans-serif;font-size:13px;margin:16px;">'
        "<h3>Reminder messages in the last 7 days (one a day at most, everything due in one)</h3>"
        + (
            f"<table><tr><th>day</th><th>message</th><th>issues</th></tr>{rows}</table>"
            if rows
            else "<p>None.</p>"
        )
        + "</section>"
    )
    return html.replace("</body>", section + "</body>") if "</body>" in html else html + section
