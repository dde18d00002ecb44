"""The moments-of-truth scorecard: each moment the journey declares (the top 20 by weight when it declares
more; the essays advise 10-20), with its customer volume, score and trend over the last four weeks, its
open issues and the overdue ones.

Reliability first: the moments that hurt come before the ones that delight. Rows are ordered by overdue
issues (most first), then open issues (most first), then score (lowest first; a moment without scores
after every scored one), then the journey's order. A moment with nothing wrong sinks to the bottom
however well it scores.

It lives beside the digests because "overdue" is the loop's due date (app.loop), which app.insights sits
below. Staff items (experience checks) never count."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from app.core.clock import as_utc
from app.digests.model import TOP_MOMENTS, MomentScore, Scorecard, WeekScore
from app.feedback.models import FeedbackItem
from app.insights.buckets import instant, span, start_of
from app.issues.models import ExperienceIssue
from app.journey.schemas import Journey
from app.loop import impact
from app.loop.models import IssueAccountability
from app.loop.verification import normalise

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
STATE = IssueAccountability.__table__  # type: ignore[attr-defined]
OPEN = ("open", "acknowledged", "fixing", "reopened")
PERIOD_DAYS = 28
CHART_WEEKS = 8
WEEK = timedelta(weeks=1)
ORDER = (
    "Reliability first: moments with overdue issues come first (most overdue first), then those with "
    "open issues (most first), then the lowest scores; moments with nothing wrong come last."
)


@dataclass
class _Tally:
    volume: int = 0
    previous_volume: int = 0
    now: list[float] = field(default_factory=list)
    before: list[float] = field(default_factory=list)
    weeks: dict[date, list[float]] = field(default_factory=lambda: defaultdict(list))


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def top_moments(journey: Journey) -> list[tuple[int, str, str, str, str]]:
    """(journey position, stage key, stage name, moment key, moment name) of the top moments: all of
    them up to TOP_MOMENTS, else the heaviest (ties: the journey's order), kept in the journey's order."""
    declared = [(st.key, st.name, m.key, m.name, m.weight) for st in journey.stages for m in st.moments]
    heaviest = sorted(range(len(declared)), key=lambda n: (-declared[n][4], n))[:TOP_MOMENTS]
    return [(n, *declared[n][:4]) for n in sorted(heaviest)]


def _scored(session: Session, since: datetime, until: datetime) -> list[tuple[str, str, float | None, int]]:
    """(stage, moment, share of scale in % or None, items) of customers' items at a moment in
    [since, until), grouped by score in SQL: the rows sent are bounded by the distinct scores."""
    c = ITEMS.c
    rows = session.execute(
        select(c.stage, c.moment, c.scale, c.score, func.count())
        .where(
            c.staff.is_(False),
            c.moment.is_not(None),
            c.occurred_at >= since,
            c.occurred_at < until,
        )
        .group_by(c.stage, c.moment, c.scale, c.score)
    )
    out = []
    for stage, moment, scale, score, n in rows:
        share = normalise(float(score), scale) if score is not None else None
        out.append((stage, moment, None if share is None else 100 * share, int(n)))
    return out


def _tallies(
    session: Session, since: datetime, until: datetime, weeks: list[date]
) -> dict[tuple[str, str], _Tally]:
    out: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for stage, moment, pct, n in _scored(session, since, until):
        t = out[(stage, moment)]
        t.volume += n
        if pct is not None:
            t.now.extend([pct] * n)
    for stage, moment, pct, n in _scored(session, since - (until - since), since):
        t = out[(stage, moment)]
        t.previous_volume += n
        if pct is not None:
            t.before.extend([pct] * n)
    for week in weeks:
        for stage, moment, pct, n in _scored(session, instant(week), min(until, instant(week) + WEEK)):
            if pct is not None:
                out[(stage, moment)].weeks[week].extend([pct] * n)
    return out


def _issue_counts(session: Session, journey: Journey, now: datetime) -> dict[tuple[str, str], list[int]]:
    """(stage, moment) -> [open, overdue]; an issue not reassessed yet is due when its impact implies."""
    i, s = ISSUES.c, STATE.c
    policy = journey.accountability
    rows = session.execute(
        select(i.stage, i.moment, i.impact, i.created_at, s.priority, s.due_at)
        .select_from(ISSUES.outerjoin(STATE, s.issue_id == i.id))
        .where(i.status.in_(OPEN), i.moment.is_not(None))
    )
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        priority = r.priority or impact.priority_for(r.impact, policy.impact)
        due = (
            as_utc(r.due_at)
            if r.due_at is not None
            else impact.due_at(as_utc(r.created_at), priority, policy)
        )
        counts = out[(r.stage, r.moment)]
        counts[0] += 1
        counts[1] += int(due < now)
    return out


def _order_key(m: MomentScore, pos: int) -> tuple[int, int, float, int]:
    return (-m.overdue_issues, -m.open_issues, 101.0 if m.score is None else m.score, pos)


def build(session: Session, journey: Journey, until: datetime, days: int = PERIOD_DAYS) -> Scorecard:
    """The scorecard of the `days` before `until` (trend: against the `days` before that)."""
    since = until - timedelta(days=days)
    last = start_of(until - timedelta(microseconds=1), "week")
    chart_from = instant(last - timedelta(weeks=CHART_WEEKS - 1))
    weeks = span(chart_from, until, "week")
    tallies = _tallies(session, since, until, weeks)
    issues = _issue_counts(session, journey, until)
    rows = []
    for pos, sk, sn, mk, mn in top_moments(journey):
        t = tallies.get((sk, mk), _Tally())
        score, before = _mean(t.now), _mean(t.before)
        open_, overdue = issues.get((sk, mk), [0, 0])
        m = MomentScore(
            stage=sk,
            stage_name=sn,
            moment=mk,
            moment_name=mn,
            volume=t.volume,
            previous_volume=t.previous_volume,
            score=score,
            scores=len(t.now),
            previous_score=before,
            trend=round(score - before, 1) if score is not None and before is not None else None,
            open_issues=open_,
            overdue_issues=overdue,
            weeks=[
                WeekScore(week_start=w, score=_mean(t.weeks.get(w, [])), n=len(t.weeks.get(w, [])))
                for w in weeks
            ],
        )
        rows.append((_order_key(m, pos), m))
    declared = sum(len(st.moments) for st in journey.stages)
    ordered = [m for _, m in sorted(rows, key=lambda r: r[0])]
    return Scorecard(since=since, until=until, order=ORDER, moments_declared=declared, moments=ordered)
