"""Moment-of-truth triggers in the running service ("a customer's third contact in 30 days").

A customer's items are counted under a per-customer lock (PostgreSQL advisory lock; SQLite runs writers one
at a time), so the count is exact under concurrent ingestion."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlmodel import Session

from app.feedback.models import FeedbackItem
from app.journey.schemas import Journey
from app.journey.triggers import CustomerEvent, TriggerResult, TriggerSpec, evaluate
from app.routing import placement

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
TRIGGER_PREFIX = "trigger:"


@dataclass(frozen=True)
class TriggerCandidate:
    index: int
    decision: placement.Decision | None
    customer: str | None
    source: str
    occurred_at: datetime


def _lock_customers(session: Session, customers: Sequence[str]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite transactions begin IMMEDIATE: writers already run one at a time
    for customer in sorted(set(customers)):
        digest = hashlib.sha256(f"seam-trigger:{customer}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def apply_triggers(
    session: Session, journey: Journey, rows: Sequence[TriggerCandidate]
) -> dict[int, placement.Decision]:
    """Items that take a customer over a moment's trigger join that moment's issue for the customer.

    Counting happens under a per-customer lock held to commit, so concurrent requests count in turn.
    Returns the new decisions by row index.
    """
    specs = [(s, m, m.trigger.spec()) for s in journey.stages for m in s.moments if m.trigger is not None]
    if not specs:
        return {}

    def event(r: TriggerCandidate, item_id: str) -> CustomerEvent:
        return CustomerEvent(r.occurred_at, r.decision.stage if r.decision else None, r.source, item_id)

    relevant = [r for r in rows if r.customer and any(spec.accepts(event(r, "new")) for _, _, spec in specs)]
    if not relevant:
        return {}
    _lock_customers(session, [r.customer for r in relevant if r.customer])
    out: dict[int, placement.Decision] = {}
    earlier: dict[str, list[CustomerEvent]] = {}
    c = ITEMS.c
    for r in relevant:
        assert r.customer is not None
        new = event(r, f"batch:{r.index}")
        for stage, moment, spec in specs:
            if not spec.accepts(new):
                continue
            stmt = select(c.id, c.occurred_at, c.stage, c.source).where(
                c.customer_ref == r.customer,
                c.occurred_at > r.occurred_at - spec.within,
                c.occurred_at <= r.occurred_at,
            )
            history = [CustomerEvent(t, s, src, str(i)) for i, t, s, src in session.execute(stmt)]
            history += earlier.get(r.customer, [])
            result = evaluate(spec, history, new, r.occurred_at)
            if result.count < spec.count:
                continue
            out[r.index] = _fired(r, stage.key, moment.key, spec, result)
            break
        earlier.setdefault(r.customer, []).append(new)
    return out


def _fired(
    r: TriggerCandidate, stage: str, moment: str, spec: TriggerSpec, result: TriggerResult
) -> placement.Decision:
    """The decision for an item that took its customer over the moment's trigger: that moment's issue
    for the customer, with the count and the evidence that fired it."""
    base = r.decision or placement.decide_manually(
        placement.ItemFacts(None, r.source, None, None, None, None), stage, moment, actor="trigger"
    )
    why = {
        "method": "trigger",
        "moment": moment,
        "count": result.count,
        "within": spec.within.total_seconds(),
        "fired": result.fired,
        "evidence": [e for e in result.evidence if not e.startswith("batch:")],
    }
    return placement.Decision(
        stage=stage,
        moment=moment,
        fingerprint=placement.bounded(f"{TRIGGER_PREFIX}{moment}:{r.customer}"),
        method=base.method if r.decision else "trigger",
        detail={**base.detail, "grouping": why},
    )
