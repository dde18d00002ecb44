"""`/feedback`: what customers said, found by their words, each item with where Seam placed it."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.core.deps import get_session
from app.feedback import search
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.people.roles import Viewer
from app.web.context import signed_in
from app.web.render import message, page

router = APIRouter(include_in_schema=False)
PER_PAGE = 50


@router.get("/feedback", response_class=HTMLResponse)
def feedback_search(
    request: Request,
    q: Annotated[str, Query(max_length=200)] = "",
    stage: Annotated[str, Query(max_length=100)] = "",
    source: Annotated[str | None, Query(max_length=100)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    journey = journeys.current_or_none(session)
    if journey is None:
        return message(request, "No journey yet", "Apply a journey first.", who=who)
    if stage and journey.stage(stage) is None:
        return message(request, "No such stage", f"The journey has no stage '{stage}'.", who=who, status=422)
    words = search.words_of(q)
    found = (
        search.search(
            session, words, stage=stage or None, source=source or None, before_id=before, limit=PER_PAGE
        )
        if words or stage or source
        else None
    )
    kept = {"q": q, "stage": stage, "source": source or ""}
    older = {k: v for k, v in kept.items() if v} | {"before": found.next_before} if found else {}
    issue_ids = {i.issue_id for i in found.items if i.issue_id} if found else set()
    titles = {i: session.get(ExperienceIssue, i) for i in sorted(issue_ids)}
    ctx = {
        "q": q,
        "words": words,
        "stage": stage,
        "source": source or "",
        "stages": [(s.key, s.name) for s in journey.stages],
        "stage_names": {s.key: s.name for s in journey.stages},
        "found": found,
        "older_url": "/feedback?" + urlencode(older) if found and found.next_before else None,
        "issues": {k: v for k, v in titles.items() if v is not None},
    }
    return page(request, "feedback.html", ctx, who=who)
