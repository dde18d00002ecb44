"""Integrations and contributions in and out of the API. Secrets go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.types_api import ApiModel


class ContributionIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, max_length=100)
    integration_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="Default: the integration with a target for the team."
    )
    required: bool = Field(
        default=True, description="The issue is fix_shipped when every required one is done."
    )


class ContributionOut(BaseModel):
    id: int
    issue_id: int
    team: str
    integration_id: int
    vendor: str
    required: bool
    state: str
    failure_reason: str | None = None
    target: dict[str, Any]
    ticket_id: str | None
    ticket_key: str | None
    ticket_url: str | None
    vendor_status: str | None
    vendor_resolution: str | None
    vendor_updated_at: datetime | None
    last_synced_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ContributionPage(BaseModel):
    items: list[ContributionOut]
