"""Routing endpoints: rules, corrections, the learned model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.deps import get_session
from app.core.errors import NotFound
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.journey import service as journeys
from app.routing import model_store as routing
from app.routing import proposals, threshold_store
from app.routing.embedding import encoder_status
from app.routing.models import RoutingModel
from app.routing.schemas import DecisionIn, GroupingOut, ModelOut, ProposalOut, RulesIn, RulesOut
from app.routing.vectors import encoder_name as vectors_name

router = APIRouter(prefix="/api/v1", tags=["routing"], responses=PROBLEM_RESPONSES)


def _rules(session: Session) -> dict[str, Any]:
    row = journeys.current_row(session)
    if row is None:
        raise NotFound("No journey has been applied yet.")
    return {"journey_version": row.version, "rules": row.document.get("rules", [])}


@router.get("/routing/rules", response_model=RulesOut)
def get_rules(_: Principal = Depends(require("read")), session: Session = Depends(get_session)) -> Any:
    return _rules(session)


@router.put("/routing/rules", response_model=RulesOut)
def put_rules(
    body: RulesIn, principal: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> Any:
    """Replaces the rules: stored as a new journey version, refused whole with every problem by path."""
    row = journeys.current_row(session)
    if row is None:
        raise NotFound("No journey has been applied yet: rules live in the journey.")
    journeys.apply(session, {**row.document, "rules": body.rules}, actor=principal.actor)
    session.commit()
    return _rules(session)


def _model_out(session: Session, row: RoutingModel) -> dict[str, Any]:
    journey = journeys.current(session)
    return {
        "version": row.version,
        "created_at": row.created_at,
        "created_by": row.created_by,
        "examples": row.examples,
        "confirmations_through": row.confirmations_through,
        "metrics": row.metrics,
        "confidence_threshold": journey.routing.confidence_threshold,
        "retrain_after": journey.routing.retrain_after,
        "waiting_confirmations": routing.waiting_confirmations(session, row),
    }


@router.post("/routing/train", response_model=ModelOut)
def train_now(
    request: Request,
    principal: Principal = Depends(require("admin")),
    session: Session = Depends(get_session),
) -> Any:
    """Trains on the journey's examples and every confirmation now, and puts the model in force. The
    model fits with no write lock held, so ingest goes on meanwhile."""
    row = routing.train_apart(request.app.state.engine, actor=principal.actor)
    return _model_out(session, row)


@router.get("/routing/model", response_model=ModelOut)
def get_model(_: Principal = Depends(require("read")), session: Session = Depends(get_session)) -> Any:
    row = routing.current_row(session)
    if row is None:
        raise NotFound("No routing model has been trained yet: POST /api/v1/routing/train.")
    return _model_out(session, row)


@router.get("/grouping", response_model=GroupingOut)
def get_grouping(_: Principal = Depends(require("read")), session: Session = Depends(get_session)) -> Any:
    """Which encoder groups feedback, and each stage's calibrated threshold (with how it was chosen)."""
    status = encoder_status()
    found = threshold_store.latest(session, vectors_name()) if status["loaded"] else None
    return {
        "encoder": status,
        "index": "vectors" if status["loaded"] else "tfidf",
        "calibration_id": found.id if found else None,
        "stages": found.stages if found else {},
    }


@router.get("/grouping/proposals", response_model=list[ProposalOut])
def list_proposals(
    status: Literal["proposed", "accepted", "rejected", "stale"] | None = "proposed",
    stage: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    _: Principal = Depends(require("read")),
    session: Session = Depends(get_session),
) -> Any:
    """Issues the consolidation pass found alike, most similar first, for a person to decide."""
    return proposals.listing(session, status, stage, limit)


@router.post("/grouping/proposals/{proposal_id}/accept", response_model=ProposalOut)
def accept_proposal(
    proposal_id: RowId,
    body: DecisionIn | None = None,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Merges the proposal's second issue into its first, as a person's merge."""
    row = proposals.accept(session, proposal_id, body.reason if body else None, principal.as_actor())
    session.commit()
    return proposals.out(session, row)


@router.post("/grouping/proposals/{proposal_id}/reject", response_model=ProposalOut)
def reject_proposal(
    proposal_id: RowId,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Keeps the issues apart; the pair is not proposed again, and the stage's threshold learns from it."""
    row = proposals.reject(session, proposal_id, principal.as_actor())
    session.commit()
    return proposals.out(session, row)
