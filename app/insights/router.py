"""Insight endpoints: persona trends, the root-cause roll-up, an issue's root cause and fixes, shared
metric points (JSON or CSV) and each stage's metrics beside its scores, and credit for confirmed fixes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from app.auth.deps import require
from app.auth.service import Principal
from app.core import csv_export
from app.core.clock import utcnow
from app.core.deps import get_session, read_session
from app.core.errors import InvalidInput, field_error
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.insights import checks, credits, metrics, personas, remedies, root_causes, views
from app.insights.instants import Instant
from app.insights.schemas import (
    CheckTaskOut,
    CheckTasksOut,
    CreditsOut,
    CsvOut,
    FixesOut,
    FixIn,
    FixOut,
    PersonaTrendsOut,
    PointsIn,
    PointsOut,
    ResultIn,
    RootCauseIn,
    RootCauseOut,
    RootCausesOut,
    StageMetricsOut,
)
from app.issues import service as issues
from app.journey import service as journeys
from app.journey.insights import KEY

router = APIRouter(prefix="/api/v1", tags=["insights"], responses=PROBLEM_RESPONSES)
DEFAULT_SPAN = timedelta(days=183)
BucketQ = Annotated[Literal["week", "month"], Query(description="week (from Monday, UTC) or month")]


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    end = until or utcnow()
    start = since or end - DEFAULT_SPAN
    if start >= end:
        raise InvalidInput(
            "`since` must be before `until`.", errors=[field_error("since", "must be before until")]
        )
    if end - start > timedelta(days=3 * 366):
        raise InvalidInput(
            "At most three years at a time.", errors=[field_error("since", "at most 3 years before until")]
        )
    return start, end


def _stage(session: Session, stage: str | None) -> None:
    if stage is not None and journeys.current(session).stage(stage) is None:
        raise InvalidInput("Unknown stage.", errors=[field_error("stage", "not a stage of the journey")])


@router.get("/insights/personas", response_model=PersonaTrendsOut)
def persona_trends(
    stage: Annotated[str | None, Query(max_length=100)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    bucket: BucketQ = "month",
    _: Principal = Depends(require("read")),
    session: Session = Depends(read_session),
) -> Any:
    """Per persona, stage and moment: the figure of each scale per bucket by `occurred_at`, with sample
    sizes and 95 % intervals, and whether the last complete bucket dropped significantly (customers only)."""
    return _trends(session, stage, since, until, bucket)


def _trends(
    session: Session,
    stage: str | None,
    since: datetime | None,
    until: datetime | None,
    bucket: Literal["week", "month"],
) -> dict[str, Any]:
    """The persona trends body, for the JSON and the CSV alike."""
    start, end = _window(since, until)
    _stage(session, stage)
    t = personas.trends(
        session, journeys.current(session), since=start, until=end, bucket=bucket, stage=stage
    )
    return views.trends(t)


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}, "description": "CSV"}}
SERIES_COLUMNS = ("persona", "persona_name", "stage", "stage_name", "moment", "moment_name", "scale", "label")
POINT_COLUMNS = ("start", "n", "value", "low", "high")


@router.get("/insights/personas.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
def persona_trends_csv(
    stage: Annotated[str | None, Query(max_length=100)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    bucket: BucketQ = "month",
    _: Principal = Depends(require("read")),
    session: Session = Depends(read_session),
) -> StreamingResponse:
    """The persona trends of the same filters, one row per series and bucket, with `dropped` true on the
    rows of a series flagged for a significant drop. Computed whole (as the JSON is), then streamed."""
    body = _trends(session, stage, since, until, bucket)
    rows = [
        [*(s[c] for c in SERIES_COLUMNS), *(p[c] for c in POINT_COLUMNS), s["drop"] is not None]
        for s in body["series"]
        for p in s["points"]
    ]
    return csv_export.response("persona-trends.csv", [*SERIES_COLUMNS, *POINT_COLUMNS, "dropped"], rows)


@router.get("/insights/stages/{stage}/metrics.csv", response_class=StreamingResponse, responses=CSV_RESPONSE)
def stage_metrics_csv(
    stage: Annotated[str, Path(pattern=KEY, max_length=100)],
    since: Instant | None = None,
    until: Instant | None = None,
    bucket: BucketQ = "month",
    _: Principal = Depends(require("read")),
    session: Session = Depends(read_session),
) -> StreamingResponse:
    """The stage's customer score (`series` = `score`, % of scale) and each shared metric (`series` = its
    key) per bucket, one row per series and bucket."""
    start, end = _window(since, until)
    m = views.stage_metrics(
        metrics.stage_metrics(session, journeys.current(session), stage, start, end, bucket)
    )
    rows = [["score", "Customer score", "% of scale", c["start"], c["value"], c["n"]] for c in m["scores"]]
    rows += [
        [s["metric"], s["name"], s["unit"], c["start"], c["value"], c["n"]]
        for s in m["metrics"]
        for c in s["cells"]
    ]
    header = ["series", "name", "unit", "start", "value", "n"]
    return csv_export.response(f"{stage}-metrics.csv", header, rows)


@router.get("/insights/root-causes", response_model=RootCausesOut)
def root_cause_rollup(
    _: Principal = Depends(require("read")), session: Session = Depends(read_session)
) -> Any:
    """Which root causes hurt which stages, and how many distinct customers, most customers first."""
    return {"causes": [views.cause(c) for c in root_causes.rollup(session, journeys.current(session))]}


@router.put("/issues/{issue_id}/root-cause", response_model=RootCauseOut)
def set_root_cause(
    issue_id: RowId,
    body: RootCauseIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Files the issue under a cause (and sub-cause) of the journey, or under `unknown` with a reason."""
    row = root_causes.record(
        session, journeys.current(session), issue_id, body, principal.as_actor(), utcnow()
    )
    session.commit()
    return views.root_cause(row)


@router.get("/issues/{issue_id}/fixes", response_model=FixesOut)
def fixes_of(
    issue_id: RowId, _: Principal = Depends(require("read")), session: Session = Depends(read_session)
) -> Any:
    """The issue's root cause, quick fix (mitigation) and long-term fix with its own verification."""
    issues.get(session, issue_id)
    return views.fixes(
        issue_id,
        root_causes.of_issues(session, [issue_id]).get(issue_id),
        remedies.of_issue(session, issue_id),
    )


@router.put("/issues/{issue_id}/fixes/{kind}", response_model=FixOut)
def set_fix(
    issue_id: RowId,
    kind: Literal["mitigation", "long_term"],
    body: FixIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Records the quick fix or the long-term fix; a new ship date starts the long-term verification anew."""
    row = remedies.record(
        session, issue_id, kind, body.description, body.shipped_at, principal.as_actor(), utcnow()
    )
    session.commit()
    return views.fix(row)


@router.post("/issues/{issue_id}/fixes/long_term/verify", response_model=FixOut)
def verify_long_term(
    issue_id: RowId,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Judges the shipped long-term fix on its own evidence: pending, verified or failed (409 if none)."""
    row = remedies.verify_long_term(
        session, journeys.current(session), issue_id, principal.as_actor(), utcnow()
    )
    session.commit()
    return views.fix(row)


@router.post("/metrics", response_model=PointsOut)
def post_metrics(
    body: PointsIn, _: Principal = Depends(require("ingest")), session: Session = Depends(get_session)
) -> Any:
    """Operational metric points; idempotent by (metric, at, source). The whole batch is refused (422,
    naming each field) when a point's metric or source is not in the journey's `metrics`."""
    results = metrics.ingest(session, journeys.current(session), body.points, utcnow())
    session.commit()
    return {"results": results}


@router.post(
    "/metrics/csv",
    response_model=CsvOut,
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
async def post_metrics_csv(
    request: Request, _: Principal = Depends(require("ingest")), session: Session = Depends(get_session)
) -> Any:
    """CSV with columns metric, at, source, value: good rows are stored, bad ones reported by line."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The CSV must be UTF-8.", errors=[field_error("body", "not UTF-8")]) from exc
    if "\x00" in text:
        raise InvalidInput("The CSV holds a NUL character.", errors=[field_error("body", "NUL character")])
    report = metrics.import_csv(session, journeys.current(session), text, utcnow())
    session.commit()
    return views.csv_report(report)


@router.get("/insights/stages/{stage}/metrics", response_model=StageMetricsOut)
def stage_metrics(
    stage: Annotated[str, Path(pattern=KEY, max_length=100)],
    since: Instant | None = None,
    until: Instant | None = None,
    bucket: BucketQ = "month",
    _: Principal = Depends(require("read")),
    session: Session = Depends(read_session),
) -> Any:
    """The stage's shared metrics beside its customer score over the same buckets, with a correlation
    and the caution that goes with it."""
    start, end = _window(since, until)
    return views.stage_metrics(
        metrics.stage_metrics(session, journeys.current(session), stage, start, end, bucket)
    )


@router.get("/insights/credits", response_model=CreditsOut)
def credit(
    since: Instant | None = None,
    until: Instant | None = None,
    _: Principal = Depends(require("read")),
    session: Session = Depends(read_session),
) -> Any:
    """Fixes confirmed in the period with their owners, teams and evidence; and each stage's record."""
    start, end = _window(since, until)
    journey = journeys.current(session)
    return {
        "since": start,
        "until": end,
        "fair_comparison": credits.FAIR,
        "credits": [views.credit(c) for c in credits.credits(session, journey, start, end)],
        "stages": [views.record(r) for r in credits.stage_records(session, journey, start, end)],
    }


@router.get("/insights/checks", response_model=CheckTasksOut)
def check_tasks(
    state: Literal["open", "overdue", "done"] | None = None,
    _: Principal = Depends(require("read")),
    session: Session = Depends(read_session),
) -> Any:
    """Experience check tasks (latest 500), who runs them, and which are overdue."""
    views_ = checks.tasks(session, journeys.current(session), utcnow(), state)
    return {"tasks": [views.check_task(v) for v in views_]}


@router.post("/insights/checks/{task_id}/result", response_model=CheckTaskOut)
def check_result(
    task_id: RowId,
    body: ResultIn,
    principal: Principal = Depends(require("manage")),
    session: Session = Depends(get_session),
) -> Any:
    """Records a check's result as a staff item on its moment (409 when already recorded)."""
    journey = journeys.current(session)
    now = utcnow()
    task = checks.record(session, journey, task_id, body, principal.as_actor(), now)
    session.commit()
    found = checks.view(journey, task, now)
    assert found is not None  # record refuses a task whose check is gone
    return views.check_task(found)
