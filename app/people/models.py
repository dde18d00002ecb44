"""People's tables.

- `used_tokens`: the ids of one-time links already spent (sign-in links, one-click reminder actions); the
  primary key makes a second use fail, however many requests race.
- `audit_log`: what people did and what they were refused, with who, when and on what.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import UTCDateTime


class UsedToken(SQLModel, table=True):
    __tablename__ = "used_tokens"

    jti: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=20)
    person: str = Field(max_length=100)
    used_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Kept so that spent tokens can be pruned once they could no longer be used anyway.
    expires_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    action: str = Field(max_length=50)
    target: str | None = Field(default=None, max_length=200)
    outcome: str = Field(max_length=20)
    detail: str | None = Field(default=None, max_length=2000)
