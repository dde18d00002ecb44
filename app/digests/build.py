"""The weekly digests from the database: one owner digest per stage, one per team with open
contributions (to each member), one leadership scorecard (to the CX lead and the stage sponsors).

A handful of set-wise queries serve every digest of a run (`Snapshot`): the issues with their
accountability state, the week's transitions, the open contributions, a score trend per stage, and three
verbatims per stage. Building then only arranges rows; `queue_all` renders and queues the non-empty ones
as `email` outbox rows keyed `digest:<kind>:<person>:<key>:<iso week>`, so a second run adds nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlmodel import Session

from app.core.clock import as_utc
from app.core.settings import get_settings
from app.digests.model import (
    ContributionLine,
    IssueLine,
    LeadershipDigest,
    OwnerDigest,
    Person,
    StageScore,
    TeamDigest,
    Trend,
    TrendPoint,
    Verbatim,
)
from app.digests.render import AnyDigest, is_empty, render
from app.feedback.models import FeedbackItem
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey.schemas import Journey, Stage
from app.loop import impact, mail
from app.loop.models import IssueAccountability
from app.loop.verification import SCALE_RANGES

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
    seam_url: str = ""


def _open_contributions(session: Session, ids: list[int]) -> list[Any]:
    try:
        from app.sync.models import Contribution
    except ImportError:  # pragma: no cover - contributions not built yet
        return []
    c = Contribution.__table__.c  # type: ignore[attr-defined]
    stmt = select(c.issue_id, c.team, c.state, c.ticket_key, c.vendor_status, c.created_at).where(
        c.required.is_(True), c.state.in_(("requested", "open", "in_progress"))
    )
    return list(session.execute(stmt))


def snapshot(session: Session, journey: Journey, now: datetime, zone: ZoneInfo) -> Snapshot:
    monday, start, end = covered_week(now, zone)
    snap = Snapshot(journey=journey, now=now, week_start=monday, seam_url=get_settings().public_url)
    stages = [st.key for st in journey.stages]
    rows = _issue_rows(session, stages)
    contributions = _open_contributions(session, [])
    _add_issue_lines(snap, rows, contributions, zone)
    _add_moves(snap, session, start, end)
    _add_contributions(snap, contributions, zone)
    snap.trends = _trends(session, stages, monday, zone)
    snap.verbatims = _verbatims(session, start, end)
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
            i.item_count,
            i.customer_count,
            i.impact,
            s.priority,
            s.impact_score,
            s.due_at,
        )
        .select_from(ISSUES.outerjoin(STATE, s.issue_id == i.id))
        .where(i.status != "merged", i.stage.in_(stages))
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
            age_days=max(0, (today - opened.astimezone(zone).date()).days),
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
                c.received_at >= lo,
                c.received_at < hi,
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
                c.received_at.desc(),
                c.id.desc(),
            ),
        )
        .label("rank")
    )
    inner = (
        select(c.stage, c.text, c.score, c.scale, c.persona, c.received_at, rank)
        .where(
            and_(c.received_at >= start, c.received_at < end, c.text.is_not(None), c.stage.is_not(None)),
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
                received=as_utc(r.received_at).date(),
            )
        )
    return out


# --- the digests ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Addressed:
    person: str
    email: str
    key: str
    digest: AnyDigest


def _by_status(snap: Snapshot, status: str, stage: str) -> list[IssueLine]:
    out = []
    for issue_id in snap.moved.get(status, {}).get(stage, []):
        line = snap.lines[issue_id]
        if status == "reopened" and issue_id in snap.notes:
            line = line.model_copy(update={"note": snap.notes[issue_id]})
        out.append(line)
    return out


def digests(snap: Snapshot) -> Iterator[Addressed]:
    """Each stage's owner digest, then each team member's digest, then the leadership scorecards."""
    people = {p.id: p for p in snap.journey.people}
    common: dict[str, Any] = {"week_start": snap.week_start, "seam_url": snap.seam_url}
    by_stage = _open_by_stage(snap)
    scores = []
    for stage in snap.journey.stages:
        owner = people[stage.owner]
        recipient = Person(name=owner.name, email=str(owner.email))
        d = _owner_digest(snap, stage, recipient, by_stage.get(stage.key, []), common)
        yield Addressed(owner.id, str(owner.email), f"owner:{stage.key}", d)
        scores.append(_stage_score(snap, stage, d))
    yield from _team_digests(snap, common)
    yield from _leadership_digests(snap, scores, common)


def _open_by_stage(snap: Snapshot) -> dict[str, list[IssueLine]]:
    by_stage: dict[str, list[IssueLine]] = defaultdict(list)
    for issue_id, line in snap.lines.items():
        if line.status in OPEN:
            by_stage[snap.stage_of[issue_id]].append(line)
    return by_stage


def _owner_digest(
    snap: Snapshot, stage: Stage, recipient: Person, open_lines: list[IssueLine], common: dict[str, Any]
) -> OwnerDigest:
    open_ = sorted(open_lines, key=lambda x: (-x.impact, x.id))
    overdue = sorted((x for x in open_ if x.overdue_days > 0), key=lambda x: (-x.overdue_days, x.id))
    return OwnerDigest(
        recipient=recipient,
        stage_key=stage.key,
        stage_name=stage.name,
        open_issues=open_,
        overdue=overdue,
        shipped=_by_status(snap, "fix_shipped", stage.key),
        confirmed=_by_status(snap, "confirmed", stage.key),
        reopened=_by_status(snap, "reopened", stage.key),
        trend=snap.trends.get(stage.key),
        verbatims=snap.verbatims.get(stage.key, [])[:3],
        **common,
    )


def _stage_score(snap: Snapshot, stage: Stage, d: OwnerDigest) -> StageScore:
    """The stage's row on the leadership scorecard, counted from its owner's digest."""
    return StageScore(
        stage_key=stage.key,
        stage_name=stage.name,
        owner=d.recipient.name,
        open=len(d.open_issues),
        overdue=len(d.overdue),
        shipped=len(d.shipped),
        confirmed=len(d.confirmed),
        reopened=len(d.reopened),
        oldest_open_days=max((x.age_days for x in d.open_issues), default=None),
        trend=snap.trends.get(stage.key) or Trend(label="Score, % of scale"),
    )


def _team_digests(snap: Snapshot, common: dict[str, Any]) -> Iterator[Addressed]:
    """One digest per member of each team (members not among the journey's people are skipped)."""
    people = {p.id: p for p in snap.journey.people}
    for team in snap.journey.teams:
        lines = sorted(snap.contributions.get(team.key, []), key=lambda c: (-c.overdue_days, c.issue.id))
        for member in team.members:
            if member not in people:
                continue
            p = people[member]
            yield Addressed(
                p.id,
                str(p.email),
                f"team:{team.key}",
                TeamDigest(
                    recipient=Person(name=p.name, email=str(p.email)),
                    team_key=team.key,
                    team_name=team.name,
                    contributions=lines,
                    **common,
                ),
            )


def _leadership_digests(
    snap: Snapshot, scores: list[StageScore], common: dict[str, Any]
) -> Iterator[Addressed]:
    """The scorecard to the CX lead and to each stage sponsor, once per person."""
    j = snap.journey
    people = {p.id: p for p in j.people}
    leaders = [j.cx_lead] if j.cx_lead else []
    leaders += [s.sponsor for s in j.stages if s.sponsor and s.sponsor not in leaders]
    for pid in dict.fromkeys(leaders):
        if pid is None or pid not in people:
            continue
        p = people[pid]
        yield Addressed(
            p.id,
            str(p.email),
            "leadership",
            LeadershipDigest(
                recipient=Person(name=p.name, email=str(p.email)),
                journey_name=j.name,
                stages=scores,
                **common,
            ),
        )


def iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def queue_all(session: Session, journey: Journey, now: datetime, zone: ZoneInfo) -> int:
    """Render and queue every non-empty digest of the covered week; returns how many were new."""
    snap = snapshot(session, journey, now, zone)
    queued = 0
    for a in digests(snap):
        if is_empty(a.digest):
            continue
        key = f"digest:{a.key}:{a.person}:{iso_week(snap.week_start)}"
        queued += int(
            mail.queue(
                session, key, to_email=a.email, to_name=a.digest.recipient.name, rendered=render(a.digest)
            )
        )
    return queued


def preview(session: Session, journey: Journey, email: str, now: datetime, zone: ZoneInfo) -> list[Addressed]:
    """Every digest this address would receive for the covered week (empty ones included)."""
    snap = snapshot(session, journey, now, zone)
    return [a for a in digests(snap) if a.email.lower() == email.strip().lower()]
