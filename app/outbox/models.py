from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class OutboxMessage(SQLModel, table=True):
    """Outbound work, written in the same transaction as the change that needs it."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_claim", "state", "available_at"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=100)
    # A double tick or a retried request writes the same key, and so no second message.
    dedupe_key: str = Field(max_length=300, unique=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # pending -> in_flight -> done | (pending again, later) | dead
    state: str = Field(default="pending", max_length=20)
    attempts: int = 0
    max_attempts: int = 8
    available_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, max_length=200)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
