"""Reading feedback items and the triage queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core import pagination
from app.core.deps import get_session
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.core.types_api import IsoDatetime
from app.feedback import queries
from app.feedback.schemas import FeedbackOut, FeedbackPage

router = APIRouter(prefix="/api/v1", tags=["feedback"], responses=PROBLEM_RESPONSES)

IdemKey = Annotated[
    str | None,
    # The bounds idempotency.run enforces, stated here so that the schema says them too.
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retries with the same key return the first response.",
    ),
]


@router.get("/feedback", response_model=FeedbackPage)
def list_feedback(
    stage: str | None = None,
    issue_id: Annotated[int | None, Query(alias="issue", ge=1, le=pagination.MAX_ID)] = None,
    source: str | None = None,
    state: Annotated[str | None, Query(pattern="^(placed|triage)$")] = None,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    _: Principal = Depends(require("read")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return _page(
        session,
        limit,
        cursor,
        stage=stage,
        issue_id=issue_id,
        source=source,
        state=state,
        since=since,
        until=until,
    )


def _page(session: Session, limit: int, cursor: str | None, **filters: Any) -> dict[str, Any]:
    rows = queries.list_items(session, after_id=pagination.decode(cursor), limit=limit + 1, **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = pagination.encode(rows[-1].id) if more and rows and rows[-1].id else None
    return {"items": [queries.to_out(r) for r in rows], "next_cursor": next_cursor}


# `:int`, so that `/feedback/batch` is no feedback id: a GET there is a 405, not a 422 about the id.
@router.get("/feedback/{feedback_id:int}", response_model=FeedbackOut)
def get_feedback(
    feedback_id: RowId, _: Principal = Depends(require("read")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return queries.to_out(queries.get(session, feedback_id))


@router.get("/triage", response_model=FeedbackPage, tags=["triage"])
def triage_queue(
    source: str | None = None,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    _: Principal = Depends(require("read")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    return _page(session, limit, cursor, state="triage", source=source, since=since, until=until)
