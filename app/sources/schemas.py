"""Sources in and out of the API. Secrets go in; they never come out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictBool

from app.core.types_api import HTTP_URL_PATTERN, ApiModel

SourceKind = Literal["typeform", "surveymonkey", "delighted", "qualtrics", "zendesk", "standard"]
# Thin kinds: their webhook carries ids only, and the answers are fetched with the source's API token.
FETCHING_KINDS = frozenset({"surveymonkey", "qualtrics"})
MIN_TOKEN_LEN = 24  # Qualtrics URL tokens: the token is the only proof of origin


def _when(kinds: list[str], then: dict[str, Any]) -> dict[str, Any]:
    return {"if": {"properties": {"kind": {"enum": kinds}}, "required": ["kind"]}, "then": then}


_SECRET = {
    "surveymonkey": r"^[^&]+&[\s\S]+$",
    "qualtrics": rf"^[A-Za-z0-9_-]{{{MIN_TOKEN_LEN},}}$",
    "standard": r"^(whsec_)?([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$",
}
_NOT_FETCHING = sorted(set(get_args(SourceKind)) - FETCHING_KINDS)
# The rules sources.service checks for each kind, stated in the schema: a secret of the kind's form, and
# an API token (and for Qualtrics a data-centre URL) only for the kinds that fetch.
SOURCE_RULES: dict[str, Any] = {
    "allOf": [
        *(_when([kind], {"properties": {"secret": {"pattern": p}}}) for kind, p in _SECRET.items()),
        _when(
            sorted(FETCHING_KINDS),
            {"required": ["api_token"], "properties": {"api_token": {"type": "string", "pattern": r"\S"}}},
        ),
        _when(
            ["qualtrics"],
            {"required": ["api_base_url"], "properties": {"api_base_url": {"type": "string"}}},
        ),
        _when(_NOT_FETCHING, {"properties": {"api_base_url": {"type": "null"}}}),
    ]
}
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
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, json_schema_extra=SOURCE_RULES)

    kind: SourceKind
    name: str = Field(min_length=1, max_length=200)
    secret: SecretStr = Field(
        # Not blank (sources.service refuses a secret of spaces) and no NUL; SecretStr takes no
        # `pattern` of its own.
        json_schema_extra={"pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"},
        description=(
            "The webhook signing secret as the vendor names it: Typeform secret; SurveyMonkey "
            "'{client_id}&{client_secret}'; Delighted private API key; Zendesk signing secret; Standard "
            "Webhooks 'whsec_<base64>'; Qualtrics: a random token of at least 24 characters that you "
            "put in the subscription URL (/webhooks/{id}/{token}). Stored encrypted, never returned."
        ),
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="SurveyMonkey access token / Qualtrics X-API-TOKEN, to fetch the answers of thin "
        "deliveries. Stored encrypted, never returned.",
    )
    api_base_url: str | None = Field(
        default=None,
        max_length=500,
        pattern=HTTP_URL_PATTERN,
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
    staff: StrictBool = Field(
        default=False, description="Staff checks: items are stored with source 'staff'."
    )
    enabled: StrictBool = True
    retention_days: int | None = RETENTION


class SourcePatch(ApiModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    secret: SecretStr | None = None
    api_token: SecretStr | None = None
    api_base_url: str | None = Field(default=None, max_length=500, pattern=HTTP_URL_PATTERN)
    mapping: dict[str, Any] | None = None
    default_touchpoint: str | None = TOUCHPOINT
    default_persona: str | None = PERSONA
    staff: StrictBool | None = None
    enabled: StrictBool | None = None
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
