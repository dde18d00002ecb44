"""When an emerging group becomes an experience issue: the journey's evidence rule
(`routing.evidence`: items, distinct customers, detractors, all met)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, func, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.sql import is_in
from app.feedback.models import FeedbackItem
from app.issues import service as issues
from app.issues.models import ExperienceIssue
from app.journey.schemas import EvidenceSettings, Journey

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Evidence:
    items: int
    customers: int
    detractors: int

    def enough(self, rule: EvidenceSettings) -> bool:
        return (
            self.items >= rule.items
            and self.customers >= rule.customers
            and self.detractors >= rule.detractors
        )

    def says(self) -> str:
        return f"{self.items} items from {self.customers} customers, {self.detractors} detractors"


def of(session: Session, issue_ids: Sequence[int]) -> dict[int, Evidence]:
    """Each issue's evidence: its counters, with customers counting each item without a reference once
    (an anonymous survey answer is still somebody)."""
    if not issue_ids:
        return {}
    c = ITEMS.c
    anonymous = dict(
        session.execute(
            select(c.issue_id, func.count())
            .where(is_in(session, c.issue_id, list(issue_ids), Integer), c.customer_ref.is_(None), ~c.staff)
            .group_by(c.issue_id)
        ).all()
    )
    i = ISSUES.c
    rows = session.execute(
        select(i.id, i.item_count, i.customer_count, i.detractor_count).where(
            is_in(session, i.id, list(issue_ids), Integer)
        )
    )
    return {
        int(r.id): Evidence(r.item_count, r.customer_count + int(anonymous.get(r.id, 0)), r.detractor_count)
        for r in rows
    }


def promote_ready(
    session: Session,
    journey: Journey,
    issue_ids: Sequence[int],
    actor: Actor,
    *,
    at_once: Collection[int] = (),
    at: datetime | None = None,
) -> list[int]:
    """Promotes the emerging ones among these issues whose evidence now meets the journey's rule, or
    that took an item whose moment or rule opens issues at once, as a transition (so its reactions run,
    and the event says why). Returns the promoted ids."""
    i = ISSUES.c
    emerging = [
        int(x)
        for x in session.execute(
            select(i.id).where(is_in(session, i.id, list(issue_ids), Integer), i.status == "emerging")
        ).scalars()
    ]
    promoted: list[int] = []
    rule = journey.routing.evidence
    for issue_id, found in sorted(of(session, emerging).items()):
        if found.enough(rule):
            issues.transition(session, issue_id, "open", f"evidence: {found.says()}", actor, at=at)
            promoted.append(issue_id)
        elif issue_id in at_once:
            why = f"at once: its moment or rule asks for it ({found.says()})"
            issues.transition(session, issue_id, "open", why, actor, at=at)
            promoted.append(issue_id)
    return promoted
