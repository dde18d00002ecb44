"""Read side of the loop: an issue's accountability at a glance."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.core.clock import as_utc
from app.issues import service as issues
from app.journey.schemas import Journey
from app.loop.models import IssueAccountability, LoopAction, ReminderSent
from app.loop.reminders import REMINDING, bundle_kind


def reminder_bundles(
    session: Session, journey: Journey, person: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """The reminder messages this person was sent in [since, until): one per kind and their own day,
    each with the issues it carried (the bundling people see, oldest first)."""
    people = {p.id: p for p in journey.people}
    zone = ZoneInfo(people[person].timezone) if person in people else ZoneInfo("UTC")
    rows = session.execute(
        select(ReminderSent)
        .where(
            col(ReminderSent.person) == person, col(ReminderSent.at) >= since, col(ReminderSent.at) < until
        )
        .order_by(col(ReminderSent.at), col(ReminderSent.issue_id))
    ).scalars()
    bundles: dict[tuple[date, str], list[int]] = {}
    for r in rows:
        key = (as_utc(r.at).astimezone(zone).date(), bundle_kind(r.role))
        issues_ = bundles.setdefault(key, [])
        if r.issue_id not in issues_:
            issues_.append(r.issue_id)
    return [{"day": day, "kind": kind, "issues": ids} for (day, kind), ids in sorted(bundles.items())]


def assessment(session: Session, issue_id: int) -> tuple[str, datetime] | None:
    """The issue's priority and due date as assessed, or None before its first assessment."""
    state = session.get(IssueAccountability, issue_id)
    return None if state is None else (state.priority, state.due_at)


def accountability(session: Session, issue_id: int, now: datetime) -> dict[str, Any]:
    """Priority, due date, the latest acknowledgement and snooze, reminders sent, the fix's evidence.
    Priority and due date are null until the first reminder sweep has assessed the issue."""
    issue = issues.get(session, issue_id)
    state = session.get(IssueAccountability, issue_id)
    acts = list(
        session.execute(
            select(LoopAction).where(col(LoopAction.issue_id) == issue_id).order_by(col(LoopAction.at))
        ).scalars()
    )
    acks = [a for a in acts if a.kind == "ack"]
    snoozes = [a for a in acts if a.kind == "snooze" and a.until is not None and a.at <= now < a.until]
    sent = session.execute(select(func.count()).where(col(ReminderSent.issue_id) == issue_id)).scalar_one()
    return {
        "issue_id": issue_id,
        "status": issue.status,
        "priority": state.priority if state else None,
        # The issue's one impact number (app.loop.service.reassess writes both together).
        "impact_score": issue.impact if state else None,
        "due_at": state.due_at if state else None,
        "overdue": bool(state and issue.status in REMINDING and state.due_at < now),
        "acknowledged_at": acks[-1].at if acks else None,
        "snoozed_until": snoozes[-1].until if snoozes else None,
        "snooze_reason": snoozes[-1].reason if snoozes else None,
        "reminders_sent": int(sent),
        "shipped_at": state.shipped_at if state else None,
        "verification_outcome": state.verification_outcome if state else None,
        "verification_reason": state.verification_reason if state else None,
        "confirm_requested_at": state.confirm_requested_at if state else None,
        "answers_yes": issue.answers_yes,
        "answers_no": issue.answers_no,
    }
