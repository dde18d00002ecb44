"""Routing endpoints: rules, corrections, the learned model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.deps import get_session
from app.core.errors import NotFound
from app.core.problems import PROBLEM_RESPONSES
from app.journey import service as journeys
from app.routing import model_store as routing
from app.routing.models import RoutingModel
from app.routing.schemas import ModelOut, RulesIn, RulesOut

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
    principal: Principal = Depends(require("admin")), session: Session = Depends(get_session)
) -> Any:
    """Trains on the journey's examples and every confirmation now, and puts the model in force."""
    row = routing.train(session, journeys.current(session), actor=principal.actor)
    session.commit()
    return _model_out(session, row)


@router.get("/routing/model", response_model=ModelOut)
def get_model(_: Principal = Depends(require("read")), session: Session = Depends(get_session)) -> Any:
    row = routing.current_row(session)
    if row is None:
        raise NotFound("No routing model has been trained yet: POST /api/v1/routing/train.")
    return _model_out(session, row)
