"""An issue's two fixes, kept apart: the quick fix (`mitigation`) that stops the bleeding, and the
`long_term` fix that removes the cause. The long-term fix is verified on its own (`judge`): once the
journey's `root_causes.long_term_window` has passed since it shipped, it is `verified` unless customers
kept reporting the issue in that window (at least `verification.min_recurrence_items` items and more
than `max_rate_ratio` of the same span before it shipped), which makes it `failed`. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.errors import Conflict, field_error
from app.feedback.models import FeedbackItem
from app.insights.models import IssueFix
from app.issues import service as issues
from app.journey.accountability import VerificationRules
from app.journey.insights import RootCauses
from app.journey.schemas import Journey

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
FIXES = IssueFix.__table__  # type: ignore[attr-defined]
FixKind = Literal["mitigation", "long_term"]


def record(
    session: Session,
    issue_id: int,
    kind: FixKind,
    description: str,
    shipped_at: datetime | None,
    actor: Actor,
    now: datetime,
) -> IssueFix:
    """Sets the issue's fix of this kind; a changed ship date starts the long-term verification again."""
    issue = issues.get(session, issue_id)
    assert issue.id is not None
    row = session.execute(
        select(IssueFix).where(FIXES.c.issue_id == issue.id, FIXES.c.kind == kind)
    ).scalar_one_or_none()
    if row is None:
        row = IssueFix(issue_id=issue.id, kind=kind, description=description, recorded_by=actor.name)
    if row.shipped_at != shipped_at:
        row.verification, row.verified_at, row.verification_note = "pending", None, None
    row.description, row.shipped_at = description, shipped_at
    row.recorded_by, row.recorded_at = actor.name, now
    session.add(row)
    issues.record_event(
        session,
        issue.id,
        f"fix_{kind}",
        actor,
        reason=description[:2000],
        after={"kind": kind, "shipped_at": shipped_at.isoformat() if shipped_at else None},
        at=now,
    )
    return row


def of_issue(session: Session, issue_id: int) -> dict[str, IssueFix]:
    rows = session.execute(select(IssueFix).where(FIXES.c.issue_id == issue_id)).scalars()
    return {r.kind: r for r in rows}


@dataclass(frozen=True)
class Judgement:
    outcome: Literal["pending", "verified", "failed"]
    window_end: datetime
    before: int
    after: int
    note: str


def judge(
    shipped_at: datetime, now: datetime, window: timedelta, before: int, after: int, rules: VerificationRules
) -> Judgement:
    """Pure: the long-term fix's verdict from the customer items in the window before and after it shipped."""
    end = shipped_at + window
    counts = f"{after} customer items in the {window.days} days after shipping, {before} in as long before"
    if now < end:
        return Judgement("pending", end, before, after, f"window ends {end.date().isoformat()}; {counts}")
    recurred = after >= rules.min_recurrence_items and after > rules.max_rate_ratio * before
    return Judgement("failed" if recurred else "verified", end, before, after, counts)


def verify_long_term(
    session: Session, journey: Journey, issue_id: int, actor: Actor, now: datetime
) -> IssueFix:
    """Judges the issue's shipped long-term fix and records the verdict (an issue event when it changes)."""
    issue = issues.get(session, issue_id)
    row = of_issue(session, issue_id).get("long_term")
    if row is None or row.shipped_at is None:
        raise Conflict(
            "This issue has no shipped long-term fix to verify.",
            errors=[field_error("long_term.shipped_at", "record the long-term fix with its ship date first")],
        )
    window = (journey.root_causes or RootCauses()).long_term_window
    shipped = row.shipped_at
    c = ITEMS.c

    def count(lo: datetime, hi: datetime) -> int:
        stmt = select(func.count()).where(
            c.issue_id == issue.id, c.staff.is_(False), c.occurred_at >= lo, c.occurred_at < hi
        )
        return int(session.execute(stmt).scalar_one())

    j = judge(
        shipped,
        now,
        window,
        count(shipped - window, shipped),
        count(shipped, min(now, shipped + window)),
        journey.accountability.verification,
    )
    changed = j.outcome != row.verification
    row.verification, row.verification_note = j.outcome, j.note
    row.verified_at = now if j.outcome != "pending" else None
    session.add(row)
    if changed and issue.id is not None:
        issues.record_event(
            session,
            issue.id,
            "long_term_verification",
            actor,
            reason=j.note,
            after={"outcome": j.outcome, "before": j.before, "after": j.after},
            at=now,
        )
    return row
