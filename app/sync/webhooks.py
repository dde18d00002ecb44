"""Inbound vendor webhooks: `POST /webhooks/jira/{integration_id}` and `/webhooks/zendesk/{integration_id}`.

One URL per integration, so the right secret is known before the body is read. The adapter verifies
the signature over the raw bytes first; a bad or stale one gets 401 and nothing is stored. A verified
delivery goes to the inbox (deduped by the vendor's delivery id) and we answer 202 at once; the
`sync.inbound` outbox job processes it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import SecretStr
from sqlmodel import Session

from app.connections import service as connections
from app.connections.models import Integration
from app.connections.transport import shared_transport
from app.core.clock import utcnow
from app.core.crypto import DecryptionError
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.inbox import receiver
from app.inbox.receiver import Delivery, Refusal, WebhookAck
from app.sync.handlers import INBOUND_KIND
from integrations import registry
from integrations.base import PermanentError, UnsupportedWebhookEvent, WebhookSignatureError

log = logging.getLogger("seam.sync.webhooks")

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)


# Kept with the stored body so processing can verify the signature again.
KEEP_HEADERS = (
    "x-hub-signature",
    "x-atlassian-webhook-identifier",
    "x-atlassian-webhook-retry",
    "x-zendesk-webhook-signature",
    "x-zendesk-webhook-signature-timestamp",
    "x-zendesk-webhook-id",
    "x-zendesk-webhook-invocation-id",
)


@dataclass(frozen=True)
class _Receiver:
    """What a delivery is checked against. An unknown id (or one of the other vendor, or one with no
    webhook secret) gets a decoy with a random secret, so it fails exactly as a wrong signature
    would: the answers do not tell which ids exist."""

    config: dict[str, Any] | None
    secret: SecretStr
    options: dict[str, Any]


# Per process; never stored, never shown.
_DECOY = SecretStr(secrets.token_urlsafe(32))


def _load(request: Request, vendor: str, integration_id: int) -> _Receiver:
    settings = request.app.state.settings
    secret = settings.secret_key.get_secret_value()
    with Session(request.app.state.engine) as session:
        row = session.get(Integration, integration_id)
        if row is None or row.vendor != vendor:
            return _Receiver(None, _DECOY, {})
        try:
            webhook_secret = connections.webhook_secret(row, secret)
            # The tracker built from this only reads the payload (status mapping, links) and sends
            # nothing, so its base URL is not resolved here (allow_private skips the guard's DNS
            # lookup); the guard runs where requests are sent.
            config = connections.tracker_config(row, allow_private=True, secret=secret)
        except DecryptionError:
            log.error("integration %s: credentials cannot be decrypted with SEAM_SECRET_KEY", integration_id)
            return _Receiver(None, _DECOY, {})
        if not webhook_secret.get_secret_value():
            log.warning("integration %s: no webhook secret set; its deliveries are refused", integration_id)
            return _Receiver(None, _DECOY, {})
        return _Receiver(config, webhook_secret, dict(row.options))


async def _verify(
    vendor: str, loaded: _Receiver, body: bytes, headers: Mapping[str, str]
) -> Delivery | Refusal | None:
    now = utcnow()
    # The signature first, from the secret alone: nothing else is done for an unsigned request.
    registry.verify_webhook(vendor, headers, body, loaded.secret, now, loaded.options)
    if loaded.config is None:  # the decoy's random secret cannot have signed anything
        raise WebhookSignatureError("signature does not match", reason="mismatch")
    tracker = registry.build_tracker(vendor, loaded.config, transport=shared_transport())
    try:
        event = tracker.parse_webhook(headers, body, loaded.secret, now)
    except UnsupportedWebhookEvent:
        # Signed, but about nothing we track (a comment, a deletion): acknowledged, not stored.
        return None
    except PermanentError as exc:
        return Refusal(400, exc.message)
    finally:
        await tracker.aclose()
    return Delivery(event.delivery_id, KEEP_HEADERS)


async def _receive(request: Request, vendor: str, integration_id: int) -> Response:
    return await receiver.handle(
        request,
        receiver=vendor,
        channel=f"integration:{integration_id}",
        load=partial(_load, request, vendor, integration_id),
        verify=partial(_verify, vendor),
        process_kind=INBOUND_KIND,
    )


DUPLICATE: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookAck, "description": "Already received (the vendor's retry): nothing new is queued"}
}


@router.post("/jira/{integration_id}", status_code=202, response_model=WebhookAck, responses=DUPLICATE)
async def jira_webhook(integration_id: RowId, request: Request) -> Response:
    """Jira admin webhook (`X-Hub-Signature: sha256=...`, deduped on X-Atlassian-Webhook-Identifier)."""
    return await _receive(request, "jira", integration_id)


@router.post("/zendesk/{integration_id}", status_code=202, response_model=WebhookAck, responses=DUPLICATE)
async def zendesk_webhook(integration_id: RowId, request: Request) -> Response:
    """Zendesk webhook (signed timestamp + body, ±5 min), event subscription or our trigger body."""
    return await _receive(request, "zendesk", integration_id)
