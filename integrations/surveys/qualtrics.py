"""Qualtrics event subscriptions: a form-urlencoded notice, then a fetch of the response.

Qualtrics documents no signature for ``surveyengine.completedResponse.{SurveyID}`` deliveries
(``encrypt``/``sharedKey`` semantics are unverified, contracts.md §C), so each source gets a
secret token in its webhook URL path, checked with :func:`signatures.verify_shared_token` in
constant time; ``verify(..., token=<token from the URL>)``. Subscribe with
``POST /API/v3/eventsubscriptions``, ``publicationUrl`` = our URL including the token.

The delivery is ``application/x-www-form-urlencoded``: ``Topic, Status, SurveyID, ResponseID,
RecipientID?, DistributionID?, ResponseEventContext?, CompletedDate, BrandID``. Delivery id and
upsert key: ``ResponseID``. Answers come from ``GET /API/v3/surveys/{SurveyID}/responses/{ResponseID}``
(``X-API-TOKEN``), shaped ``{"result": {"responseId", "values": {...}, "labels": {...},
"displayedFields": [...], "displayedValues": {...}}, "meta": {...}}``; ``values`` holds
questions by id (``QID1``, ``QID2_TEXT``), embedded data by name, and ``recordedDate`` etc.

Question ids differ per survey, so before mapping we add ``seam.nps_score`` / ``seam.nps_question``
(the question that has a ``{QID}_NPS_GROUP`` companion, which Qualtrics adds to NPS questions) and
``seam.first_text`` (the first non-empty ``*_TEXT`` value). Default mapping: text
``seam.first_text``; score ``seam.nps_score`` (NPS); customer embedded data ``customer_id``, else
``externalDataReference``; email ``recipientEmail``; persona / touchpoint embedded data
``persona`` / ``touchpoint``; occurred_at ``recordedDate``. Override with
``result.values.QID7`` / ``result.values.QID8_TEXT`` to name questions directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx

from integrations import signatures

from .base import Delivery, FeedbackDraft, FetchRef, FieldMapping, MappingError
from .fetch import get_json, path_segment
from .mapping import body_digest_id, first_str, resolve_draft

KIND = "qualtrics"
NPS_SUFFIX = "_NPS_GROUP"

DEFAULT_MAPPING = FieldMapping(
    external_id=("result.responseId", "result.values._recordId"),
    occurred_at=("result.values.recordedDate", "result.values.endDate"),
    text=("seam.first_text",),
    score=("seam.nps_score",),
    scale="nps",
    customer_ref=("result.values.customer_id", "result.values.externalDataReference"),
    customer_email=("result.values.recipientEmail",),
    persona=("result.values.persona",),
    touchpoint=("result.values.touchpoint",),
    metadata={
        "nps_question": ("seam.nps_question",),
        "distribution_channel": ("result.values.distributionChannel",),
        "language": ("result.values.userLanguage",),
        "finished": ("result.values.finished",),
        "labels": ("result.labels",),
    },
)


def parse_body(body: bytes) -> dict[str, Any]:
    """The form fields of a delivery (the first value of a repeated field wins)."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise MappingError("$", "body: not application/x-www-form-urlencoded") from None
    fields: dict[str, Any] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields


def verify(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime, *, token: str | None = None
) -> None:
    signatures.verify_shared_token(token, secret)


def delivery_id(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> str:
    return first_str(payload, "ResponseID") or body_digest_id(body)


def describe(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> Delivery:
    """Raises :class:`MappingError` when a completed response lacks the ids needed to fetch it."""
    topic = first_str(payload, "Topic") or "unknown"
    if ".completedResponse." not in f".{topic}.":
        return Delivery(
            kind=KIND, delivery_id=delivery_id(headers, body, payload), event_type=topic, action="ignore"
        )
    survey_id = first_str(payload, "SurveyID")
    response_id = first_str(payload, "ResponseID")
    if survey_id is None:
        raise MappingError("SurveyID", "survey_id: missing, so the response cannot be fetched")
    if response_id is None:
        raise MappingError("ResponseID", "response id: missing, so the response cannot be fetched")
    return Delivery(
        kind=KIND,
        delivery_id=response_id,
        event_type=topic,
        external_id=response_id,
        action="fetch",
        fetch=FetchRef(survey_id=survey_id, response_id=response_id),
    )


async def fetch_qualtrics_response(
    client: httpx.AsyncClient, survey_id: str, response_id: str, *, api_token: str | None = None
) -> dict[str, Any]:
    """One response; ``client`` carries the data-centre base URL (https://{dc}.qualtrics.com)."""
    url = f"/API/v3/surveys/{path_segment(survey_id)}/responses/{path_segment(response_id)}"
    headers = {"Accept": "application/json"}
    if api_token:
        headers["X-API-TOKEN"] = api_token
    return await get_json(client, url, headers)


async def fetch(client: httpx.AsyncClient, ref: FetchRef, credential: str) -> dict[str, Any]:
    return await fetch_qualtrics_response(client, ref.survey_id, ref.response_id, api_token=credential)


def normalise(response: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with the ``seam`` hints described in the module docstring."""
    result = response.get("result")
    values = result.get("values") if isinstance(result, dict) else None
    if not isinstance(values, dict):
        return dict(response)
    hints: dict[str, Any] = {}
    for key in values:
        if key.endswith(NPS_SUFFIX) and key[: -len(NPS_SUFFIX)] in values:
            hints["nps_question"] = key[: -len(NPS_SUFFIX)]
            hints["nps_score"] = values[hints["nps_question"]]
            break
    order = result.get("displayedFields") if isinstance(result, dict) else None
    keys = [k for k in order if isinstance(k, str)] if isinstance(order, list) else []
    for key in [*keys, *values]:
        text = values.get(key)
        if key.endswith("_TEXT") and isinstance(text, str) and text.strip():
            hints["first_text"] = text
            break
    return {**response, "seam": hints}


def to_drafts(response: Mapping[str, Any], mapping: FieldMapping = DEFAULT_MAPPING) -> list[FeedbackDraft]:
    """Map a fetched response (not the form-urlencoded notice)."""
    return [resolve_draft(normalise(response), mapping, source=KIND)]
