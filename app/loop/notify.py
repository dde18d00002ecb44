"""Who is told what, inside the caller's transaction: reminders (with their record and event, bundled
into one message per person and day) and the owner's "please confirm". Writes rows and outbox messages
only; the worker sends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session

from app.core.actor import SYSTEM_ACTOR
from app.core.settings import Settings
from app.core.sql import insert_ignore
from app.issues import service as issues
from app.issues.models import ExperienceIssue
from app.journey.schemas import Journey
from app.loop.models import IssueAccountability, ReminderSent
from app.loop.reminders import BundleKind, DueReminder
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


@dataclass(frozen=True)
class Due:
    """One reminder due for one person, with the issue it is about."""

    issue: ExperienceIssue
    state: IssueAccountability
    reminder: DueReminder


def bundle_key(kind: BundleKind, person: str, day: date) -> str:
    return f"{kind}:{person}:{day.isoformat()}"


def send_bundle(
    session: Session,
    journey: Journey,
    kind: BundleKind,
    day: date,
    due: list[Due],
    now: datetime,
    settings: Settings,
) -> int:
    """Record each reminder (unique per slot and person) with its event, and queue one message to the
    person for all of them (unique per person, kind and their day). Returns how many it carries."""
    fresh = [d for d in due if d.issue.id is not None and _record_sent(session, d.issue.id, d.reminder, now)]
    if not fresh:
        return 0
    for d in fresh:
        r = d.reminder
        assert d.issue.id is not None
        issues.record_event(
            session,
            d.issue.id,
            "reminder",
            SYSTEM_ACTOR,
            after={
                "person": r.person,
                "role": r.role,
                "team": r.team,
                "level": r.level,
                "slot": r.slot.isoformat(),
                "kind": r.kind,
                "bundle": bundle_key(kind, r.person, day),
            },
            at=now,
        )
    first = fresh[0].reminder
    people = {p.id: p for p in journey.people}
    messages.queue(
        session,
        bundle_key(kind, first.person, day),
        to_email=first.email,
        to_name=people[first.person].name if first.person in people else "",
        rendered=_bundle_email(journey, kind, fresh, now, settings),
    )
    return len(fresh)


def _record_sent(session: Session, issue_id: int, r: DueReminder, now: datetime) -> bool:
    """Insert-or-skip on the dedupe key, so a concurrent or repeated sweep sends each reminder once."""
    key = r.dedupe_key(issue_id)
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


def _bundle_email(
    journey: Journey, kind: BundleKind, due: list[Due], now: datetime, settings: Settings
) -> messages.Rendered:
    """One message for everything due for one person: most urgent first."""
    people = {p.id: p for p in journey.people}
    person = due[0].reminder.person
    ordered = sorted(due, key=lambda d: (d.state.priority, d.state.due_at, d.issue.id or 0))
    lines = []
    for d in ordered:
        issue, state, r = d.issue, d.state, d.reminder
        assert issue.id is not None
        stage = journey.stage(issue.stage)
        lines.append(
            {
                "issue": issue,
                "why": _why(r),
                "overdue": r.kind == "overdue",
                "stage": stage.name if stage else issue.stage,
                "priority": state.priority,
                "impact": f"{issue.impact:g}",
                "due": state.due_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "link": issue_url(settings.public_url, issue.id),
                # Signed for this person, issue and action; each opens a page whose button acts.
                **action_links(
                    settings.secret_key.get_secret_value(), settings.public_url, person, issue.id, now
                ),
            }
        )
    overdue = sum(1 for line in lines if line["overdue"])
    if len(ordered) == 1:
        one = ordered[0]
        subject = f"[Seam] {one.state.priority.upper()} EI-{one.issue.id} {one.issue.title}: " + (
            "overdue" if one.reminder.kind == "overdue" else "due"
        )
    elif kind == "escalations":
        subject = f"[Seam] Escalation summary: {len(lines)} issues nobody acknowledged ({overdue} overdue)"
    else:
        subject = f"[Seam] {len(lines)} experience issues need you ({overdue} overdue)"
    return templates.render(
        "reminder",
        subject,
        {
            "name": people[person].name if person in people else person,
            "escalation": kind == "escalations",
            "items": lines,
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
