"""The insight sections of a week's digests, read once per run: significant persona drops (month buckets,
the latest against the one before), each stage's shared metrics over the last eight weeks, the fixes
confirmed in the week with their evidence, the root-cause roll-up and each stage's record over the last
quarter. Owners see their stage, team members the fixes their team contributed to, leaders the top few."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session

from app.insights import board_flags, checks, credits, metrics, root_causes
from app.insights.credits import FAIR, Credit
from app.insights.sections import (
    TOP,
    CauseLine,
    CreditLine,
    DigestInsights,
    DropLine,
    LeadershipInsights,
    MetricLine,
    OwnerInsights,
    RecordLine,
    TeamInsights,
)
from app.journey.schemas import Journey

METRIC_WEEKS = 8
RECORD_DAYS = 91


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
    week_credits = credits.credits(session, journey, start, end)
    stages: dict[str, OwnerInsights] = {}
    for stage in journey.stages:
        sm = metrics.stage_metrics(
            session, journey, stage.key, end - timedelta(weeks=METRIC_WEEKS), end, "week"
        )
        stages[stage.key] = OwnerInsights(
            drops=[_drop(s) for s in drops if s.stage == stage.key],
            metrics=[
                MetricLine(
                    name=m.metric.name,
                    unit=m.metric.unit,
                    latest=m.latest,
                    change=m.change,
                    improving=m.improving,
                    values=[c.value for c in m.cells][-26:],
                )
                for m in sm.metrics
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
            for r in records
        ],
        record_days=RECORD_DAYS,
        fair_comparison=FAIR,
        overdue_checks=overdue[:TOP],
        overdue_checks_total=len(overdue),
    )
    return DigestInsights(stages=stages, teams=teams, leadership=leadership)
