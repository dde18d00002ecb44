"""Delighted webhooks (contracts.md §C; example: examples/delighted_survey_response.json).

Signature: ``X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256(private API key, raw body)>``,
no timestamp. Two ids matter and they differ on purpose:

* ``delivery_id`` = ``event_id`` dedupes Delighted's retries of one event;
* ``external_id`` = ``event_data.id`` is the response, the item's upsert key: one response arrives
  as ``survey_response.created`` (score) and again as ``survey_response.updated`` (comment,
  additional answers), and must stay one item.

Default mapping: text ``event_data.comment``; score ``event_data.score`` on the scale named by
``event_data.survey_type`` (nps; csat; ces; fivestar and smileys are 1-5 so CSAT; enps, pmf and
thumbs are not scales we track, so their score goes to ``metadata.unscaled_score``); customer
``event_data.person.id``, email ``event_data.person.email``; persona / touchpoint from person
properties ``persona`` / ``touchpoint`` (either case); occurred_at ``event_data.created_at`` (when the
respondent answered, identical across created/updated). ``unsubscribe.created`` makes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integrations import signatures

from .base import Delivery, FeedbackDraft, FieldMapping
from .mapping import body_digest_id, first_str, parse_json_object, resolve_draft

KIND = "delighted"
RESPONSE_EVENTS = frozenset({"survey_response.created", "survey_response.updated"})

DEFAULT_MAPPING = FieldMapping(
    external_id=("event_data.id",),
    occurred_at=("event_data.created_at", "event_data.updated_at"),
    text=("event_data.comment",),
    score=("event_data.score",),
    scale_path=("event_data.survey_type",),
    scale_values={
        "nps": "nps",
        "csat": "csat",
        "ces": "ces",
        "fivestar": "csat",
        "smileys": "csat",
        "enps": None,  # employee NPS: staff sentiment, not a customer score
        "pmf": None,
        "thumbs": None,
    },
    customer_ref=("event_data.person.id",),
    customer_email=("event_data.person.email",),
    persona=("event_data.person_properties.persona", "event_data.person_properties.Persona"),
    touchpoint=("event_data.person_properties.touchpoint", "event_data.person_properties.Touchpoint"),
    metadata={
        "survey_type": ("event_data.survey_type",),
        "permalink": ("event_data.permalink",),
        "tags": ("event_data.tags",),
        "person_properties": ("event_data.person_properties",),
        "additional_answers": ("event_data.additional_answers",),
        "updated_at": ("event_data.updated_at",),
    },
)


def parse_body(body: bytes) -> dict[str, Any]:
    return parse_json_object(body)


def verify(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime, *, token: str | None = None
) -> None:
    signatures.verify_delighted(body, headers, secret)


def delivery_id(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> str:
    return first_str(payload, "event_id") or body_digest_id(body)


def external_id(payload: Mapping[str, Any]) -> str | None:
    return first_str(payload, "event_data.id")


def describe(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> Delivery:
    event_type = first_str(payload, "event_type") or "unknown"
    is_response = event_type in RESPONSE_EVENTS
    return Delivery(
        kind=KIND,
        delivery_id=delivery_id(headers, body, payload),
        event_type=event_type,
        external_id=external_id(payload) if is_response else None,
        action="map" if is_response else "ignore",
    )


def to_drafts(payload: Mapping[str, Any], mapping: FieldMapping = DEFAULT_MAPPING) -> list[FeedbackDraft]:
    return [resolve_draft(payload, mapping, source=KIND)]
