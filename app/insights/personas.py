"""Persona trends: per persona, stage (and moment) and scale, the figure per time bucket with its 95 %
interval, and whether the latest complete bucket dropped significantly from the one before it
(app.insights.stats); the bucket still filling is shown but not judged.
Staff checks are left out: only customers' scores count."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlmodel import Session

from app.feedback.models import FeedbackItem
from app.insights import stats
from app.insights.buckets import Bucket, following, instant, span
from app.journey.schemas import Journey

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Point:
    start: date
    n: int
    value: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Flag:
    significant: bool
    before: date
    after: date
    change: float
    p_value: float | None
    test: str
    reason: str


@dataclass
class Series:
    persona: str | None
    persona_name: str
    stage: str
    stage_name: str
    moment: str | None
    moment_name: str | None
    scale: str
    figure: stats.Figure
    label: str
    points: list[Point] = field(default_factory=list)
    drop: Flag | None = None

    def compared(self) -> tuple[Point, Point] | None:
        """The two buckets the drop test compared (the last two complete ones)."""
        if self.drop is None:
            return None
        by_start = {p.start: p for p in self.points}
        return by_start[self.drop.before], by_start[self.drop.after]


@dataclass(frozen=True)
class Trends:
    bucket: Bucket
    since: datetime
    until: datetime
    series: list[Series]

    @property
    def drops(self) -> list[Series]:
        return [s for s in self.series if s.drop is not None and s.drop.significant]


Key = tuple[str | None, str, str | None, str]


def scores(
    session: Session, since: datetime, until: datetime, bucket: Bucket, stage: str | None = None
) -> dict[Key, dict[date, list[float]]]:
    """Customers' scores keyed (persona, stage, moment, scale) -> bucket start -> scores; each item counts
    at its stage level (moment None) and at its moment. One query per bucket, grouped by score in SQL, so
    the rows sent are bounded by the distinct scores, not by the items."""
    c = ITEMS.c
    out: dict[Key, dict[date, list[float]]] = defaultdict(lambda: defaultdict(list))
    for start in span(since, until, bucket):
        stmt = (
            select(c.persona, c.stage, c.moment, c.scale, c.score, func.count())
            .where(
                c.staff.is_(False),
                c.score.is_not(None),
                c.stage.is_not(None),
                c.scale.in_(list(stats.FIGURE_OF_SCALE)),
                c.occurred_at >= max(since, instant(start)),
                c.occurred_at < min(until, instant(following(start, bucket))),
            )
            .group_by(c.persona, c.stage, c.moment, c.scale, c.score)
        )
        if stage is not None:
            stmt = stmt.where(c.stage == stage)
        for persona, stage_key, moment, scale, score, n in session.execute(stmt):
            values = [float(score)] * int(n)
            out[(persona, stage_key, None, scale)][start].extend(values)
            if moment is not None:
                out[(persona, stage_key, moment, scale)][start].extend(values)
    return out


def trends(
    session: Session,
    journey: Journey,
    *,
    since: datetime,
    until: datetime,
    bucket: Bucket = "month",
    stage: str | None = None,
    min_sample: int = stats.MIN_SAMPLE,
) -> Trends:
    raw = scores(session, since, until, bucket, stage)
    starts = span(since, until, bucket)
    personas = {p.key: p.name for p in journey.personas}
    series = []
    for key in sorted(raw, key=_order):
        persona, stage_key, moment_key, scale = key
        st = journey.stage(stage_key)
        if st is None:
            continue
        moment = journey.moment(stage_key, moment_key) if moment_key else None
        by_bucket = raw[key]
        figure = stats.FIGURE_OF_SCALE[scale]
        s = Series(
            persona=persona,
            persona_name=personas.get(persona, persona) if persona else "no persona",
            stage=stage_key,
            stage_name=st.name,
            moment=moment_key,
            moment_name=moment.name if moment else None,
            scale=scale,
            figure=figure,
            label=stats.FIGURE_LABELS[figure],
        )
        estimates = [stats.estimate(figure, by_bucket.get(b, [])) for b in starts]
        for b, e in zip(starts, estimates, strict=True):
            s.points.append(
                Point(b, 0, None, None, None) if e is None else Point(b, e.n, e.value, e.low, e.high)
            )
        # The drop test compares the last two complete buckets: a bucket still filling is shown, not judged.
        done = [n for n, b in enumerate(starts) if instant(following(b, bucket)) <= until]
        if len(done) >= 2:
            i, j = done[-2], done[-1]
            before, after = estimates[i], estimates[j]
            if before is not None and after is not None:
                d = stats.drop_test(figure, before, after, min_sample=min_sample)
                s.drop = Flag(d.significant, starts[i], starts[j], d.change, d.p_value, d.test, d.reason)
        series.append(s)
    return Trends(bucket=bucket, since=since, until=until, series=series)


def _order(key: Key) -> tuple[str, str, str, str]:
    persona, stage, moment, scale = key
    return (stage, moment or "", persona or "~", scale)
