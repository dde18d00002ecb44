"""Credit for confirmed fixes: who fixed what in a period (the issue's owner and its contributing teams),
with the evidence (customer items before and after the fix shipped, over equal spans, and the score at
that moment before and after), and each stage's record: fixes confirmed, days from first seen to
confirmed (median), and how many of them were reopened since.

A fair comparison between stages uses rates, not raw counts: stages differ in volume, in how hard their
problems are and in how many teams they depend on. So the record gives the reopen rate, the median days
and the share of the stage's issues confirmed in the period, and no one is ranked: credits are listed by
date, never by how many a person has. Never commits."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from app.core.clock import as_utc
from app.feedback.models import FeedbackItem
from app.insights import stats
from app.insights.counted import COUNTED
from app.insights.metrics import SCALE_RANGES
from app.issues.models import ExperienceIssue, IssueEvent, IssueTeam
from app.journey.schemas import Journey

EVENTS = IssueEvent.__table__  # type: ignore[attr-defined]
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
TEAMS = IssueTeam.__table__  # type: ignore[attr-defined]
ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
FAIR = (
    "Compare a stage with its own past, or stages by rates (reopen rate, median days, share of issues "
    "confirmed), never by raw counts: stages differ in volume, difficulty and how many teams they need."
)


@dataclass(frozen=True)
class Credit:
    issue_id: int
    title: str
    stage: str
    stage_name: str
    moment: str | None
    owner: str
    owner_name: str
    teams: list[str]
    team_names: list[str]
    shipped_at: datetime | None
    confirmed_at: datetime
    items_before: int
    items_after: int
    score_before: float | None
    score_after: float | None
    days_to_confirm: float | None

    @property
    def score_change(self) -> float | None:
        if self.score_before is None or self.score_after is None:
            return None
        return self.score_after - self.score_before


@dataclass
class StageRecord:
    stage: str
    stage_name: str
    confirmed: int = 0
    reopened: int = 0
    issues: int = 0
    days: list[float] = field(default_factory=list)

    @property
    def median_days(self) -> float | None:
        return stats.median(self.days)

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.confirmed if self.confirmed else None

    @property
    def confirmed_share(self) -> float | None:
        return self.confirmed / self.issues if self.issues else None


def _moves(session: Session, until: datetime) -> dict[int, list[tuple[datetime, str]]]:
    e = EVENTS.c
    out: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    rows = session.execute(
        select(e.issue_id, e.at, e.after).where(e.kind == "transition", e.at < until).order_by(e.id)
    )
    for issue_id, at, after in rows:
        status = (after or {}).get("status")
        if status in ("fix_shipped", "confirmed", "reopened"):
            out[issue_id].append((as_utc(at), status))
    return out


def _mean_pct(session: Session, stage: str, moment: str | None, lo: datetime, hi: datetime) -> float | None:
    if moment is None or hi <= lo:
        return None
    c = ITEMS.c
    rows = session.execute(
        select(c.score, c.scale).where(
            c.stage == stage,
            c.moment == moment,
            c.staff.is_(False),
            c.score.is_not(None),
            c.scale.in_(list(SCALE_RANGES)),
            c.occurred_at >= lo,
            c.occurred_at < hi,
        )
    )
    values = [
        100 * (float(s) - SCALE_RANGES[k][0]) / (SCALE_RANGES[k][1] - SCALE_RANGES[k][0]) for s, k in rows
    ]
    return sum(values) / len(values) if values else None


def _items(session: Session, issue_id: int, lo: datetime, hi: datetime) -> int:
    c = ITEMS.c
    stmt = select(func.count()).where(
        c.issue_id == issue_id, c.staff.is_(False), c.occurred_at >= lo, c.occurred_at < hi
    )
    return int(session.execute(stmt).scalar_one())


def credits(session: Session, journey: Journey, since: datetime, until: datetime) -> list[Credit]:
    """Fixes confirmed in [since, until), oldest first, each with its people and its evidence."""
    moves = _moves(session, until)
    confirmed = {
        issue_id: [(at, s) for at, s in m]
        for issue_id, m in moves.items()
        if any(s == "confirmed" and at >= since for at, s in m)
    }
    if not confirmed:
        return []
    i = ISSUES.c
    issues = {
        r.id: r
        for r in session.execute(
            select(i.id, i.title, i.stage, i.moment, i.owner, i.first_seen, i.status).where(
                i.id.in_(list(confirmed)), i.status.in_(list(COUNTED))
            )
        )
    }
    teams: dict[int, list[str]] = defaultdict(list)
    for issue_id, team in session.execute(
        select(TEAMS.c.issue_id, TEAMS.c.team)
        .where(TEAMS.c.issue_id.in_(list(issues)))
        .order_by(TEAMS.c.team)
    ):
        teams[issue_id].append(team)
    people = {p.id: p.name for p in journey.people}
    team_names = {t.key: t.name for t in journey.teams}
    out = []
    for issue_id, history in confirmed.items():
        r = issues.get(issue_id)
        st = journey.stage(r.stage) if r is not None else None
        if r is None or st is None:
            continue
        for n, (at, status) in enumerate(history):
            if status != "confirmed" or at < since:
                continue
            shipped = next((a for a, s in reversed(history[:n]) if s == "fix_shipped"), None)
            span = at - shipped if shipped else None
            first = as_utc(r.first_seen) if r.first_seen else None
            out.append(
                Credit(
                    issue_id=issue_id,
                    title=r.title,
                    stage=r.stage,
                    stage_name=st.name,
                    moment=r.moment,
                    owner=r.owner,
                    owner_name=people.get(r.owner, r.owner),
                    teams=teams.get(issue_id, []),
                    team_names=[team_names.get(t, t) for t in teams.get(issue_id, [])],
                    shipped_at=shipped,
                    confirmed_at=at,
                    items_before=_items(session, issue_id, shipped - span, shipped)
                    if shipped and span
                    else 0,
                    items_after=_items(session, issue_id, shipped, at) if shipped else 0,
                    score_before=_mean_pct(session, r.stage, r.moment, shipped - span, shipped)
                    if shipped and span
                    else None,
                    score_after=_mean_pct(session, r.stage, r.moment, shipped, at) if shipped else None,
                    days_to_confirm=(at - first).total_seconds() / 86400 if first else None,
                )
            )
    return sorted(out, key=lambda c: (c.confirmed_at, c.issue_id))


def stage_records(session: Session, journey: Journey, since: datetime, until: datetime) -> list[StageRecord]:
    """Per stage over [since, until): fixes confirmed, days first seen -> confirmed, and the share of those
    confirmations reopened since (up to `until`)."""
    records = {s.key: StageRecord(s.key, s.name) for s in journey.stages}
    i = ISSUES.c
    for stage, n in session.execute(
        select(i.stage, func.count())
        .where(i.status.in_(list(COUNTED)), i.first_seen < until)
        .group_by(i.stage)
    ):
        if stage in records:
            records[stage].issues = int(n)
    moves = _moves(session, until)
    for c in credits(session, journey, since, until):
        rec = records.get(c.stage)
        if rec is None:
            continue
        rec.confirmed += 1
        if c.days_to_confirm is not None:
            rec.days.append(c.days_to_confirm)
        if any(s == "reopened" and at > c.confirmed_at for at, s in moves.get(c.issue_id, [])):
            rec.reopened += 1
    return list(records.values())
