"""Who is told what, inside the caller's transaction: reminders (with their record and event) and the
owner's "please confirm". Writes rows and outbox messages only; the worker sends."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from app.core.actor import SYSTEM_ACTOR
from app.core.settings import Settings
from app.core.sql import insert_ignore
from app.issues import service as issues
from app.issues.models import ExperienceIssue
from app.journey.schemas import Journey
from app.loop.models import IssueAccountability, ReminderSent
from app.loop.reminders import DueReminder
from app.loop.verification import Verification
from app.notify import messages, templates
from app.people.service import action_links

SENT = ReminderSent.__table__  # type: ignore[attr-defined]


def issue_url(public_url: str, issue_id: int) -> str:
    return f"{public_url.rstrip('/')}/issues/{issue_id}"


def _why(r: DueReminder) -> str:
    if r.role == "sponsor" or r.role == "cx_lead":
        return "This issue has had reminders nobody acknowledged, so it now comes to you as well."
    if r.kind == "before_due":
        return "This experience issue is due soon."
    if r.kind == "at_due":
        return "This experience issue is due now."
    days = r.overdue_by.days
    return f"This experience issue is overdue by {days} day{'s' if days != 1 else ''}."


def send_reminder(
    session: Session,
    journey: Journey,
    issue: ExperienceIssue,
    state: IssueAccountability,
    r: DueReminder,
    now: datetime,
    settings: Settings,
) -> bool:
    """Record the reminder (unique per slot and person) and queue its email; False if already sent."""
    assert issue.id is not None
    key = r.dedupe_key(issue.id)
    if not _record_sent(session, issue.id, r, key, now):
        return False
    people = {p.id: p for p in journey.people}
    messages.queue(
        session,
        key,
        to_email=r.email,
        to_name=people[r.person].name if r.person in people else "",
        rendered=_reminder_email(journey, issue, state, r, now, settings),
    )
    issues.record_event(
        session,
        issue.id,
        "reminder",
        SYSTEM_ACTOR,
        after={
            "person": r.person,
            "role": r.role,
            "team": r.team,
            "level": r.level,
            "slot": r.slot.isoformat(),
            "kind": r.kind,
        },
        at=now,
    )
    return True


def _record_sent(session: Session, issue_id: int, r: DueReminder, key: str, now: datetime) -> bool:
    """Insert-or-skip on the dedupe key, so a concurrent or repeated sweep sends each reminder once."""
    stmt = (
        insert_ignore(session, SENT, ["dedupe_key"])
        .values(
            issue_id=issue_id,
            person=r.person,
            role=r.role,
            slot=r.slot,
            level=r.level,
            at=now,
            dedupe_key=key,
        )
        .returning(SENT.c.id)
    )
    return session.execute(stmt).first() is not None


def _reminder_email(
    journey: Journey,
    issue: ExperienceIssue,
    state: IssueAccountability,
    r: DueReminder,
    now: datetime,
    settings: Settings,
) -> messages.Rendered:
    assert issue.id is not None
    people = {p.id: p for p in journey.people}
    stage = journey.stage(issue.stage)
    subject = f"[Seam] {state.priority.upper()} EI-{issue.id} {issue.title}: " + (
        "overdue" if r.kind == "overdue" else "due"
    )
    return templates.render(
        "reminder",
        subject,
        {
            "name": people[r.person].name if r.person in people else r.person,
            "why": _why(r),
            "issue": issue,
            "stage": stage.name if stage else issue.stage,
            "priority": state.priority,
            "impact": f"{state.impact_score:g}",
            "due": state.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "link": issue_url(settings.public_url, issue.id),
            # Signed for this person, issue and action; each opens a page whose button acts.
            **action_links(
                settings.secret_key.get_secret_value(), settings.public_url, r.person, issue.id, now
            ),
        },
    )


def confirm_request(
    session: Session,
    journey: Journey,
    issue: ExperienceIssue,
    result: Verification,
    now: datetime,
    settings: Settings,
) -> None:
    assert issue.id is not None
    stage = journey.stage(issue.stage)
    owner = next((p for p in journey.people if stage and p.id == stage.owner), None)
    if owner is None:
        return
    rendered = templates.render(
        "confirm_request",
        f"[Seam] EI-{issue.id} {issue.title}: the fix is holding, please confirm",
        {
            "name": owner.name,
            "issue": issue,
            "reasons": result.reasons,
            "link": issue_url(settings.public_url, issue.id),
        },
    )
    key = f"confirm-request:{issue.id}:{result.window_start.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    messages.queue(session, key, to_email=str(owner.email), to_name=owner.name, rendered=rendered)
