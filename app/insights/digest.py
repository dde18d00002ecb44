"""The insight sections of a week's digests, read once per run: significant persona drops (month buckets,
the latest against the one before), each stage's shared metrics over the last eight weeks, the fixes
confirmed in the week with their evidence, the root-cause roll-up and each stage's record over the last
quarter. Owners see their stage, team members the fixes their team contributed to, leaders the top few."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from app.insights import board_flags, checks, credits, metrics, personas, root_causes
from app.insights.credits import FAIR, Credit
from app.insights.sections import (
    TOP,
    TOP_PERSONAS,
    CauseLine,
    CreditLine,
    DigestInsights,
    DropLine,
    LeadershipInsights,
    MetricLine,
    OwnerInsights,
    PersonaTrend,
    RecordLine,
    TeamInsights,
    TrendCell,
)
from app.journey.schemas import Journey

METRIC_WEEKS = 8
RECORD_DAYS = 91
# The owner's persona charts show about six months.
TREND_SPAN = timedelta(days=183)
# The leadership digest lists the stages with the most confirmed fixes; the rest are on the board.
TOP_RECORDS = 10


def _drop(s: board_flags.StageDrop) -> DropLine:
    return DropLine(
        persona=s.persona_name,
        stage=s.stage_name,
        moment=None,
        label=s.label,
        months=f"{date.fromisoformat(s.before_start):%b %Y} to {date.fromisoformat(s.after_start):%b %Y}",
        before=round(s.before, 1),
        after=round(s.after, 1),
        n_before=s.n_before,
        n_after=s.n_after,
        p_value=round(s.p_value or 0.0, 4),
        test=s.test,
    )


def _persona(s: personas.Series, end: datetime) -> PersonaTrend:
    """The series up to the digest's week; a month begun after it (the digest is built on Monday, often
    in the next month) holds a few scores that would dominate the chart."""

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 1)

    return PersonaTrend(
        persona=s.persona_name,
        label=s.label,
        cells=[
            TrendCell(label=f"{p.start:%b %Y}", value=r(p.value), low=r(p.low), high=r(p.high), n=p.n)
            for p in s.points
            if p.start < end.date()
        ][-26:],
    )


def _stage_personas(trends: personas.Trends, stage: str) -> list[personas.Series]:
    """The stage-level series of each persona on this stage, the most scored first."""
    found = [s for s in trends.series if s.stage == stage and s.moment is None and s.points]
    return sorted(found, key=lambda s: (-sum(p.n for p in s.points), s.persona_name))


def _top_records(records: list[credits.StageRecord]) -> list[credits.StageRecord]:
    """The stages with the most confirmed fixes, kept in the journey's order."""
    top = {id(r) for r in sorted(records, key=lambda r: -r.confirmed)[:TOP_RECORDS]}
    return [r for r in records if id(r) in top]


def _credit(c: Credit) -> CreditLine:
    return CreditLine(
        issue_id=c.issue_id,
        title=c.title[:300],
        stage=c.stage_name,
        owner=c.owner_name,
        teams=c.team_names,
        items_before=c.items_before,
        items_after=c.items_after,
        score_change=round(c.score_change, 1) if c.score_change is not None else None,
        days_to_confirm=round(c.days_to_confirm, 1) if c.days_to_confirm is not None else None,
    )


def build(
    session: Session,
    journey: Journey,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> DigestInsights:
    """The sections for the digests of the week [start, end). Persona drops are judged on the months
    complete at `now` (when the digest is built; default `end`)."""
    cutoff = max(end, now or end)
    # The stage level of each persona is enough for a digest; the moments are on /insights. The two
    # compared months grouped by score in SQL, as the board's job reads them: the same figures as
    # `personas.trends` over `board_flags.SPAN`, without fetching every score of six months.
    drops = board_flags.stage_drops(session, journey, cutoff)
    # The charts draw each persona's months with their intervals: the six months' scores are read once
    # a run, for every stage's digest.
    trends = personas.trends(session, journey, since=cutoff - TREND_SPAN, until=cutoff, bucket="month")
    week_credits = credits.credits(session, journey, start, end)
    stages: dict[str, OwnerInsights] = {}
    metric_since = end - timedelta(weeks=METRIC_WEEKS)
    measured = {k for m in journey.metrics for k in m.stages}
    # Every measured stage's weekly scores in one read; a stage without business metrics has no lines.
    scores = metrics.scores_by_stage(session, metric_since, end, "week") if measured else {}
    for stage in journey.stages:
        sm = (
            metrics.stage_metrics(
                session,
                journey,
                stage.key,
                metric_since,
                end,
                "week",
                scores=metrics.scores_of(scores, stage.key, metric_since, end, "week"),
            )
            if stage.key in measured
            else None
        )
        series = _stage_personas(trends, stage.key)
        stages[stage.key] = OwnerInsights(
            drops=[_drop(s) for s in drops if s.stage == stage.key],
            personas=[_persona(s, end) for s in series[:TOP_PERSONAS]],
            personas_total=len(series),
            metrics=[
                MetricLine(
                    name=m.metric.name,
                    unit=m.metric.unit,
                    latest=m.latest,
                    change=m.change,
                    improving=m.improving,
                    values=[c.value for c in m.cells][-26:],
                    weeks=[f"{c.start:%-d %b}" for c in m.cells][-26:],
                )
                for m in (sm.metrics if sm else [])
            ],
            credits=[_credit(c) for c in week_credits if c.stage == stage.key],
        )
    teams = {
        t.key: TeamInsights(credits=[_credit(c) for c in week_credits if t.key in c.teams])
        for t in journey.teams
    }
    rollup = root_causes.rollup(session, journey)
    records = credits.stage_records(session, journey, end - timedelta(days=RECORD_DAYS), end)
    overdue = checks.overdue_lines(session, journey, end)
    leadership = LeadershipInsights(
        drops=[_drop(s) for s in drops[:TOP]],
        drops_total=len(drops),
        causes=[
            CauseLine(
                cause=c.cause_name,
                stages=[h.stage_name for h in c.stages],
                issues=c.issues,
                customers=c.customers,
            )
            for c in rollup[:TOP]
        ],
        causes_total=len(rollup),
        credits=[_credit(c) for c in week_credits[-TOP:]],
        credits_total=len(week_credits),
        records=[
            RecordLine(
                stage=r.stage_name,
                confirmed=r.confirmed,
                reopen_rate=r.reopen_rate,
                median_days=r.median_days,
            )
            for r in _top_records(records)
        ],
        records_total=len(records),
        record_days=RECORD_DAYS,
        fair_comparison=FAIR,
        overdue_checks=overdue[:TOP],
        overdue_checks_total=len(overdue),
    )
    return DigestInsights(stages=stages, teams=teams, leadership=leadership)
