"""What the week's digests say, read once (`Snapshot`): the issues with their accountability state, the
week's transitions, the open contributions, a score trend per stage, and three verbatims per stage. A
handful of set-wise queries serve every digest of a run; app.digests.build only arranges the rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from app.core.clock import as_utc
from app.digests import scorecard
from app.digests.model import ContributionLine, IssueLine, Scorecard, Trend, TrendPoint, Verbatim
from app.feedback.models import FeedbackItem
from app.insights import digest as insight_sections
from app.insights.sections import DigestInsights
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey.schemas import Journey
from app.loop import impact
from app.loop.models import IssueAccountability
from app.loop.verification import SCALE_RANGES
from app.sync.models import Contribution

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
STATE = IssueAccountability.__table__  # type: ignore[attr-defined]
EVENTS = IssueEvent.__table__  # type: ignore[attr-defined]
ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
OPEN = ("open", "acknowledged", "fixing", "reopened")
TREND_WEEKS = 8


def covered_week(now: datetime, zone: ZoneInfo) -> tuple[date, datetime, datetime]:
    """The last full week (Monday to Sunday, local) before `now`: its Monday, and its [start, end) in UTC."""
    local = now.astimezone(zone).date()
    monday = local - timedelta(days=local.weekday() + 7)
    start = datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    return monday, start, end


@dataclass
class Snapshot:
    """Everything the week's digests say, read once."""

    journey: Journey
    now: datetime
    week_start: date
    lines: dict[int, IssueLine] = field(default_factory=dict)
    stage_of: dict[int, str] = field(default_factory=dict)
    moved: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # status -> stage -> issue ids
    notes: dict[int, str] = field(default_factory=dict)
    contributions: dict[str, list[ContributionLine]] = field(default_factory=dict)
    trends: dict[str, Trend] = field(default_factory=dict)
    verbatims: dict[str, list[Verbatim]] = field(default_factory=dict)
    # Per stage: how many customers praised it this week, and a few of their words.
    valued: dict[str, tuple[int, list[Verbatim]]] = field(default_factory=dict)
    seam_url: str = ""
    insights: DigestInsights = field(default_factory=DigestInsights)
    scorecard: Scorecard | None = None


def _open_contributions(session: Session, ids: list[int]) -> list[Any]:
    c = Contribution.__table__.c  # type: ignore[attr-defined]
    stmt = select(c.issue_id, c.team, c.state, c.ticket_key, c.vendor_status, c.created_at).where(
        c.required.is_(True), c.state.in_(("requested", "open", "in_progress"))
    )
    return list(session.execute(stmt))


def snapshot(session: Session, journey: Journey, now: datetime, zone: ZoneInfo, public_url: str) -> Snapshot:
    monday, start, end = covered_week(now, zone)
    snap = Snapshot(journey=journey, now=now, week_start=monday, seam_url=public_url)
    stages = [st.key for st in journey.stages]
    rows = _issue_rows(session, stages)
    contributions = _open_contributions(session, [])
    _add_issue_lines(snap, rows, contributions, zone)
    _add_moves(snap, session, start, end)
    _add_contributions(snap, contributions, zone)
    snap.trends = _trends(session, stages, monday, zone)
    snap.verbatims = _verbatims(session, start, end)
    snap.valued = _valued(session, start, end)
    snap.insights = insight_sections.build(session, journey, start, end, now)
    snap.scorecard = scorecard.build(session, journey, end)
    return snap


def _issue_rows(session: Session, stages: list[str]) -> list[Any]:
    """The unmerged issues of the journey's stages, with their accountability state (if any yet)."""
    i, s = ISSUES.c, STATE.c
    rows = session.execute(
        select(
            i.id,
            i.title,
            i.stage,
            i.moment,
            i.status,
            i.created_at,
            i.first_seen,
            i.item_count,
            i.customer_count,
            i.impact,
            s.priority,
            s.impact_score,
            s.due_at,
        )
        .select_from(ISSUES.outerjoin(STATE, s.issue_id == i.id))
        # Emerging groups are nobody's issue yet: they gather evidence off the digests.
        .where(i.status.not_in(("merged", "emerging")), i.stage.in_(stages))
    )
    return list(rows)


def _add_issue_lines(snap: Snapshot, rows: list[Any], contributions: list[Any], zone: ZoneInfo) -> None:
    """One line per issue; an issue not reassessed yet gets the priority and due date its impact implies."""
    journey, now = snap.journey, snap.now
    policy = journey.accountability
    stages = {st.key: st for st in journey.stages}
    blocking: dict[int, list[str]] = defaultdict(list)
    team_names = {t.key: t.name for t in journey.teams}
    for c in contributions:
        blocking[c.issue_id].append(team_names.get(c.team, c.team))
    today = now.astimezone(zone).date()
    for r in rows:
        stage = stages[r.stage]
        moment = journey.moment(r.stage, r.moment) if r.moment else None
        opened = as_utc(r.created_at)
        priority = r.priority or impact.priority_for(r.impact, policy.impact)
        due = as_utc(r.due_at) if r.due_at is not None else impact.due_at(opened, priority, policy)
        late = r.status in OPEN and due < now
        snap.lines[r.id] = IssueLine(
            id=r.id,
            title=r.title,
            stage=stage.name,
            moment=moment.name if moment else None,
            priority=priority,
            impact=max(0.0, r.impact_score if r.impact_score is not None else r.impact),
            status=r.status,
            opened=opened.astimezone(zone).date(),
            # Age on the customer's clock: since the first item occurred (Seam's opening if none).
            age_days=max(0, (today - as_utc(r.first_seen or r.created_at).astimezone(zone).date()).days),
            due=due.astimezone(zone).date(),
            overdue_days=-(-(now - due) // timedelta(days=1)) if late else 0,  # started days
            items=r.item_count,
            customers=r.customer_count,
            blocking_teams=sorted(blocking.get(r.id, [])),
        )
        snap.stage_of[r.id] = r.stage


def _add_moves(snap: Snapshot, session: Session, start: datetime, end: datetime) -> None:
    """The week's moves: shipped, confirmed and reopened, by stage (last move of each kind per issue)."""
    e = EVENTS.c
    moves = session.execute(
        select(e.issue_id, e.after, e.reason)
        .where(e.kind == "transition", e.at >= start, e.at < end)
        .order_by(e.id)
    )
    for issue_id, after, reason in moves:
        status = (after or {}).get("status")
        if status not in ("fix_shipped", "confirmed", "reopened") or issue_id not in snap.stage_of:
            continue
        bucket = snap.moved.setdefault(status, {}).setdefault(snap.stage_of[issue_id], [])
        if issue_id not in bucket:
            bucket.append(issue_id)
        if status == "reopened" and reason:
            snap.notes[issue_id] = reason[:300]


def _add_contributions(snap: Snapshot, contributions: list[Any], zone: ZoneInfo) -> None:
    """Each team's open contributions to the issues in the snapshot."""
    for c in contributions:
        line = snap.lines.get(c.issue_id)
        if line is None:
            continue
        since = as_utc(c.created_at).astimezone(zone).date()
        snap.contributions.setdefault(c.team, []).append(
            ContributionLine(
                issue=line,
                state="in_progress" if c.state == "in_progress" else "open",
                ticket_key=c.ticket_key,
                ticket_status=c.vendor_status,
                since=since,
                due=line.due,
                overdue_days=line.overdue_days,
            )
        )


def _normalised_sum() -> Any:
    c = ITEMS.c
    whens = [(c.scale == k, (c.score - lo) / (hi - lo)) for k, (lo, hi) in SCALE_RANGES.items()]
    return func.sum(case(*whens, else_=None))


def _trends(session: Session, stages: list[str], monday: date, zone: ZoneInfo) -> dict[str, Trend]:
    """Mean score per stage and week (as % of each item's scale), the last TREND_WEEKS weeks."""
    c = ITEMS.c
    points: dict[str, list[TrendPoint]] = {k: [] for k in stages}
    for w in range(TREND_WEEKS - 1, -1, -1):
        week = monday - timedelta(weeks=w)
        lo = datetime.combine(week, time(0), tzinfo=zone).astimezone(UTC)
        hi = datetime.combine(week + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
        rows = session.execute(
            select(c.stage, _normalised_sum(), func.count(c.score))
            .where(
                c.occurred_at >= lo,
                c.occurred_at < hi,
                c.score.is_not(None),
                c.staff.is_(False),
                c.scale.in_(list(SCALE_RANGES)),
            )
            .group_by(c.stage)
        )
        found = {r[0]: (r[1], r[2]) for r in rows}
        for key in stages:
            total, n = found.get(key, (None, 0))
            value = round(100 * float(total) / n, 1) if n and total is not None else None
            points[key].append(TrendPoint(week_start=week, value=value, responses=int(n or 0)))
    return {k: Trend(label="Score, % of scale", points=v, low=0, high=100) for k, v in points.items()}


def _verbatims(session: Session, start: datetime, end: datetime) -> dict[str, list[Verbatim]]:
    """Three per stage from the week: lowest scores first (unscored after), then the latest."""
    c = ITEMS.c
    rank = (
        func.row_number()
        .over(
            partition_by=c.stage,
            order_by=(
                case((c.score.is_(None), 1), else_=0),
                c.score.asc(),
                c.occurred_at.desc(),
                c.id.desc(),
            ),
        )
        .label("rank")
    )
    inner = (
        select(c.stage, c.text, c.score, c.scale, c.persona, c.occurred_at, rank)
        .where(
            and_(c.occurred_at >= start, c.occurred_at < end, c.text.is_not(None), c.stage.is_not(None)),
            c.staff.is_(False),
        )
        .subquery()
    )
    out: dict[str, list[Verbatim]] = defaultdict(list)
    for r in session.execute(select(inner).where(inner.c.rank <= 3).order_by(inner.c.stage, inner.c.rank)):
        if not (r.text or "").strip():
            continue
        out[r.stage].append(
            Verbatim(
                text=r.text,
                score=r.score,
                scale=r.scale,
                persona=r.persona,
                received=as_utc(r.occurred_at).date(),
            )
        )
    return out


def _valued(session: Session, start: datetime, end: datetime) -> dict[str, tuple[int, list[Verbatim]]]:
    """Compliments of the week per stage (praise placed on the stage, in no issue): their number, and
    the three best-scored with words ("what customers value here")."""
    c = ITEMS.c
    rows = session.execute(
        select(c.stage, c.text, c.score, c.scale, c.persona, c.occurred_at, c.placement)
        .where(
            c.occurred_at >= start,
            c.occurred_at < end,
            c.stage.is_not(None),
            c.issue_id.is_(None),
            c.state == "placed",
            c.staff.is_(False),
        )
        .order_by(c.stage, c.score.desc(), c.occurred_at.desc(), c.id.desc())
    )
    counts: dict[str, int] = defaultdict(int)
    words: dict[str, list[Verbatim]] = defaultdict(list)
    # The same words twice (a survey's stock answer) say nothing new.
    quoted: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if ((r.placement or {}).get("grouping") or {}).get("method") != "compliment":
            continue
        counts[r.stage] += 1
        text = " ".join((r.text or "").split())
        if text and len(words[r.stage]) < 3 and text not in quoted[r.stage]:
            quoted[r.stage].add(text)
            when = as_utc(r.occurred_at).date()
            words[r.stage].append(
                Verbatim(text=r.text, score=r.score, scale=r.scale, persona=r.persona, received=when)
            )
    return {stage: (n, words[stage]) for stage, n in counts.items()}
