"""Feedback in, and people's placement decisions: parse, authenticate, call intake, commit once."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import ConfigDict, Field
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core import links
from app.core.deps import get_session
from app.core.errors import InvalidInput, field_error
from app.core.pagination import BodyRowId, RowId
from app.core.problems import PROBLEM_RESPONSES
from app.core.types_api import ApiModel
from app.feedback import queries
from app.feedback.schemas import (
    BatchIn,
    BatchOut,
    DuplicateOut,
    FeedbackIn,
    FeedbackOut,
    IngestResult,
    TriageDecision,
)
from app.intake import bulk, idempotency, ingest
from app.intake.triage import triage
from app.journey import service as journeys
from app.routing.schemas import RouteIn

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


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackOut,
    responses={
        **links.answered(
            201,
            "Stored and placed.",
            GetFeedback=links.to(
                "/api/v1/feedback/{feedback_id}", "GET", "The stored item.", feedback_id="$response.body#/id"
            ),
            GetIssue=links.to(
                "/api/v1/issues/{issue_id}",
                "GET",
                "The issue it joined.",
                issue_id="$response.body#/issue_id",
            ),
            RouteFeedback=links.to(
                "/api/v1/feedback/{feedback_id}/route",
                "POST",
                "Correct its placement.",
                feedback_id="$response.body#/id",
            ),
        ),
        200: {
            "model": FeedbackOut | DuplicateOut,
            "description": "Already stored (same source and external id): the stored item, or only its id "
            "for a key without the read scope",
        },
    },
)
def post_feedback(
    body: FeedbackIn,
    request: Request,
    idempotency_key: IdemKey = None,
    principal: Principal = Depends(require("ingest")),
    session: Session = Depends(get_session),
) -> JSONResponse:
    def work() -> tuple[int, dict[str, Any]]:
        journey = journeys.current_or_none(session)
        (result,) = ingest.ingest(session, journey, [(0, body)], principal.as_actor(), defer=defer)
        assert result.id is not None
        if result.status != "created" and not principal.allows("read"):
            # An ingest-only key (a survey tool's) must not read back what others stored.
            return 200, DuplicateOut(id=result.id).model_dump(mode="json")
        item = queries.to_out(queries.get(session, result.id))
        return (201 if result.status == "created" else 200), jsonable_encoder(item)

    defer = request.app.state.settings.placement == "deferred"
    payload = body.model_dump(mode="json")
    if not defer:
        ingest.prepare([body])
    status, out = idempotency.run(session, principal, idempotency_key, payload, work)
    return JSONResponse(out, status_code=status)


@router.post("/feedback/batch", response_model=BatchOut)
def post_batch(
    body: BatchIn,
    request: Request,
    idempotency_key: IdemKey = None,
    principal: Principal = Depends(require("ingest")),
    session: Session = Depends(get_session),
) -> JSONResponse:
    limit = request.app.state.settings.batch_max_items
    if len(body.items) > limit:
        raise InvalidInput(
            f"At most {limit} items per batch.", errors=[field_error("items", f"more than {limit}")]
        )

    good, bad = ingest.validate_raw(body.items)
    defer = request.app.state.settings.placement == "deferred"
    if not defer:
        ingest.prepare([item for _, item in good])

    def work() -> tuple[int, dict[str, Any]]:
        journey = journeys.current_or_none(session)
        results = ingest.ingest(session, journey, good, principal.as_actor(), defer=defer) + bad
        results.sort(key=lambda r: r.index)
        if not principal.allows("read"):
            results = [_without_placement(r) for r in results]
        out = BatchOut(
            created=sum(r.status == "created" for r in results),
            duplicates=sum(r.status == "duplicate" for r in results),
            rejected=len(bad),
            results=results,
        )
        return 200, out.model_dump(mode="json")

    status, out = idempotency.run(session, principal, idempotency_key, body.items, work)
    return JSONResponse(out, status_code=status)


def _without_placement(result: IngestResult) -> IngestResult:
    """A duplicate's issue and state belong to the stored item, which a key without read may not see."""
    if result.status != "duplicate":
        return result
    return result.model_copy(update={"issue_id": None, "state": None})


class BulkTriageIn(ApiModel):
    # Exactly one of stage and issue, as the endpoint checks; said in the schema too.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["stage"], "properties": {"stage": {"type": "string"}}},
                {"required": ["issue"], "properties": {"issue": {"type": "integer"}}},
            ]
        },
    )

    items: list[BodyRowId] = Field(min_length=1, max_length=bulk.MAX_ITEMS, description="Feedback item ids.")
    stage: str | None = Field(
        default=None, min_length=1, max_length=100, description="Each item joins its most similar issue here."
    )
    moment: str | None = Field(default=None, max_length=100)
    issue: BodyRowId | None = Field(
        default=None, description="Instead of a stage: every item joins this issue (its stage and moment)."
    )
    reason: str | None = Field(default=None, max_length=2000)


class BulkTriageOut(ApiModel):
    items: list[FeedbackOut]


@router.post("/triage/bulk", response_model=BulkTriageOut, tags=["triage"])
def triage_bulk(
    body: BulkTriageIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Place many items on one stage (and moment), or into one issue, at once: all of them, or none (the
    error names the first item that could not be placed). Each placement is a correction the router
    learns from."""
    if (body.stage is None) == (body.issue is None):
        raise InvalidInput(
            "Give a stage or an issue, not both.", errors=[field_error("stage", "give stage or issue")]
        )
    placed = bulk.triage_many(
        session,
        journeys.current(session),
        body.items,
        body.stage or "",
        body.moment,
        body.reason,
        principal.as_actor(),
        into_issue=body.issue,
    )
    session.commit()
    return {"items": [queries.to_out(i) for i in placed]}


# `:int`, so that `/triage/bulk` never reaches this route whatever the order of declaration.
@router.post("/triage/{feedback_id:rowid}", response_model=FeedbackOut, tags=["triage"])
def triage_item(
    feedback_id: RowId,
    body: TriageDecision,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    journey = journeys.current(session)
    item = triage(session, journey, feedback_id, body.stage, body.moment, body.reason, principal.as_actor())
    session.commit()
    return queries.to_out(item)


@router.post("/feedback/{feedback_id}/route", response_model=FeedbackOut, tags=["feedback"])
def route_item(
    feedback_id: RowId,
    body: RouteIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """A person corrects the item's stage: it moves (with its issue membership) and trains the router."""
    journey = journeys.current(session)
    item = triage(
        session,
        journey,
        feedback_id,
        body.stage,
        body.moment,
        body.reason,
        principal.as_actor(),
        method="correction",
    )
    session.commit()
    return queries.to_out(item)
