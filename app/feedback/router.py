"""Feedback and triage endpoints: parse, authenticate, call the service, commit once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core import pagination
from app.core.deps import get_session
from app.core.errors import InvalidInput, field_error
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.core.settings import get_settings
from app.core.types_api import IsoDatetime
from app.feedback import idempotency
from app.feedback import service as feedback
from app.feedback.schemas import BatchIn, BatchOut, FeedbackIn, FeedbackOut, FeedbackPage, TriageDecision
from app.journey import service as journeys

router = APIRouter(prefix="/api/v1", tags=["feedback"], responses=PROBLEM_RESPONSES)

IdemKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Retries with the same key return the first response."),
]


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={200: {"model": FeedbackOut, "description": "Already stored (same source and external id)"}},
)
def post_feedback(
    body: FeedbackIn,
    idempotency_key: IdemKey = None,
    principal: Principal = Depends(require("ingest")),
    session: Session = Depends(get_session),
) -> JSONResponse:
    def work() -> tuple[int, dict[str, Any]]:
        journey = journeys.current_or_none(session)
        (result,) = feedback.ingest(session, journey, [(0, body)], principal.as_actor())
        assert result.id is not None
        item = feedback.to_out(feedback.get(session, result.id))
        return (201 if result.status == "created" else 200), jsonable_encoder(item)

    payload = body.model_dump(mode="json")
    status, out = idempotency.run(session, principal, idempotency_key, payload, work)
    return JSONResponse(out, status_code=status)


@router.post("/feedback/batch", response_model=BatchOut)
def post_batch(
    body: BatchIn,
    idempotency_key: IdemKey = None,
    principal: Principal = Depends(require("ingest")),
    session: Session = Depends(get_session),
) -> JSONResponse:
    limit = get_settings().batch_max_items
    if len(body.items) > limit:
        raise InvalidInput(
            f"At most {limit} items per batch.", errors=[field_error("items", f"more than {limit}")]
        )

    def work() -> tuple[int, dict[str, Any]]:
        good, bad = feedback.validate_raw(body.items)
        journey = journeys.current_or_none(session)
        results = feedback.ingest(session, journey, good, principal.as_actor()) + bad
        results.sort(key=lambda r: r.index)
        out = BatchOut(
            created=sum(r.status == "created" for r in results),
            duplicates=sum(r.status == "duplicate" for r in results),
            rejected=len(bad),
            results=results,
        )
        return 200, out.model_dump(mode="json")

    status, out = idempotency.run(session, principal, idempotency_key, body.items, work)
    return JSONResponse(out, status_code=status)


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
    rows = feedback.list_items(session, after_id=pagination.decode(cursor), limit=limit + 1, **filters)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = pagination.encode(rows[-1].id) if more and rows and rows[-1].id else None
    return {"items": [feedback.to_out(r) for r in rows], "next_cursor": next_cursor}


@router.get("/feedback/{feedback_id}", response_model=FeedbackOut)
def get_feedback(
    feedback_id: RowId, _: Principal = Depends(require("read")), session: Session = Depends(get_session)
) -> dict[str, Any]:
    return feedback.to_out(feedback.get(session, feedback_id))


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


@router.post("/triage/{feedback_id}", response_model=FeedbackOut, tags=["triage"])
def triage_item(
    feedback_id: RowId,
    body: TriageDecision,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    journey = journeys.current(session)
    item = feedback.triage(
        session, journey, feedback_id, body.stage, body.moment, body.reason, principal.as_actor()
    )
    session.commit()
    return feedback.to_out(item)
