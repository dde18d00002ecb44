"""Shared stage metrics: operational points teams send (idempotent by metric, time and source), and each
stage's metrics beside its customer scores over the same buckets, with a correlation not to over-read.
Never commits."""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from app.core.clock import as_utc
from app.core.errors import InvalidInput, NotFound, field_error
from app.core.types_api import ApiModel
from app.feedback.models import FeedbackItem
from app.feedback.schemas import SCALE_RANGES
from app.insights import stats
from app.insights.buckets import Bucket, following, instant, span, start_of
from app.insights.instants import Instant
from app.insights.models import MetricPoint
from app.journey.insights import KEY, Metric
from app.journey.schemas import Journey

POINTS = MetricPoint.__table__  # type: ignore[attr-defined]
ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
MAX_POINTS = 1000
CSV_COLUMNS = ("metric", "at", "source", "value")
CAUTION = (
    "A correlation over a handful of time buckets is weak evidence. Both series may follow a third cause "
    "(season, volume, a campaign), and with few buckets large values arise by chance. Read it as a "
    "reason to look closer, not as proof that one drives the other."
)
Outcome = Literal["created", "updated", "unchanged"]


class PointIn(ApiModel):
    metric: str = Field(pattern=KEY, description="a metric key from the journey's metrics")
    at: Instant = Field(description="the time the value describes")
    source: str = Field(pattern=KEY, description="the contributing team's key")
    value: float

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


def _check(journey: Journey, points: list[PointIn], prefix: str = "points") -> None:
    metrics = {m.key: m for m in journey.metrics}
    errors = []
    for n, p in enumerate(points):
        metric = metrics.get(p.metric)
        if metric is None:
            errors.append(field_error(f"{prefix}[{n}].metric", "not a metric the journey declares"))
        elif p.source not in metric.contributors:
            errors.append(field_error(f"{prefix}[{n}].source", f"not a contributor of '{p.metric}'"))
    if errors:
        raise InvalidInput("Some points do not match the journey's metrics.", errors=errors)


def ingest(session: Session, journey: Journey, points: list[PointIn], now: datetime) -> list[Outcome]:
    """Stores the points; a repeat of (metric, at, source) is `unchanged`, or `updated` with a new value.
    Refuses the whole batch, naming each bad field, when any point is not the journey's."""
    _check(journey, points)
    keyed: dict[tuple[str, datetime, str], float] = {}
    for p in points:
        keyed[(p.metric, as_utc(p.at), p.source)] = p.value
    c = POINTS.c
    existing: dict[tuple[str, datetime, str], MetricPoint] = {}
    keys = list(keyed)
    for chunk in range(0, len(keys), 200):
        part = keys[chunk : chunk + 200]
        cond = or_(*(and_(c.metric == m, c.at == a, c.source == s) for m, a, s in part))
        for row in session.execute(select(MetricPoint).where(cond)).scalars():
            existing[(row.metric, as_utc(row.at), row.source)] = row
    done: dict[tuple[str, datetime, str], Outcome] = {}
    for key, value in keyed.items():
        row = existing.get(key)
        if row is None:
            session.add(MetricPoint(metric=key[0], at=key[1], source=key[2], value=value, received_at=now))
            done[key] = "created"
        elif row.value != value:
            row.value, row.received_at = value, now
            session.add(row)
            done[key] = "updated"
        else:
            done[key] = "unchanged"
    return [done[(p.metric, as_utc(p.at), p.source)] for p in points]


@dataclass
class CsvReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, str | int]] = field(default_factory=list)


def import_csv(session: Session, journey: Journey, text: str, now: datetime) -> CsvReport:
    """Columns metric, at, source, value. Good rows are stored; bad rows are reported by line and field."""
    try:
        return _import_rows(session, journey, text, now)
    except csv.Error as exc:
        raise InvalidInput("The CSV cannot be read.", errors=[field_error("body", str(exc)[:200])]) from exc


def _import_rows(session: Session, journey: Journey, text: str, now: datetime) -> CsvReport:
    reader = csv.DictReader(io.StringIO(text))
    missing = [col for col in CSV_COLUMNS if col not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            "The CSV lacks required columns.",
            errors=[field_error(f"columns.{m}", "missing") for m in missing],
        )
    report = CsvReport()
    good: list[PointIn] = []
    for row in reader:
        line = reader.line_num
        try:
            point = PointIn.model_validate({k: row.get(k) for k in CSV_COLUMNS})
            _check(journey, [point], prefix=f"line {line}")
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            report.rejected.append({"line": line, "field": where, "message": err["msg"]})
            continue
        except InvalidInput as exc:
            e = exc.errors[0]
            report.rejected.append(
                {"line": line, "field": e["field"].split(".")[-1], "message": e["message"]}
            )
            continue
        good.append(point)
        if len(good) > 100_000:
            raise InvalidInput("Too many rows.", errors=[field_error("body", "at most 100000 rows")])
    if good:
        for outcome in ingest(session, journey, good, now):
            setattr(report, outcome, getattr(report, outcome) + 1)
    return report


@dataclass(frozen=True)
class Cell:
    start: date
    value: float | None
    n: int


@dataclass
class MetricSeries:
    metric: Metric
    cells: list[Cell]
    correlation: float | None
    pairs: int

    @property
    def latest(self) -> float | None:
        values = [c.value for c in self.cells if c.value is not None]
        return values[-1] if values else None

    @property
    def change(self) -> float | None:
        values = [c.value for c in self.cells if c.value is not None]
        return values[-1] - values[-2] if len(values) >= 2 else None

    @property
    def improving(self) -> bool | None:
        ch = self.change
        if ch is None or ch == 0:
            return None
        return (ch > 0) == self.metric.higher_is_better


@dataclass
class StageMetrics:
    stage: str
    stage_name: str
    bucket: Bucket
    scores: list[Cell]
    metrics: list[MetricSeries]
    caution: str = CAUTION


def scores_by_stage(
    session: Session, since: datetime, until: datetime, bucket: Bucket, stage: str | None = None
) -> dict[str, list[Cell]]:
    """Each stage's customer score per bucket (or only `stage`'s): the mean as % of each item's scale,
    staff left out. One query per bucket, grouped by score in SQL, for every stage at once."""
    c = ITEMS.c
    sums: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    starts = span(since, until, bucket)
    for b in starts:
        stmt = (
            select(c.stage, c.scale, c.score, func.count())
            .where(
                c.stage.is_not(None),
                c.staff.is_(False),
                c.score.is_not(None),
                c.scale.in_(list(SCALE_RANGES)),
                c.occurred_at >= max(since, instant(b)),
                c.occurred_at < min(until, instant(following(b, bucket))),
            )
            .group_by(c.stage, c.scale, c.score)
        )
        if stage is not None:
            stmt = stmt.where(c.stage == stage)
        for stage_key, scale, score, n in session.execute(stmt):
            lo, hi = SCALE_RANGES[scale]
            cell = sums[stage_key][b]
            cell[0] += int(n) * 100 * (float(score) - lo) / (hi - lo)
            cell[1] += int(n)
    out = {}
    for stage_key, by_bucket in sums.items():
        cells = []
        for b in starts:
            total, n = by_bucket.get(b, (0.0, 0))
            cells.append(Cell(b, total / n if n else None, int(n)))
        out[stage_key] = cells
    return out


def stage_scores(
    session: Session, stage: str, since: datetime, until: datetime, bucket: Bucket
) -> list[Cell]:
    """The stage's customer score per bucket: the mean as % of each item's scale (staff left out)."""
    return scores_of(scores_by_stage(session, since, until, bucket, stage), stage, since, until, bucket)


def scores_of(
    by_stage: dict[str, list[Cell]], stage: str, since: datetime, until: datetime, bucket: Bucket
) -> list[Cell]:
    """`stage`'s cells from a `scores_by_stage` read; a stage without scores in it has every bucket
    empty."""
    found = by_stage.get(stage)
    return found if found is not None else [Cell(b, None, 0) for b in span(since, until, bucket)]


def stage_metrics(
    session: Session,
    journey: Journey,
    stage: str,
    since: datetime,
    until: datetime,
    bucket: Bucket,
    scores: list[Cell] | None = None,
) -> StageMetrics:
    """The stage's score and each of its business metrics per bucket, with their correlation; `scores`
    when the caller has read every stage's at once (`scores_by_stage`)."""
    st = journey.stage(stage)
    if st is None:
        # The stage is the resource the path names: one the journey lacks is not found.
        raise NotFound("Unknown stage.", errors=[field_error("path.stage", "not a stage of the journey")])
    if scores is None:
        scores = stage_scores(session, stage, since, until, bucket)
    mine = [m for m in journey.metrics if stage in m.stages]
    c = POINTS.c
    values: dict[str, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    if mine:
        rows = session.execute(
            select(c.metric, c.at, c.value).where(
                c.metric.in_([m.key for m in mine]), c.at >= since, c.at < until
            )
        )
        for metric, at, value in rows:
            values[metric][start_of(at, bucket)].append(float(value))
    starts = span(since, until, bucket)
    series = []
    for m in mine:
        cells = []
        for b in starts:
            v = values[m.key].get(b, [])
            cells.append(Cell(b, sum(v) / len(v) if v else None, len(v)))
        pairs = [
            (mc.value, sc.value)
            for mc, sc in zip(cells, scores, strict=True)
            if mc.value is not None and sc.value is not None
        ]
        r = stats.pearson([p[0] for p in pairs], [p[1] for p in pairs])
        series.append(MetricSeries(metric=m, cells=cells, correlation=r, pairs=len(pairs)))
    return StageMetrics(stage=stage, stage_name=st.name, bucket=bucket, scores=scores, metrics=series)
