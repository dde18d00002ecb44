"""Generic receiver following the Standard Webhooks specification, for tools with no signing
scheme of their own (Hotjar, Medallia, in-house apps) or a relay in front of them.

Signature (contracts.md §C): ``webhook-id``, ``webhook-timestamp`` (unix seconds, ±300 s),
``webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` (several allowed,
space-separated), secret ``whsec_<base64 key>``. Delivery id: ``webhook-id``.

Payload: our own documented JSON, in the Standard Webhooks ``{type, timestamp, data}`` envelope::

    {
      "type": "feedback.created",          // or "feedback.updated"; "contact.created" for a
                                           // customer contact; any other type is ignored
      "timestamp": "2026-11-22T17:52:10Z", // when the event happened (ISO-8601)
      "data": {
        "external_id": "resp-8842",        // required: your id for the item (the upsert key)
        "text": "The invoice was confusing",
        "score": 3,                        // optional; requires "scale"
        "scale": "csat",                   // "nps" (0-10) | "csat" (1-5) | "ces" (1-7)
        "occurred_at": "2026-11-22T17:50:00Z",  // defaults to the envelope timestamp
        "customer_ref": "cus_123",
        "customer_email": "ana@example.com",
        "persona": "small-business",
        "touchpoint": "invoice-email",
        "metadata": {"any": "json"}        // copied into the item's metadata as is
      }
    }

A feedback item needs ``text`` or ``score``; a contact needs neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from integrations import signatures

from .base import Delivery, FeedbackDraft, FieldMapping, MappingError
from .mapping import body_digest_id, first_str, parse_json_object, resolve_draft

KIND = "standard"

DEFAULT_MAPPING = FieldMapping(
    external_id=("data.external_id",),
    occurred_at=("data.occurred_at", "timestamp"),
    text=("data.text",),
    score=("data.score",),
    scale_path=("data.scale",),
    customer_ref=("data.customer_ref",),
    customer_email=("data.customer_email",),
    persona=("data.persona",),
    touchpoint=("data.touchpoint",),
)


def parse_body(body: bytes) -> dict[str, Any]:
    return parse_json_object(body)


def verify(
    body: bytes, headers: Mapping[str, str], secret: str, now: datetime, *, token: str | None = None
) -> None:
    signatures.verify_standard_webhooks(body, headers, secret, now)


def delivery_id(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> str:
    return (signatures.get_header(headers, signatures.SW_ID_HEADER) or "").strip() or body_digest_id(body)


def _kind_of(event_type: str) -> str | None:
    family = event_type.split(".", 1)[0]
    return family if family in ("feedback", "contact") else None


def describe(headers: Mapping[str, str], body: bytes, payload: Mapping[str, Any]) -> Delivery:
    event_type = first_str(payload, "type") or "unknown"
    mappable = _kind_of(event_type) is not None
    return Delivery(
        kind=KIND,
        delivery_id=delivery_id(headers, body, payload),
        event_type=event_type,
        external_id=first_str(payload, "data.external_id") if mappable else None,
        action="map" if mappable else "ignore",
    )


def to_drafts(payload: Mapping[str, Any], mapping: FieldMapping = DEFAULT_MAPPING) -> list[FeedbackDraft]:
    kind = _kind_of(first_str(payload, "type") or "")
    if kind is None:
        return []
    if kind != mapping.kind:
        mapping = mapping.model_copy(update={"kind": kind})
    data = payload.get("data")
    extra = data.get("metadata") if isinstance(data, dict) else None
    if extra is not None and not isinstance(extra, dict):
        raise MappingError("data.metadata", "metadata: expected an object")
    return [resolve_draft(payload, mapping, source=KIND, metadata=extra)]
