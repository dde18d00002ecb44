from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import false, true
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class Source(SQLModel, table=True):
    """A configured sender of feedback: one Typeform form, one Delighted project, one Zendesk account..."""

    __tablename__ = "sources"
    # Ids appear in webhook URLs: never hand a deleted source's id (and URL) to a new one.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=30)
    name: str = Field(max_length=200)
    # Encrypted with app.core.crypto (SEAM_SECRET_KEY); never returned by the API, never logged.
    secret_encrypted: str
    api_token_encrypted: str | None = None
    api_base_url: str | None = Field(default=None, max_length=500)
    # Per-source FieldMapping overrides (whole fields replace the kind's default mapping).
    mapping: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    default_touchpoint: str | None = Field(default=None, max_length=200)
    default_persona: str | None = Field(default=None, max_length=100)
    # "Experience the experience": items from a staff source are stored with source "staff".
    staff: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    enabled: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    # Days its items keep their text and metadata (app.privacy.retention); None: SEAM_RETENTION_DAYS.
    retention_days: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
