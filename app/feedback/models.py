from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class FeedbackItem(SQLModel, table=True):
    __tablename__ = "feedback_items"
    __table_args__ = (
        # Retries and re-imports never duplicate: the sender's id is unique per source.
        UniqueConstraint("source", "external_id", name="uq_feedback_source_external_id"),
        Index("ix_feedback_stage_received", "stage", "received_at"),
        # Listings filter on one column and page newest first by id: each filter's index ends in id, so
        # a page is a short index range however many items there are (migration 0022).
        Index("ix_feedback_issue_id", "issue_id", "id"),
        Index("ix_feedback_state_id", "state", "id"),
        Index("ix_feedback_stage_id", "stage", "id"),
        Index("ix_feedback_source_id", "source", "id"),
        Index("ix_feedback_occurred_id", "occurred_at", "id"),
        # `sort=occurred` with a filter: the filter's index ends in the sort's columns (migration 0026).
        Index("ix_feedback_stage_occurred_id", "stage", "occurred_at", "id"),
        Index("ix_feedback_source_occurred_id", "source", "occurred_at", "id"),
        Index("ix_feedback_state_occurred_id", "state", "occurred_at", "id"),
        Index("ix_feedback_customer", "customer_ref"),
        Index("ix_feedback_received_id", "received_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=100)
    external_id: str = Field(max_length=200)
    text: str | None = None
    score: float | None = None
    scale: str | None = Field(default=None, max_length=10)
    touchpoint: str | None = Field(default=None, max_length=200)
    customer_ref: str | None = Field(default=None, max_length=200)
    persona: str | None = Field(default=None, max_length=100)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    extra: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # "placed" once it has a stage and an issue, "triage" while a person must decide.
    state: str = Field(default="triage", max_length=20)
    stage: str | None = Field(default=None, max_length=100)
    moment: str | None = Field(default=None, max_length=100)
    issue_id: int | None = Field(default=None, foreign_key="experience_issues.id")
    placement: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_by_key_id: int | None = Field(default=None, foreign_key="api_keys.id")
    # Which ingest call stored the row: tells a batch's own inserts from a concurrent twin's.
    ingest_batch: str | None = Field(default=None, max_length=32)
    # Staff "experience the experience" checks (source "staff"): kept apart from customer metrics.
    staff: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Set when personal data was removed (app.privacy): "erased" at the customer's request, "retention"
    # when its source's retention ran out. Scores and placement stay, so the figures still add up.
    redacted: str | None = Field(default=None, max_length=20)
    redacted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
