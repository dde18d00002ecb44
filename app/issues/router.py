"""Experience issue endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core import csv_export, links, pagination
from app.core.deps import get_session, read_engine, read_session
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.issues import queries
from app.issues import service as issues
from app.issues.schemas import EventPage, IssueDetail, IssueOut, IssuePage, MergeIn, Status, TransitionIn

router = APIRouter(prefix="/api/v1/issues", tags=["issues"], responses=PROBLEM_RESPONSES)


@router.get(
    "",
    response_model=IssuePage,
    responses=links.answered(
        200,
        "A page of issues.",
        NextPage=links.to(
            "/api/v1/issues",
            "GET",
            "The next page, in the same sort.",
            cursor="$response.body#/next_cursor",
            sort="$request.query.sort",
        ),
    ),
)
def list_issues(
    stage: str | None = None,
    status: Status | None = None,
    owner: str | None = None,
    team: str | None = None,
    sort: Literal["impact", "age", "recent"] = "impact",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    _: Principal = Depends(require("read")),
    session: Session = Depends(read_session),
) -> dict[str, Any]:
    after = pagination.decode_key(cursor, sort, queries.SORTS[sort][2])
    rows = queries.list_issues(
        session, stage=stage, status=status, owner=owner, team=team, sort=sort, after=after, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": queries.cursor_after(rows[-1], sort) if more else None}


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}, "description": "CSV"}}


@router.get(".csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_issues(
    request: Request,
    stage: str | None = None,
    status: Status | None = None,
    owner: str | None = None,
    team: str | None = None,
    sort: Literal["impact", "age", "recent"] = "impact",
    _: Principal = Depends(require("read")),
) -> StreamingResponse:
    """Every issue the list would page through for the same filters and sort, as CSV (one column per
    field of the list's items), streamed page by page."""
    fields = list(IssueOut.model_fields)

    def page(session: Session, after: Any, limit: int) -> tuple[list[list[Any]], Any]:
        rows = queries.list_issues(
            session, stage=stage, status=status, owner=owner, team=team, sort=sort, after=after, limit=limit
        )
        out = [list(IssueOut.model_validate(r).model_dump(mode="json").values()) for r in rows]
        last = (
            pagination.decode_key(queries.cursor_after(rows[-1], sort), sort, queries.SORTS[sort][2])
            if rows
            else None
        )
        return out, last

    return csv_export.response("issues.csv", fields, csv_export.paged(read_engine(request), page))


@router.get(
    "/{issue_id}",
    response_model=IssueDetail,
    responses=links.answered(
        200,
        "The issue.",
        Transition=links.to(
            "/api/v1/issues/{issue_id}/transitions", "POST", "Move it.", issue_id="$response.body#/id"
        ),
        Comment=links.to(
            "/api/v1/issues/{issue_id}/comments", "POST", "Comment on it.", issue_id="$response.body#/id"
        ),
        Events=links.to(
            "/api/v1/issues/{issue_id}/events", "GET", "Its history.", issue_id="$response.body#/id"
        ),
        Contributions=links.to(
            "/api/v1/issues/{issue_id}/contributions",
            "GET",
            "The teams asked to help.",
            issue_id="$response.body#/id",
        ),
    ),
)
def get_issue(
    issue_id: RowId, _: Principal = Depends(require("read")), session: Session = Depends(get_session)
) -> Any:
    return queries.detail(session, issue_id)


@router.post("/{issue_id}/transitions", response_model=IssueDetail)
def transition_issue(
    issue_id: RowId,
    body: TransitionIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    issues.transition(session, issue_id, body.to, body.reason, principal.as_actor())
    session.commit()
    return queries.detail(session, issue_id)


@router.post("/{issue_id}/merge", response_model=IssueDetail)
def merge_issue(
    issue_id: RowId,
    body: MergeIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Merges this issue into `into`; returns the issue that absorbed it."""
    target = issues.merge(session, issue_id, body.into, body.reason, principal.as_actor())
    session.commit()
    return queries.detail(session, target.id or body.into)


@router.get("/{issue_id}/events", response_model=EventPage)
def issue_events(
    issue_id: RowId,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    _: Principal = Depends(require("read")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    issues.get(session, issue_id)
    rows = queries.events(session, issue_id, pagination.decode(cursor), limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [r.model_dump() for r in rows],
        "next_cursor": pagination.encode(rows[-1].id or 0) if more and rows else None,
    }


__all__ = ["IssueOut", "router"]
