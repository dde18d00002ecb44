"""People's curation of issues: rename, hand to another owner, comment. Never commits; each change is an
event with its actor, so the timeline says who did what."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.errors import InvalidInput, field_error
from app.issues import service as issues
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey.schemas import Journey

MAX_TITLE = 300
MAX_COMMENT = 4000


def rename(session: Session, issue_id: int, title: str, actor: Actor) -> ExperienceIssue:
    clean = " ".join(title.split())
    if not clean:
        raise InvalidInput("A title cannot be empty.", errors=[field_error("title", "must not be empty")])
    if len(clean) > MAX_TITLE:
        raise InvalidInput("The title is too long.", errors=[field_error("title", f"at most {MAX_TITLE}")])
    return _change(session, issue_id, "title", clean, actor)


def reassign(session: Session, journey: Journey, issue_id: int, owner: str, actor: Actor) -> ExperienceIssue:
    if owner not in {p.id for p in journey.people}:
        raise InvalidInput(
            f"Nobody called '{owner}' is in the journey.", errors=[field_error("owner", "not a person")]
        )
    return _change(session, issue_id, "owner", owner, actor)


def _change(session: Session, issue_id: int, field: str, value: str, actor: Actor) -> ExperienceIssue:
    """Sets one field of the issue under its row lock and records `<field>_changed`; no event when the
    value is already the issue's."""
    issues.lock(session, [issue_id])
    issue = issues.get(session, issue_id)
    session.refresh(issue)
    before = getattr(issue, field)
    if before == value:
        return issue
    setattr(issue, field, value)
    issue.updated_at = utcnow()
    session.add(issue)
    issues.record_event(
        session, issue_id, f"{field}_changed", actor, before={field: before}, after={field: value}
    )
    return issue


def comment(session: Session, issue_id: int, text: str, actor: Actor) -> IssueEvent:
    body = text.strip()
    if not body:
        raise InvalidInput("A comment cannot be empty.", errors=[field_error("text", "must not be empty")])
    if len(body) > MAX_COMMENT:
        raise InvalidInput("The comment is too long.", errors=[field_error("text", f"at most {MAX_COMMENT}")])
    issues.get(session, issue_id)
    issues.record_event(session, issue_id, "comment", actor, reason=body)
    session.flush()
    stmt = (
        select(IssueEvent)
        .where(col(IssueEvent.issue_id) == issue_id, col(IssueEvent.kind) == "comment")
        .order_by(col(IssueEvent.id).desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one()
