from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class InboundDelivery(SQLModel, table=True):
    """A verified webhook delivery, stored raw before anything is made of it (the inbox)."""

    __tablename__ = "inbound_deliveries"
    __table_args__ = (
        # A vendor's retry of the same delivery is the same row: this is the dedupe.
        UniqueConstraint("channel", "delivery_id", name="uq_inbound_channel_delivery"),
        Index("ix_inbound_channel_state", "channel", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Who sent it, e.g. "source:12" for a survey source, "integration:3" for a Jira instance.
    channel: str = Field(max_length=100)
    delivery_id: str = Field(max_length=300)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    content_type: str | None = Field(default=None, max_length=200)
    # Only the headers processing needs; never Authorization or signature secrets.
    headers: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    body: bytes = Field(sa_type=LargeBinary)
    # pending -> processed | ignored | quarantined (kept, with the reason, to be replayed)
    state: str = Field(default="pending", max_length=20)
    error: str | None = None
    attempts: int = 0
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
