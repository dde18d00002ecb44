"""Zendesk: CSAT ratings as feedback, ticket events as customer contacts (contracts.md §B, §C).

Signature: ``X-Zendesk-Webhook-Signature`` = base64 HMAC-SHA256(secret, TIMESTAMP + BODY), with
``X-Zendesk-Webhook-Signature-Timestamp`` ISO-8601; window ±300 s (ours: Zendesk publishes none).

Three payloads are accepted, told apart by their top-level keys:

1. **Event-subscription webhooks** (``type: "zen:event-type:ticket.*"``, example
   examples/zendesk_ticket_status_changed.json) become ``kind="contact"`` drafts: a customer
   contacted support, which counts toward moment-of-truth triggers ("third contact in 30 days").
   One ticket is one contact, so the upsert key is ``ticket:{detail.id}`` and later events on the
   same ticket (status changes) update it instead of counting again. Customer = ``detail.requester_id``;
   occurred_at = ``detail.created_at``; status (normalised to lower case, since events send
   ``SOLVED`` where the REST API says ``solved``), subject, priority, tags, channel go to metadata.
   Other event types (users, organisations) make nothing. Delivery id: envelope ``id``.

2. **CSAT trigger webhook**: a trigger on "Satisfaction is Good/Bad" with this JSON body, which we
   ask admins to configure (it mirrors the REST ``satisfaction_rating`` object, so one mapping reads
   both; placeholder names per contracts.md §B, unverified)::

       {"satisfaction_rating": {
          "ticket_id": "{{ticket.id}}",
          "score": "{{satisfaction.current_rating}}",
          "comment": "{{satisfaction.current_comment}}",
          "requester_id": "{{ticket.requester.id}}",
          "requester_email": "{{ticket.requester.email}}",
          "group_id": "{{ticket.group.id}}",
          "assignee_id": "{{ticket.assignee.id}}",
          "updated_at": "{{ticket.updated_at_with_timestamp}}",
          "touchpoint": "support-csat"}}

   Delivery id: the ``X-Zendesk-Webhook-Invocation-Id`` header, else a digest of the body.

3. **REST shapes** ``{"satisfaction_rating": {...}}`` and ``{"satisfaction_ratings": [...]}``
   (``GET /api/v2/satisfaction_ratings``, example examples/zendesk_satisfaction_ratings_response.json),
   for polling or backfill: one draft per rating; ``offered``/``unoffered`` are skipped (no answer).

CSAT numbers: Zendesk asks good/bad. We record good = 5 and bad = 1 on the CSAT 1-5 scale, because
Seam's CSAT figure is the share of 4-5 answers (top-2-box) and with this mapping that share equals
Zendesk's own satisfaction score, good / (good + bad), so Zendesk and 5-point surveys sit on one
scorecard. An *average* would overstate the spread, so the raw answer is kept in
``metadata.zendesk_rating`` and ``metadata.binary_scale = true`` lets metrics tell them apart. The
upsert key is ``csat:{ticket_id}``: Zendesk keeps one rating per ticket, and a customer changing
good to bad must update that item, whether it arrived by trigger or by polling.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integrations import signatures

from .base import Delivery, FeedbackDraft, FieldMapping, MappingError
from .mapping import body_digest_id, first_str, parse_json_object, resolve_draft

KIND = "zendesk"
TICKET_EVENT_PREFIX = "zen:event-type:ticket."
INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"
UNANSWERED = frozenset({"offered", "unoffered"})

DEFAULT_MAPPING = FieldMapping(
    external_id=("satisfaction_rating.ticket_id",),
    occurred_at=("satisfaction_rating.updated_at", "satisfaction_rating.created_at"),
    text=("satisfaction_rating.comment",),
    score=("satisfaction_rating.score",),
    scale="csat",
    # The long forms are what {{satisfaction.current_rating}} may render as (unverified).
    score_values={"good": 5, "bad": 1, "good, i'm satisfied": 5, "bad, i'm unsatisfied": 1},
    customer_ref=("satisfaction_rating.requester_id",),
    customer_email=("satisfaction_rating.requester_email",),
    persona=("satisfaction_rating.persona",),
    touchpoint=("satisfaction_rating.touchpoint",),
    metadata={
        "ticket_id": ("satisfaction_rating.ticket_id",),
        "rating_id": ("satisfaction_rating.id",),
        "zendesk_rating": ("satisfaction_rating.score",),
        "reason": ("satisfaction_rating.reason",),
        "group_id": ("satisfaction_rating.group_id",),
        "assignee_id": ("satisfaction_rating.assignee_id",),
    },
    require=("score",),
)

CONTACT_MAPPING = FieldMapping(
    kind="contact",
    external_id=("detail.id",),
    occurred_at=("detail.created_at", "time"),
    customer_ref=("detail.requester_id",),
    metadata={
        "event_type": ("type",),
        "ticket_id": ("detail.id",),
        "subject": ("detail.subject",),
        "priority": ("detail.priority",),
        "tags": ("detail.tags",),
        "group_id": ("detail.group_id",),
        "channel": ("detail.via.channel",),
        "ticket_external_id": ("detail.external_id",),
        "event": ("event",),
    },
)


def parse_body(body: bytes) -> dict[str, Any]:
    return parse_json_object(body)


def verify(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime, *, token: str | None = None
) -> None:
    signatures.verify_zendesk(body, headers, secret, now)


def _event_type(payload: Mapping[str, Any]) -> str | None:
    value = payload.get("type")
    return value if isinstance(value, str) and value.startswith("zen:event-type:") else None


def delivery_id(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> str:
    if _event_type(payload):
        envelope_id = first_str(payload, "id")
        if envelope_id:
            return envelope_id
    invocation = (signatures.get_header(headers, INVOCATION_HEADER) or "").strip()
    return invocation or body_digest_id(body)


def describe(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> Delivery:
    event_type = _event_type(payload)
    did = delivery_id(headers, body, payload)
    if event_type is not None:
        is_ticket = event_type.startswith(TICKET_EVENT_PREFIX)
        ticket = first_str(payload, "detail.id")
        return Delivery(
            kind=KIND,
            delivery_id=did,
            event_type=event_type,
            external_id=f"ticket:{ticket}" if is_ticket and ticket else None,
            action="map" if is_ticket else "ignore",
        )
    if "satisfaction_rating" in payload or "satisfaction_ratings" in payload:
        ticket = first_str(payload, "satisfaction_rating.ticket_id")
        return Delivery(
            kind=KIND,
            delivery_id=did,
            event_type="satisfaction_rating",
            external_id=f"csat:{ticket}" if ticket else None,
            action="map",
        )
    # Unknown shape: still map it, so the mapping error lands in quarantine instead of vanishing.
    return Delivery(kind=KIND, delivery_id=did, event_type="unknown", action="map")


def _ratings(payload: Mapping[str, Any]) -> list[Any]:
    if "satisfaction_ratings" in payload:
        ratings = payload["satisfaction_ratings"]
        if not isinstance(ratings, list):
            raise MappingError("satisfaction_ratings", "satisfaction_ratings: expected a list")
        return ratings
    return [payload.get("satisfaction_rating")]


def _csat(payload: Mapping[str, Any], mapping: FieldMapping) -> list[FeedbackDraft]:
    drafts = []
    for rating in _ratings(payload):
        score = rating.get("score") if isinstance(rating, dict) else None
        if isinstance(score, str) and score.strip().casefold() in UNANSWERED:
            continue
        draft = resolve_draft(
            {"satisfaction_rating": rating}, mapping, source=KIND, metadata={"binary_scale": True}
        )
        draft.external_id = f"csat:{draft.external_id}"
        if isinstance(score, str):  # trigger placeholders render "Good"; the REST API says "good"
            draft.metadata["zendesk_rating"] = score.strip().casefold()
        drafts.append(draft)
    return drafts


def _contact(payload: Mapping[str, Any], mapping: FieldMapping) -> list[FeedbackDraft]:
    draft = resolve_draft(payload, mapping, source=KIND)
    draft.external_id = f"ticket:{draft.external_id}"
    status = first_str(payload, "detail.status")
    if status is not None:
        draft.metadata["status"] = status.lower()
    return [draft]


def to_drafts(
    payload: Mapping[str, Any],
    mapping: FieldMapping = DEFAULT_MAPPING,
    *,
    contact_mapping: FieldMapping = CONTACT_MAPPING,
) -> list[FeedbackDraft]:
    """``mapping`` reads CSAT ratings (the per-source override); ``contact_mapping`` ticket events."""
    event_type = _event_type(payload)
    if event_type is not None:
        return _contact(payload, contact_mapping) if event_type.startswith(TICKET_EVENT_PREFIX) else []
    return _csat(payload, mapping)
