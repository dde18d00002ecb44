"""Sources in and out of the API. Secrets go in; they never come out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from app.core.types_api import ApiModel

SourceKind = Literal["typeform", "surveymonkey", "delighted", "qualtrics", "zendesk", "standard"]
TOUCHPOINT = Field(default=None, min_length=1, max_length=200)
PERSONA = Field(default=None, min_length=1, max_length=100)
RETENTION = Field(
    default=None,
    ge=1,
    le=3650,
    description="Days its items keep their text, metadata and contact details after Seam received them "
    "(scores and placement stay); null: SEAM_RETENTION_DAYS.",
)


class SourceIn(ApiModel):
    # hide_input_in_errors: a validation error must not echo a secret back.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    kind: SourceKind
    name: str = Field(min_length=1, max_length=200)
    secret: SecretStr = Field(
        description=(
            "The webhook signing secret as the vendor names it: Typeform secret; SurveyMonkey "
            "'{client_id}&{client_secret}'; Delighted private API key; Zendesk signing secret; Standard "
            "Webhooks 'whsec_<base64>'; Qualtrics: a random token of at least 24 characters that you "
            "put in the subscription URL (/webhooks/{id}/{token}). Stored encrypted, never returned."
        )
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="SurveyMonkey access token / Qualtrics X-API-TOKEN, to fetch the answers of thin "
        "deliveries. Stored encrypted, never returned.",
    )
    api_base_url: str | None = Field(
        default=None,
        max_length=500,
        description="SurveyMonkey: defaults to https://api.surveymonkey.com. "
        "Qualtrics: your data centre, e.g. https://fra1.qualtrics.com (required).",
    )
    mapping: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of the kind's default field mapping (whole fields), e.g. "
        '{"score": ["form_response.answers[ref=nps].number"]}.',
    )
    default_touchpoint: str | None = TOUCHPOINT
    default_persona: str | None = PERSONA
    staff: bool = Field(default=False, description="Staff checks: items are stored with source 'staff'.")
    enabled: bool = True
    retention_days: int | None = RETENTION


class SourcePatch(ApiModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    secret: SecretStr | None = None
    api_token: SecretStr | None = None
    api_base_url: str | None = Field(default=None, max_length=500)
    mapping: dict[str, Any] | None = None
    default_touchpoint: str | None = TOUCHPOINT
    default_persona: str | None = PERSONA
    staff: bool | None = None
    enabled: bool | None = None
    retention_days: int | None = RETENTION


class SourceOut(BaseModel):
    id: int
    kind: str
    name: str
    webhook_url: str = Field(description="Where the vendor posts. Qualtrics: append /{your token}.")
    has_api_token: bool
    api_base_url: str | None
    mapping: dict[str, Any]
    effective_mapping: dict[str, Any] = Field(description="The kind's default mapping with the overrides.")
    default_touchpoint: str | None
    default_persona: str | None
    staff: bool
    enabled: bool
    retention_days: int | None
    quarantined: int
    created_at: datetime
    updated_at: datetime


class SourceList(BaseModel):
    items: list[SourceOut]


class MappingTestIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any] = Field(
        description="A sample payload as the mapping sees it: the webhook body for Typeform, Delighted, "
        "Zendesk and Standard Webhooks; the fetched response for SurveyMonkey and Qualtrics."
    )
    mapping: dict[str, Any] | None = Field(
        default=None, description="Try these overrides instead of the stored ones (nothing is saved)."
    )


class PreviewItem(BaseModel):
    kind: Literal["feedback", "contact"]
    source: str
    external_id: str
    text: str | None
    score: float | None
    scale: str | None
    touchpoint: str | None
    customer_ref: str | None
    persona: str | None
    occurred_at: datetime | None
    metadata: dict[str, Any]


class MappingTestOut(BaseModel):
    action: Literal["map", "ignore"]
    event_type: str | None
    items: list[PreviewItem]


class QuarantinedOut(BaseModel):
    id: int
    delivery_id: str
    state: str
    error: str | None
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    content_type: str | None
    body: str = Field(description="The raw delivery as text, to fix the mapping against.")


class QuarantinePage(BaseModel):
    items: list[QuarantinedOut]
    next_cursor: str | None


class ReplayOut(BaseModel):
    replayed: int
