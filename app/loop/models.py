"""Close-the-loop tables: each issue's accountability state, what it was told and by whom it was held.

- `issue_accountability`: one row per issue: impact score, priority, due date, fix shipped, the last
  verification outcome, and whether the owner was asked to confirm.
- `loop_actions`: acknowledgements and snoozes (the history the reminder cadence reads).
- `reminders_sent`: one row per (issue, slot, person): the unique dedupe key makes a double tick harmless.
- `customer_notices`: one row per customer and issue, told once; carries the "did this fix it?" answer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import UTCDateTime


class IssueAccountability(SQLModel, table=True):
    __tablename__ = "issue_accountability"
    __table_args__ = (Index("ix_issue_accountability_due", "due_at"),)

    issue_id: int = Field(foreign_key="experience_issues.id", primary_key=True)
    priority: str = Field(max_length=2)
    impact_score: float = 0.0
    due_at: datetime = Field(sa_type=UTCDateTime)
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verification_outcome: str | None = Field(default=None, max_length=20)
    verification_reason: str | None = None
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirm_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoopAction(SQLModel, table=True):
    """An acknowledgement (`ack`) or a snooze (`snooze`, with its end and reason)."""

    __tablename__ = "loop_actions"
    __table_args__ = (Index("ix_loop_actions_issue", "issue_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="experience_issues.id")
    kind: str = Field(max_length=10)
    at: datetime = Field(sa_type=UTCDateTime)
    until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reason: str | None = None
    actor: str = Field(max_length=200)


class ReminderSent(SQLModel, table=True):
    __tablename__ = "reminders_sent"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_reminders_sent_dedupe_key"),
        Index("ix_reminders_sent_issue", "issue_id", "slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="experience_issues.id")
    person: str = Field(max_length=100)
    role: str = Field(max_length=20)
    slot: datetime = Field(sa_type=UTCDateTime)
    level: int = 0
    at: datetime = Field(sa_type=UTCDateTime)
    dedupe_key: str = Field(max_length=300)


class CustomerNotice(SQLModel, table=True):
    """A customer told that an issue they reported is fixed. Unique per (customer, issue): a reopen and a
    second confirmation do not tell them twice, and a customer behind several items hears once."""

    __tablename__ = "customer_notices"
    __table_args__ = (UniqueConstraint("customer_ref", "issue_id", name="uq_customer_notice"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_ref: str = Field(max_length=200)
    issue_id: int = Field(foreign_key="experience_issues.id")
    channel: str = Field(max_length=20)
    address: str = Field(max_length=320)
    sent_at: datetime = Field(sa_type=UTCDateTime)
    answer: str | None = Field(default=None, max_length=3)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
