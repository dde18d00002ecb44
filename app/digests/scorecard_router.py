"""`GET /api/v1/insights/scorecard`: the moments-of-truth scorecard (app.digests.scorecard)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core.clock import as_utc, utcnow
from app.core.deps import get_session
from app.core.problems import PROBLEM_RESPONSES
from app.digests import scorecard
from app.insights.instants import Instant
from app.journey import service as journeys

router = APIRouter(prefix="/api/v1", tags=["insights"], responses=PROBLEM_RESPONSES)


@router.get("/insights/scorecard", response_model=scorecard.Scorecard)
def moments_scorecard(
    until: Instant | None = None,
    days: Annotated[int, Query(ge=7, le=366, description="length of the period")] = scorecard.PERIOD_DAYS,
    _: Principal = Depends(require("read")),
    session: Session = Depends(get_session),
) -> scorecard.Scorecard:
    """The journey's top moments (up to 20), each with its customer volume, score (% of scale), trend
    against the period before, open issues and overdue ones; pain points first (see `order`)."""
    end = as_utc(until) if until is not None else utcnow()
    return scorecard.build(session, journeys.current(session), end, days)
