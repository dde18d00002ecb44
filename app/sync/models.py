"""Sync's table: each team's contribution to an issue, mirrored by a ticket in the team's tool."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class Contribution(SQLModel, table=True):
    """One team's part of the fix for an issue, mirrored by a ticket in the team's tool."""

    __tablename__ = "contributions"
    __table_args__ = (
        UniqueConstraint("issue_id", "team", name="uq_contribution_issue_team"),
        # Inbound webhooks and reconciliation find a contribution by the vendor's stable numeric id.
        Index("ix_contribution_ticket", "integration_id", "ticket_id"),
        Index("ix_contribution_state", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="experience_issues.id")
    team: str = Field(max_length=100)
    integration_id: int = Field(foreign_key="integrations.id")
    required: bool = True
    # requested (no ticket yet) -> open | in_progress | done | wont_do | duplicate | cannot_reproduce;
    # failed: the ticket could not be created within its retry budget (`failure_reason`), until retried.
    state: str = Field(default="requested", max_length=20)
    failure_reason: str | None = Field(default=None, max_length=2000)
    target: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    ticket_id: str | None = Field(default=None, max_length=100)
    ticket_key: str | None = Field(default=None, max_length=100)
    ticket_url: str | None = Field(default=None, max_length=1000)
    vendor_status: str | None = Field(default=None, max_length=200)
    vendor_resolution: str | None = Field(default=None, max_length=200)
    # The vendor's own `updated` of the state we hold: older events are stale and ignored.
    vendor_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    requested_by: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
