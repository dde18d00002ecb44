"""Read side of issues: listings, details and score summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlmodel import Session, col

from app.core import pagination
from app.feedback.models import FeedbackItem
from app.issues import lifecycle
from app.issues.models import ExperienceIssue, IssueEvent, IssueTeam
from app.issues.scores import is_detractor, is_promoter
from app.issues.service import get, teams_of

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]


def issue_key(issue_id: int) -> str:
    return f"EI-{issue_id}"


def to_out(issue: ExperienceIssue, teams: list[str]) -> dict[str, Any]:
    data = issue.model_dump()
    data.update(
        key=issue_key(issue.id or 0), teams=teams, allowed_transitions=lifecycle.allowed(issue.status)
    )
    data.pop("open_fingerprint", None)
    return data


def detail(session: Session, issue_id: int) -> dict[str, Any]:
    """One issue as the API gives it: counts, teams, and its customers' and staff checks' scores."""
    issue = get(session, issue_id)
    out = to_out(issue, teams_of(session, [issue_id])[issue_id])
    out["scores"] = score_summary(session, issue_id)
    out["staff_scores"] = score_summary(session, issue_id, staff=True)
    return out


# Each sort: its column, its direction, and the type its cursor value has.
SORTS: dict[str, tuple[str, bool, type]] = {
    "impact": ("impact", True, float),
    "age": ("created_at", False, str),
    "recent": ("last_seen", True, str),
}


def _filtered(stage: str | None, status: str | None, owner: str | None, team: str | None) -> Any:
    stmt = select(ExperienceIssue)
    if stage is not None:
        stmt = stmt.where(col(ExperienceIssue.stage) == stage)
    if status is not None:
        stmt = stmt.where(col(ExperienceIssue.status) == status)
    else:
        # Emerging groups are not yet anyone's issue: listed when asked for (`status=emerging`).
        stmt = stmt.where(col(ExperienceIssue.status).not_in(("merged", "emerging")))
    if owner is not None:
        stmt = stmt.where(col(ExperienceIssue.owner) == owner)
    if team is not None:
        stmt = stmt.where(
            col(ExperienceIssue.id).in_(select(col(IssueTeam.issue_id)).where(col(IssueTeam.team) == team))
        )
    return stmt


def _page(
    session: Session, stmt: Any, sort: str, after: tuple[Any, int] | None, limit: int
) -> list[ExperienceIssue]:
    """One page after the cursor's (value, id). Rows with no value (an issue never seen) come after
    every other, newest id first, and are read by a second query: each part then walks its index in
    one direction on both databases, where one ORDER BY would sort NULLs differently on each."""
    name, descending, _ = SORTS[sort]
    c = ISSUES.c
    key = tuple_(c[name], c.id)
    order = (c[name].desc(), c.id.desc()) if descending else (c[name].asc(), c.id.asc())
    rows: list[ExperienceIssue] = []
    if after is None or after[0] is not None:
        valued = stmt.where(c[name].is_not(None))
        if after is not None:
            value = after[0] if name == "impact" else datetime.fromisoformat(after[0])
            valued = valued.where(key < (value, after[1]) if descending else key > (value, after[1]))
        rows = list(session.execute(valued.order_by(*order).limit(limit)).scalars())
    if len(rows) < limit:
        blank = stmt.where(c[name].is_(None))
        if after is not None and after[0] is None:
            blank = blank.where(c.id < after[1])
        rows += session.execute(blank.order_by(c.id.desc()).limit(limit - len(rows))).scalars()
    return rows


def list_issues(
    session: Session,
    *,
    stage: str | None,
    status: str | None,
    owner: str | None,
    team: str | None,
    sort: str,
    after: tuple[Any, int] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` issues after the cursor's (sort value, id); keyset, so each page costs the same."""
    stmt = _filtered(stage, status, owner, team)
    rows = _page(session, stmt, sort, after, limit)
    teams = teams_of(session, [r.id for r in rows if r.id is not None])
    return [to_out(r, teams.get(r.id or 0, [])) for r in rows]


def cursor_after(issue: dict[str, Any], sort: str) -> str:
    name, _, _ = SORTS[sort]
    value = issue[name]
    return pagination.encode_key(
        sort, value.isoformat() if isinstance(value, datetime) else value, issue["id"]
    )


def score_summary(session: Session, issue_id: int, *, staff: bool = False) -> list[dict[str, Any]]:
    """Per scale: count, mean, detractors, promoters. Grouped by score, so at most 22 rows come back.

    Customers' scores and staff checks ("experience the experience") are summarised apart.
    """
    fi = FeedbackItem
    stmt = (
        select(col(fi.scale), col(fi.score), func.count())
        .where(col(fi.issue_id) == issue_id, col(fi.score).is_not(None), col(fi.staff).is_(staff))
        .group_by(col(fi.scale), col(fi.score))
    )
    acc: dict[str, dict[str, float]] = {}
    for scale, score, n in session.execute(stmt):
        a = acc.setdefault(scale, {"count": 0, "total": 0.0, "detractors": 0, "promoters": 0})
        a["count"] += n
        a["total"] += score * n
        a["detractors"] += n if is_detractor(score, scale) else 0
        a["promoters"] += n if is_promoter(score, scale) else 0
    return [
        {
            "scale": scale,
            "count": int(a["count"]),
            "mean": round(a["total"] / a["count"], 3),
            "detractors": int(a["detractors"]),
            "promoters": int(a["promoters"]),
        }
        for scale, a in sorted(acc.items())
    ]


def events(session: Session, issue_id: int, after_id: int | None, limit: int) -> list[IssueEvent]:
    stmt = select(IssueEvent).where(col(IssueEvent.issue_id) == issue_id)
    if after_id is not None:
        stmt = stmt.where(col(IssueEvent.id) > after_id)
    return list(session.execute(stmt.order_by(col(IssueEvent.id)).limit(limit)).scalars())
