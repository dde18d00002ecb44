from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # The first characters of the key, shown in listings and used to find the row; never the secret part.
    prefix: str = Field(max_length=32, unique=True)
    key_hash: str = Field(max_length=128)
    scopes: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Refused from then on; None: until revoked.
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Kept to the minute (see service.touch): a write per request would cost more than it tells.
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiKeyEvent(SQLModel, table=True):
    """The audit trail of keys: who made, rotated or revoked which key, and when."""

    __tablename__ = "api_key_events"

    id: int | None = Field(default=None, primary_key=True)
    key_id: int = Field(foreign_key="api_keys.id", index=True)
    action: str = Field(max_length=20)  # created, rotated, revoked
    actor: str = Field(max_length=200)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    detail: str | None = Field(default=None, max_length=500)


class RateWindow(SQLModel, table=True):
    """Counts of one rate-limited thing (a bucket such as `sign-in:email:HASH`) in one fixed window;
    in the database so a limit holds across every replica."""

    __tablename__ = "rate_windows"

    bucket: str = Field(max_length=200, primary_key=True)
    window_start: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    hits: int = 0
