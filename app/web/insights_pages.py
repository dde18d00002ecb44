"""The insights board at `/insights`: persona trends with intervals and flagged drops, the root-cause
roll-up, each stage's shared metrics beside its scores, credited fixes and each stage's record, and the
experience checks. `/checks/{id}` is the short page where the assignee records a check."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.deps import get_session, read_session
from app.core.errors import DomainError
from app.core.pagination import RowId
from app.insights import checks, credits, metrics, personas, root_causes
from app.insights.checks import ResultIn
from app.insights.credits import FAIR
from app.insights.metrics import CAUTION
from app.insights.views import METHOD
from app.journey import service as journeys
from app.people.roles import Viewer
from app.web.charts import band_line
from app.web.context import signed_in, verify_csrf
from app.web.errors import Forbidden
from app.web.render import message, page

router = APIRouter(include_in_schema=False)
SPAN = timedelta(days=183)
CREDIT_DAYS = 30
RECORD_DAYS = 91
StageKey = Annotated[str | None, Query(max_length=100, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


@router.get("/insights", response_class=HTMLResponse)
def insights_board(
    request: Request,
    stage: StageKey = None,
    bucket: Literal["week", "month"] = "month",
    who: Viewer = Depends(signed_in),
    session: Session = Depends(read_session),
) -> Response:
    journey = journeys.current_or_none(session)
    if journey is None:
        return message(request, "No journey yet", "Apply a journey first: seam journey apply FILE.", who=who)
    if stage is not None and journey.stage(stage) is None:
        return message(request, "No such stage", "Pick a stage of the journey.", status=404, who=who)
    now = utcnow()
    trends = personas.trends(session, journey, since=now - SPAN, until=now, bucket=bucket, stage=stage)
    shown = [s for s in journey.stages if stage is None or s.key == stage]
    ctx: dict[str, Any] = {
        "journey": journey,
        "stage": stage,
        "bucket": bucket,
        "trends": trends,
        # All stages at once: the stage level; one stage: its moments as well.
        "series": [s for s in trends.series if stage is not None or s.moment is None],
        "stages": shown,
        "method": METHOD,
        "chart": band_line,
        "causes": root_causes.rollup(session, journey),
        "stage_metrics": [
            sm
            for sm in (metrics.stage_metrics(session, journey, s.key, now - SPAN, now, bucket) for s in shown)
            if sm.metrics
        ],
        "caution": CAUTION,
        "credits": credits.credits(session, journey, now - timedelta(days=CREDIT_DAYS), now),
        "credit_days": CREDIT_DAYS,
        "records": credits.stage_records(session, journey, now - timedelta(days=RECORD_DAYS), now),
        "record_days": RECORD_DAYS,
        "fair": FAIR,
        "overdue_checks": checks.tasks(session, journey, now, "overdue"),
        "open_checks": [v for v in checks.tasks(session, journey, now, "open") if not v.overdue],
    }
    return page(request, "insights.html", ctx, who=who)


def _task_for(session: Session, who: Viewer, task_id: int) -> Any:
    task = checks.get(session, task_id)
    if task.person != who.id and not who.cx_lead:
        raise Forbidden(
            f"{who.name}, this check is assigned to someone else.", action="check", target=f"check:{task_id}"
        )
    return task


@router.get("/checks/{task_id}", response_class=HTMLResponse)
def check_page(
    request: Request,
    task_id: RowId,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(read_session),
) -> Response:
    journey = journeys.current(session)
    task = _task_for(session, who, task_id)
    view = checks.view(journey, task, utcnow())
    if view is None:
        return message(request, "Check removed", "The journey no longer has this check.", status=404, who=who)
    done = request.query_params.get("done") == "1"
    return page(
        request, "check.html", {"v": view, "notice": "Recorded: thank you." if done else None}, who=who
    )


@router.post("/checks/{task_id}", dependencies=[Depends(verify_csrf)])
def record_check(
    request: Request,
    task_id: RowId,
    score: Annotated[int, Form(ge=1, le=5)],
    notes: Annotated[str | None, Form(max_length=4000)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    journey = journeys.current(session)
    task = _task_for(session, who, task_id)
    try:
        checks.record(
            session, journey, task_id, ResultIn(score=score, notes=notes), Actor(who.actor), utcnow()
        )
        session.commit()
    except DomainError as exc:
        session.rollback()
        view = checks.view(journey, task, utcnow())
        return page(request, "check.html", {"v": view, "error": exc.detail}, status=exc.status, who=who)
    return RedirectResponse(f"/checks/{task_id}?done=1", status_code=303)
