"""The configured tracker instances (a Jira site, a Zendesk account)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class Integration(SQLModel, table=True):
    """One Jira site or Zendesk account. Secrets are stored encrypted and never leave through the API."""

    __tablename__ = "integrations"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    vendor: str = Field(max_length=20)
    base_url: str = Field(max_length=500)
    email: str = Field(max_length=320)
    # Fernet tokens (app.core.crypto): the API token, and the secret vendors sign webhooks with.
    api_token_enc: str
    webhook_secret_enc: str | None = None
    # Non-secret adapter settings (reopen transition, resolution names, timeouts...).
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # Per team: {"project_key", "issue_type"} for Jira, {"group_id"} for Zendesk; overrides the journey.
    targets: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
