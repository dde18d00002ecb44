from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class JourneyVersion(SQLModel, table=True):
    """Every applied journey is kept; the highest version is the one in force."""

    __tablename__ = "journey_versions"

    id: int | None = Field(default=None, primary_key=True)
    version: int = Field(unique=True)
    name: str = Field(max_length=200)
    document: dict[str, Any] = Field(sa_type=JSONType)
    source_text: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
