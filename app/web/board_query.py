"""The journey board's reads: per stage, its open issues by priority then impact, one page at a time.

The board's totals come from kept counts, the whole board's or one filter's (a team, persona or
source); a board filtered two ways at once counts its issues in one grouped count. Each column then
reads only its page, level by level, so a page costs a few short index ranges however
many issues are open."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, any_, case, exists, func, or_, select
from sqlmodel import Session

from app.issues import board_counts
from app.issues.lifecycle import ACTIVE, GATHERING
from app.issues.models import ExperienceIssue, IssueFacet, IssueTeam
from app.journey.schemas import Journey
from app.loop.models import IssueAccountability

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
ACC = IssueAccountability.__table__  # type: ignore[attr-defined]
FACETS = IssueFacet.__table__  # type: ignore[attr-defined]
TEAMS = IssueTeam.__table__  # type: ignore[attr-defined]
WAITING = ("open", "acknowledged", "fixing", "reopened")


@dataclass(frozen=True)
class Filters:
    persona: str | None = None
    source: str | None = None  # "customers" or "staff"
    team: str | None = None
    stage: str | None = None

    def query(self, **extra: Any) -> dict[str, Any]:
        values = {"persona": self.persona, "source": self.source, "team": self.team, "stage": self.stage}
        values.update(extra)
        return {k: v for k, v in values.items() if v}


@dataclass
class Card:
    id: int
    title: str
    status: str
    moment: str | None
    priority: str | None
    impact: float
    due_at: datetime | None
    overdue: bool
    items: int
    customers: int


@dataclass
class Column:
    key: str
    name: str
    owner: str
    total: int = 0
    overdue: int = 0
    # Similar items gathering on the stage, not yet anyone's issue (the journey's evidence rule).
    emerging: int = 0
    cards: list[Card] = field(default_factory=list)


def _conditions(f: Filters) -> list[Any]:
    c = ISSUES.c
    where = [c.status.in_(sorted(ACTIVE)), *_matching(f)]
    if f.stage:
        where.append(c.stage == f.stage)
    return where


def _matching(f: Filters) -> list[Any]:
    """The issues the filters match, beside stage and status."""
    c = ISSUES.c
    where = []
    if f.team:
        where.append(exists().where(TEAMS.c.issue_id == c.id, TEAMS.c.team == f.team))
    # An issue with at least one item of that persona (and source), read from its kept facets: a few
    # rows an issue, where an EXISTS over the items cost seconds at 10 million of them.
    facet_where = []
    if f.persona:
        facet_where.append(FACETS.c.persona == f.persona)
    if f.source in ("customers", "staff"):
        facet_where.append(FACETS.c.staff.is_(f.source == "staff"))
    if facet_where:
        where.append(exists().where(FACETS.c.issue_id == c.id, *facet_where))
    return where


def _kept_filter(f: Filters) -> tuple[str, str] | None:
    """The one filter a board's totals can be read for from the kept counts (none, or two at once:
    those are counted)."""
    given = [(k, v) for k, v in (("team", f.team), ("persona", f.persona), ("source", f.source)) if v]
    return given[0] if len(given) == 1 else None


def _overdue(now: datetime) -> Any:
    return and_(ISSUES.c.status.in_(WAITING), ACC.c.due_at < now)


# The board's order within a column: priority p1..p4, then issues with no priority yet, each by impact.
LEVELS: tuple[str | None, ...] = ("p1", "p2", "p3", "p4", None)


def _level(priority: str | None) -> Any:
    if priority is not None:
        return ACC.c.priority == priority
    return or_(ACC.c.priority.is_(None), ACC.c.priority.not_in([p for p in LEVELS if p]))


def _level_of(priority: str | None) -> str | None:
    return priority if priority in LEVELS else None


def _add(col: Column, per_level: dict[str, dict[str | None, int]], priority: str | None, n: int) -> None:
    """`n` open issues of `priority` on the column: its total, and its priority level's count."""
    col.total += n
    levels = per_level.setdefault(col.key, {})
    levels[_level_of(priority)] = levels.get(_level_of(priority), 0) + n


def _count(
    session: Session,
    columns: dict[str, Column],
    per_level: dict[str, dict[str | None, int]],
    joined: Any,
    where: list[Any],
    now: datetime,
) -> None:
    """A filtered board's totals, counted over its issues."""
    c = ISSUES.c
    counts = (
        select(c.stage, ACC.c.priority, func.count(), func.sum(case((_overdue(now), 1), else_=0)))
        .select_from(joined)
        .where(*where)
        .group_by(c.stage, ACC.c.priority)
    )
    for stage, priority, total, overdue in session.execute(counts):
        if stage in columns:
            _add(columns[stage], per_level, priority, int(total))
            columns[stage].overdue += int(overdue or 0)
    _emerging(session, columns)


def _emerging(session: Session, columns: dict[str, Column]) -> None:
    """Each stage's emerging groups, whatever the filters."""
    c = ISSUES.c
    gathering = select(c.stage, func.count()).where(c.status == "emerging").group_by(c.stage)
    for stage, total in session.execute(gathering):
        if stage in columns:
            columns[stage].emerging = int(total)


def _kept(
    session: Session,
    columns: dict[str, Column],
    per_level: dict[str, dict[str | None, int]],
    f: Filters,
    now: datetime,
) -> None:
    """The board's totals from the kept counts (app.issues.board_counts), the whole board's or its one
    filter's: a grouped count over 100,000 open issues joined to their accountability cost 100 ms by
    itself. Due dates are kept by week, so only this week's are counted against the clock, from the
    due-date index."""
    start = board_counts.week_start(now)
    this_week = start.strftime("%Y-%m-%d")
    stage, one = f.stage, _kept_filter(f)
    counts = (
        board_counts.read(session, stage) if one is None else board_counts.read_filtered(session, *one, stage)
    )
    if one is not None:
        _emerging(session, columns)  # as a counted board shows them: the stage's, unfiltered
    for key, n in counts.items():
        col = columns.get(key.stage)
        if col is None:
            continue
        if key.status in GATHERING:
            if one is None:
                col.emerging += n
        elif key.status in ACTIVE:
            _add(col, per_level, key.priority, n)
            if key.status in WAITING and key.due_week and key.due_week < this_week:
                col.overdue += n
    c = ISSUES.c
    # This week's due dates past the clock, read from the due-date index first and their issues then
    # by primary key. Joined, or as IN (subquery), PostgreSQL's planner scanned every issue to match
    # a thousand rows; = ANY(ARRAY(subquery)) has it look each one up.
    due = select(ACC.c.issue_id).where(ACC.c.due_at >= start, ACC.c.due_at < now)
    if session.get_bind().dialect.name == "postgresql":
        match = c.id == any_(func.array(due.scalar_subquery()))
    else:
        match = c.id.in_(due)
    late = select(c.stage, func.count()).where(match, c.status.in_(WAITING), *_matching(f)).group_by(c.stage)
    if stage is not None:
        late = late.where(c.stage == stage)
    for key_stage, n in session.execute(late):
        if key_stage in columns:
            columns[key_stage].overdue += int(n)


def board(
    session: Session, journey: Journey, f: Filters, now: datetime, *, per_column: int, page: int = 1
) -> list[Column]:
    """Every column's totals by priority (kept, or counted for a filtered board); each column's page
    is then read level by level, each level walking the (stage, impact, id) index for just the rows
    it shows. One sort over all of a stage's open issues (by a priority rank no index holds) cost a
    quarter second a column at 100,000."""
    people = {p.id: p.name for p in journey.people}
    stages = [s for s in journey.stages if not f.stage or s.key == f.stage]
    columns = {s.key: Column(s.key, s.name, people.get(s.owner, s.owner)) for s in stages}
    c = ISSUES.c
    joined = ISSUES.outerjoin(ACC, ACC.c.issue_id == c.id)
    where = _conditions(f)
    per_level: dict[str, dict[str | None, int]] = {}
    if (f.team or f.persona or f.source) and _kept_filter(f) is None:
        _count(session, columns, per_level, joined, where, now)
    else:
        _kept(session, columns, per_level, f, now)
    moments = {(s.key, m.key): m.name for s in journey.stages for m in s.moments}
    for col in columns.values():
        skip, want = (page - 1) * per_column, per_column
        for level in LEVELS:
            n = per_level.get(col.key, {}).get(level, 0)
            if want <= 0:
                break
            if skip >= n:
                skip -= n
                continue
            stmt = (
                select(c.id, c.title, c.status, c.moment, c.impact, c.item_count, c.customer_count,
                       ACC.c.priority, ACC.c.due_at, _overdue(now).label("late"))
                .select_from(joined)
                .where(*where, c.stage == col.key, _level(level))
                .order_by(c.impact.desc(), c.id.desc())
                .offset(skip)
                .limit(want)
            )  # fmt: skip
            rows = list(session.execute(stmt))
            skip, want = 0, want - len(rows)
            col.cards += [
                Card(
                    id=r.id, title=r.title, status=r.status, moment=moments.get((col.key, r.moment or "")),
                    priority=r.priority, impact=r.impact, due_at=r.due_at, overdue=bool(r.late),
                    items=r.item_count, customers=r.customer_count,
                )
                for r in rows
            ]  # fmt: skip
    return list(columns.values())
