"""What the API takes and gives for integrations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool

from app.core.types_api import HTTP_URL_PATTERN, ApiModel

VendorName = Literal["jira", "zendesk"]


class TargetIn(ApiModel):
    """Where a team's tickets go: a Jira project (and issue type) or a Zendesk group."""

    model_config = ConfigDict(extra="forbid")

    project_key: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]{1,9}$")
    issue_type: str = Field(default="Task", min_length=1, max_length=100)
    group_id: int | None = Field(default=None, gt=0)


class IntegrationIn(ApiModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str = Field(min_length=1, max_length=100)
    vendor: VendorName
    base_url: str = Field(min_length=1, max_length=500, pattern=HTTP_URL_PATTERN)
    email: str = Field(min_length=3, max_length=320)
    api_token: SecretStr = Field(min_length=1, max_length=2000)
    webhook_secret: SecretStr | None = Field(default=None, min_length=8, max_length=500)
    options: dict[str, Any] = Field(
        default_factory=dict, description="Adapter settings other than URL and credentials."
    )
    targets: dict[str, TargetIn] = Field(default_factory=dict, description="Per team key.")
    enabled: StrictBool = True


class IntegrationPatch(ApiModel):
    """Fields to change; secrets are replaced only when given."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str | None = Field(default=None, min_length=1, max_length=100)
    base_url: str | None = Field(default=None, min_length=1, max_length=500, pattern=HTTP_URL_PATTERN)
    email: str | None = Field(default=None, min_length=3, max_length=320)
    api_token: SecretStr | None = Field(default=None, min_length=1, max_length=2000)
    webhook_secret: SecretStr | None = Field(default=None, min_length=8, max_length=500)
    options: dict[str, Any] | None = None
    targets: dict[str, TargetIn] | None = None
    enabled: StrictBool | None = None


class IntegrationOut(BaseModel):
    """No email, token or webhook secret: credentials are write-only."""

    id: int
    name: str
    vendor: str
    base_url: str
    options: dict[str, Any]
    targets: dict[str, Any]
    enabled: bool
    has_webhook_secret: bool
    webhook_url: str
    created_at: datetime
    updated_at: datetime


class IntegrationPage(BaseModel):
    items: list[IntegrationOut]
