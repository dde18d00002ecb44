"""Zendesk webhooks: `X-Zendesk-Webhook-Signature = base64(HMAC-SHA256(secret, timestamp + body))`.

The HMAC and the window are checked by `integrations.signatures`. Zendesk publishes no tolerance
window; we refuse timestamps more than `tolerance` seconds away from `now` in either direction.
Event-subscription deliveries are deduped on the envelope `id`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from integrations import signatures
from integrations.base import (
    InboundEvent,
    PermanentError,
    TicketState,
    UnsupportedWebhookEvent,
    WebhookSignatureError,
)

INVOCATION_HEADER = "X-Zendesk-Webhook-Invocation-Id"
DEFAULT_TOLERANCE_SECONDS = 300.0

# (ticket id, ticket fields as returned by REST with lower-case status) -> state
ToState = Callable[[str, Mapping[str, Any]], TicketState]


def parse_timestamp(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def verify_signature(
    headers: Mapping[str, str],
    body: bytes,
    secret: SecretStr | str,
    now: datetime,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    raw_secret = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not raw_secret:
        # An empty key would still produce an HMAC anyone can compute.
        raise WebhookSignatureError("no webhook secret configured", reason="missing")
    # Signature before window: "stale" then always means genuine but too old or too new.
    signatures.verify_zendesk(body, headers, raw_secret, now, tolerance_s=int(tolerance))


def parse(
    headers: Mapping[str, str],
    body: bytes,
    secret: SecretStr | str,
    now: datetime,
    *,
    to_state: ToState,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
) -> InboundEvent:
    verify_signature(headers, body, secret, now, tolerance)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise PermanentError("zendesk webhook: body is not JSON") from exc
    if not isinstance(payload, dict):
        raise PermanentError("zendesk webhook: body is not an object")
    if "detail" in payload and "type" in payload:
        return _from_event(payload, to_state)
    return _from_trigger(headers, payload, to_state)


def _from_event(payload: Mapping[str, Any], to_state: ToState) -> InboundEvent:
    """Event-subscription envelope: `{type, id, time, subject, detail{...}, event{current, previous}}`."""
    event_type = str(payload.get("type"))
    if not event_type.startswith("zen:event-type:ticket."):
        raise UnsupportedWebhookEvent(f"zendesk webhook: event {event_type!r} is not about a ticket")
    detail = dict(payload.get("detail") or {})
    ticket_id = str(detail.get("id") or str(payload.get("subject", "")).rpartition(":")[2])
    event = payload.get("event") or {}
    if event_type.endswith(".status_changed") and isinstance(event.get("current"), str):
        detail["status"] = event["current"]
    if not ticket_id or not detail.get("status") or not payload.get("id"):
        raise PermanentError("zendesk webhook: event without ticket id, status or envelope id")
    return _event(str(payload["id"]), event_type, ticket_id, detail, payload.get("time"), to_state)


def _from_trigger(headers: Mapping[str, str], payload: Mapping[str, Any], to_state: ToState) -> InboundEvent:
    """Trigger webhooks carry a body an admin writes. The shape we document for admins:
    `{"ticket_id": "{{ticket.id}}", "status": "{{ticket.status}}", "tags": "{{ticket.tags}}",
    "external_id": "{{ticket.external_id}}", "updated_at": <ISO-8601>}`; the delivery id is the
    invocation header because the body has none."""
    ticket_id, status = payload.get("ticket_id"), payload.get("status")
    invocation = signatures.get_header(headers, INVOCATION_HEADER)
    if not ticket_id or not status or not invocation:
        raise UnsupportedWebhookEvent("zendesk webhook: neither an event envelope nor our trigger body")
    tags = payload.get("tags")
    fields = {
        "status": status,
        "tags": tags.split() if isinstance(tags, str) else tags or [],
        "external_id": payload.get("external_id"),
        "updated_at": payload.get("updated_at"),
    }
    return _event(invocation, "trigger", str(ticket_id), fields, payload.get("updated_at"), to_state)


def _event(
    delivery_id: str,
    event_type: str,
    ticket_id: str,
    fields: Mapping[str, Any],
    occurred: Any,
    to_state: ToState,
) -> InboundEvent:
    # Events say SOLVED, REST says solved: normalise before mapping.
    normalised = {**fields, "status": str(fields["status"]).lower()}
    tags = normalised.get("tags") or []
    normalised["tags"] = [str(t).lower() for t in tags] if isinstance(tags, list) else []
    state = to_state(ticket_id, normalised)
    try:
        occurred_at = parse_timestamp(occurred) if isinstance(occurred, str) else None
    except ValueError:
        occurred_at = None
    external_id = fields.get("external_id")
    return InboundEvent(
        delivery_id=delivery_id,
        vendor="zendesk",
        event_type=event_type,
        ticket_id=ticket_id,
        state=state,
        occurred_at=occurred_at or state.updated_at or datetime.now(UTC),
        seam_label=str(external_id) if external_id else None,
    )
