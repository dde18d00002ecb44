"""An issue's counters (items, customers, detractors, first and last seen, facets): added to batch by
batch as items join, or counted again from the items after merges and moves. Either way the evidence
reactions (impact and priority) run in the same transaction."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, case, delete, func, literal, select, update
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.sql import is_in
from app.feedback.models import FeedbackItem
from app.issues import facets, reactions
from app.issues.models import ExperienceIssue, IssueCustomer
from app.issues.scores import is_detractor

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
CUSTOMERS = IssueCustomer.__table__  # type: ignore[attr-defined]


@dataclass
class Delta:
    items: int = 0
    detractors: int = 0
    customers: set[str] | None = None
    first: datetime | None = None
    last: datetime | None = None
    # (persona, staff) -> items: the issue's facets grow with its item count (app.issues.facets).
    by_facet: Counter[facets.Key] = field(default_factory=Counter)

    def add(
        self,
        occurred_at: datetime,
        score: float | None,
        scale: str | None,
        customer: str | None,
        *,
        persona: str | None = None,
        staff: bool = False,
    ) -> None:
        self.items += 1
        self.by_facet[(persona, staff)] += 1
        self.detractors += int(is_detractor(score, scale))
        if customer:
            (self.customers if self.customers is not None else self._new()).add(customer)
        self.first = occurred_at if self.first is None else min(self.first, occurred_at)
        self.last = occurred_at if self.last is None else max(self.last, occurred_at)

    def _new(self) -> set[str]:
        self.customers = set()
        return self.customers


def apply_deltas(session: Session, deltas: dict[int, Delta], *, at: datetime | None = None) -> None:
    """Adds new items to issue counters. Call with the issues locked (see `lock`). The evidence
    reactions (impact and priority) then run in the same transaction, at `at`."""
    now = at or utcnow()
    for issue_id in sorted(deltas):
        d = deltas[issue_id]
        new_customers = 0
        if d.customers:
            # The issue row is locked, so nobody else adds customers to it until we commit: read, then add.
            known = set(
                session.execute(
                    select(CUSTOMERS.c.customer_ref).where(
                        CUSTOMERS.c.issue_id == issue_id,
                        is_in(session, CUSTOMERS.c.customer_ref, sorted(d.customers), String),
                    )
                ).scalars()
            )
            fresh = sorted(d.customers - known)
            if fresh:
                session.execute(
                    CUSTOMERS.insert(), [{"issue_id": issue_id, "customer_ref": c} for c in fresh]
                )
            new_customers = len(fresh)
        c = ISSUES.c
        session.execute(
            update(ISSUES)
            .where(c.id == issue_id)
            .values(
                item_count=c.item_count + d.items,
                customer_count=c.customer_count + new_customers,
                detractor_count=c.detractor_count + d.detractors,
                first_seen=case(
                    (c.first_seen.is_(None) | (c.first_seen > d.first), d.first), else_=c.first_seen
                ),
                last_seen=case((c.last_seen.is_(None) | (c.last_seen < d.last), d.last), else_=c.last_seen),
                updated_at=now,
            )
        )
    facets.add(session, {issue_id: d.by_facet for issue_id, d in deltas.items()})
    if deltas:
        reactions.evidence_changed(session, sorted(deltas), now)


def recompute(session: Session, issue_id: int, *, at: datetime | None = None) -> None:
    """Counts from the items themselves: used after merges and moves, where increments can't be trusted.
    The evidence reactions then weigh the issue again."""
    fi = FeedbackItem.__table__.c  # type: ignore[attr-defined]
    session.execute(delete(CUSTOMERS).where(CUSTOMERS.c.issue_id == issue_id))
    customers = (
        select(fi.customer_ref).where(fi.issue_id == issue_id, fi.customer_ref.is_not(None)).distinct()
    )
    session.execute(
        CUSTOMERS.insert().from_select(
            ["issue_id", "customer_ref"],
            select(literal(issue_id), customers.subquery().c.customer_ref),
        )
    )
    rows = session.execute(
        select(fi.score, fi.scale, fi.occurred_at, fi.staff).where(fi.issue_id == issue_id)
    ).all()
    items = len(rows)
    detractors = sum(1 for r in rows if not r.staff and is_detractor(r.score, r.scale))
    n_customers = session.execute(select(func.count()).where(CUSTOMERS.c.issue_id == issue_id)).scalar_one()
    facets.rebuild(session, issue_id)
    times = [r.occurred_at for r in rows]
    session.execute(
        update(ISSUES)
        .where(ISSUES.c.id == issue_id)
        .values(
            item_count=items,
            customer_count=n_customers,
            detractor_count=detractors,
            first_seen=min(times) if times else None,
            last_seen=max(times) if times else None,
            updated_at=utcnow(),
        )
    )
    reactions.evidence_changed(session, [issue_id], at or utcnow())
