"""Jira admin webhooks: `X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.

The HMAC itself is checked by `integrations.signatures` (one implementation for every inbound scheme);
this module adds the Jira payload mapping and turns its error into the tracker boundary's error.

There is no signed timestamp, so replay protection is dedupe on `X-Atlassian-Webhook-Identifier`
(unchanged across Jira's retries). Payloads use the REST v2 representation.
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
    TicketRef,
    TicketState,
    UnsupportedWebhookEvent,
    WebhookSignatureError,
)

SIGNATURE_HEADER = signatures.JIRA_HEADER
DELIVERY_HEADER = "X-Atlassian-Webhook-Identifier"
ISSUE_EVENTS = frozenset({"jira:issue_created", "jira:issue_updated"})


def verify_signature(headers: Mapping[str, str], body: bytes, secret: SecretStr | str) -> None:
    raw_secret = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    if not raw_secret:
        # An empty key would still produce an HMAC anyone can compute.
        raise WebhookSignatureError("no webhook secret configured", reason="missing")
    signatures.verify_jira(body, headers, raw_secret)


def parse(
    headers: Mapping[str, str],
    body: bytes,
    secret: SecretStr | str,
    *,
    base_url: str,
    to_state: Callable[[TicketRef, Mapping[str, Any]], TicketState],
) -> InboundEvent:
    verify_signature(headers, body, secret)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise PermanentError("jira webhook: body is not JSON") from exc
    if not isinstance(payload, dict):
        raise PermanentError("jira webhook: body is not an object")
    event_type = str(payload.get("webhookEvent") or "")
    issue = payload.get("issue")
    if event_type not in ISSUE_EVENTS or not isinstance(issue, dict):
        raise UnsupportedWebhookEvent(f"jira webhook: event {event_type!r} carries no issue state")
    fields = issue.get("fields") or {}
    issue_id, key = str(issue.get("id") or ""), str(issue.get("key") or "")
    if not issue_id or "status" not in fields:
        raise PermanentError("jira webhook: issue without id or status")
    ref = TicketRef(
        vendor="jira", id=issue_id, key=key or issue_id, url=f"{base_url}/browse/{key or issue_id}"
    )
    state = to_state(ref, fields)
    occurred_at = _occurred_at(payload, state)
    delivery_id = signatures.get_header(headers, DELIVERY_HEADER)
    if not delivery_id:
        # Older or proxied deliveries: derive a key that is stable across Jira's retries.
        changelog = payload.get("changelog") or {}
        delivery_id = f"jira:{issue_id}:{changelog.get('id') or payload.get('timestamp')}"
    labels = fields.get("labels") or []
    seam = next((lbl for lbl in labels if isinstance(lbl, str) and lbl.startswith("seam-")), None)
    return InboundEvent(
        delivery_id=delivery_id,
        vendor="jira",
        event_type=event_type,
        ticket_id=issue_id,
        state=state,
        occurred_at=occurred_at,
        seam_label=seam,
    )


def _occurred_at(payload: Mapping[str, Any], state: TicketState) -> datetime:
    stamp = payload.get("timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp / 1000, tz=UTC)
    return state.updated_at or datetime.now(UTC)


def parse_jira_datetime(value: Any) -> datetime | None:
    """Jira writes `2026-11-22T17:50:00.120+0000`; Python wants a colon in the offset."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
