"""Sync follows the issue's events, whatever their entry point (API, board, a vendor's webhook).

Registered in `app.issues.service.TRANSITION_HOOKS` on import. Runs inside the transition's
transaction and only writes outbox rows, so the vendor calls happen if and only if the move commits.
- reopened: each ticket is moved back (the integration's reopen transition) and commented with the
  new evidence;
- confirmed: each ticket is commented and closed if it is still open.
A change that came from a contribution's own ticket is never echoed back to that ticket.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.feedback.models import FeedbackItem
from app.issues.models import ExperienceIssue, IssueEvent
from app.issues.reactions import Transition
from app.outbox import service as outbox
from app.sync.models import Contribution
from app.sync.service import source_contribution

TRANSITION_KIND = "sync.transition"
COMMENT_KIND = "sync.comment"
MAX_EVIDENCE = 5


def _latest_event_id(session: Session, issue_id: int) -> int:
    session.flush()
    stmt = select(func.max(col(IssueEvent.id))).where(col(IssueEvent.issue_id) == issue_id)
    return int(session.execute(stmt).scalar_one() or 0)


def _previous_move_at(session: Session, issue_id: int) -> datetime | None:
    """When the issue made the move before the one being made now (flushed, so it is the newest)."""
    stmt = (
        select(col(IssueEvent.at))
        .where(col(IssueEvent.issue_id) == issue_id, col(IssueEvent.kind) == "transition")
        .order_by(col(IssueEvent.id).desc())
        .offset(1)
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def _evidence(session: Session, issue_id: int, since: datetime | None) -> list[str]:
    stmt = select(col(FeedbackItem.text)).where(col(FeedbackItem.issue_id) == issue_id)
    if since is not None:
        stmt = stmt.where(col(FeedbackItem.received_at) >= since)
    stmt = stmt.order_by(col(FeedbackItem.occurred_at).desc()).limit(MAX_EVIDENCE)
    return [" ".join(str(t).split())[:300] for t in session.execute(stmt).scalars() if t]


def issue_link(public_url: str, issue_id: int) -> str:
    return f"{public_url.rstrip('/')}/issues/{issue_id}"


def _reopen_text(session: Session, issue: ExperienceIssue, reason: str | None) -> str:
    assert issue.id is not None
    # Evidence is the feedback that arrived since the fix was shipped (or confirmed).
    since = _previous_move_at(session, issue.id)
    lines = [f"Seam reopened experience issue EI-{issue.id}: the fix did not hold."]
    if reason:
        lines.append(f"Reason: {reason.strip()}")
    evidence = _evidence(session, issue.id, since)
    if evidence:
        lines.append("New evidence from customers:")
        lines.extend(f"- {text}" for text in evidence)
    return "\n".join(lines)


def _confirm_text(issue: ExperienceIssue, reason: str | None) -> str:
    assert issue.id is not None
    lines = [f"Seam confirmed the fix for experience issue EI-{issue.id}. Thank you!"]
    if reason:
        lines.append(f"Evidence: {reason.strip()}")
    lines.append("This ticket is being closed if it is still open.")
    return "\n".join(lines)


def on_transition(session: Session, issue: ExperienceIssue, change: Transition) -> None:
    """A reopen or a confirmation reaches every ticket, except the one the change came from."""
    to, reason = change.to, change.reason
    if to not in ("reopened", "confirmed") or issue.id is None:
        return
    source = source_contribution(change.actor)
    stmt = (
        select(Contribution)
        .where(col(Contribution.issue_id) == issue.id, col(Contribution.ticket_id).is_not(None))
        .order_by(col(Contribution.id))
    )
    targets = [c for c in session.execute(stmt).scalars() if c.id != source]
    if not targets:
        return
    event_id = _latest_event_id(session, issue.id)
    if to == "reopened":
        text = _reopen_text(session, issue, reason)
        move = "reopen"
    else:
        text = _confirm_text(issue, reason)
        move = "done"
    for c in targets:
        payload = {"contribution_id": c.id, "issue_event": event_id}
        outbox.enqueue(
            session, TRANSITION_KIND, f"sync-transition:{c.id}:{event_id}", {**payload, "to": move}
        )
        outbox.enqueue(session, COMMENT_KIND, f"sync-comment:{c.id}:{event_id}", {**payload, "body": text})
