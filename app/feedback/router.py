"""Reading feedback items and the triage queue."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core import csv_export, pagination
from app.core.deps import get_session, read_engine, read_session
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
    state: Annotated[str | None, Query(pattern="^(placed|triage|pending)$")] = None,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    sort: Annotated[
        Literal["newest", "occurred"] | None,
        Query(
            description="newest: as stored; occurred: by when the customer said it (both newest first). "
            "Default: occurred with since or until (a window walks the occurred index), else newest."
        ),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    _: Principal = Depends(require("read")),
    session: Session = Depends(read_session),
) -> dict[str, Any]:
    """Keyset pages with no total: an exact count over millions of items would cost more than the page."""
    # A window over `occurred_at` read in id order would walk the id index until it reached the window:
    # millions of rows for a week last June.
    chosen = sort or ("occurred" if since is not None or until is not None else "newest")
    return _page(
        session,
        limit,
        cursor,
        sort=chosen,
        stage=stage,
        issue_id=issue_id,
        source=source,
        state=state,
        since=since,
        until=until,
    )


@router.get(
    "/feedback.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV"}},
)
def export_feedback(
    request: Request,
    stage: str | None = None,
    issue_id: Annotated[int | None, Query(alias="issue", ge=1, le=pagination.MAX_ID)] = None,
    source: str | None = None,
    state: Annotated[str | None, Query(pattern="^(placed|triage|pending)$")] = None,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
    _: Principal = Depends(require("read")),
) -> StreamingResponse:
    """Every item the list would page through for the same filters, in its order (by `occurred_at` for a
    window, else newest first), as CSV, streamed page by page; `metadata` and `placement` are JSON in
    their cells."""
    filters: dict[str, Any] = {
        "stage": stage, "issue_id": issue_id, "source": source, "state": state, "since": since, "until": until
    }  # fmt: skip

    sort = "occurred" if since is not None or until is not None else "newest"

    def page(session: Session, after: Any, limit: int) -> tuple[list[list[Any]], Any]:
        rows = queries.list_items(session, sort=sort, after=after, limit=limit, **filters)
        out = [
            list(FeedbackOut.model_validate(queries.to_out(r)).model_dump(mode="json").values()) for r in rows
        ]
        last = rows[-1] if rows else None
        return out, (None if last is None else (last.occurred_at if sort == "occurred" else None, last.id))

    fields = list(FeedbackOut.model_fields)
    return csv_export.response("feedback.csv", fields, csv_export.paged(read_engine(request), page))


def _page(
    session: Session, limit: int, cursor: str | None, sort: str = "newest", **filters: Any
) -> dict[str, Any]:
    after = queries.decode_cursor(cursor, sort)
    rows = queries.list_items(session, sort=sort, after=after, limit=limit + 1, **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = queries.cursor_after(rows[-1], sort) if more and rows else None
    return {"items": [queries.to_out(r) for r in rows], "next_cursor": next_cursor}


# `:int`, so that `/feedback/batch` is no feedback id: a GET there is a 405, not a 422 about the id.
@router.get("/feedback/{feedback_id:rowid}", response_model=FeedbackOut)
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
