"""Inbound vendor webhooks: `POST /webhooks/jira/{integration_id}` and `/webhooks/zendesk/{integration_id}`.

One URL per integration, so the right secret is known before the body is read. The adapter verifies
the signature over the raw bytes first; a bad or stale one gets 401 and nothing is stored. A verified
delivery goes to the inbox (deduped by the vendor's delivery id) and we answer 202 at once; the
`sync.inbound` outbox job processes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.connections import service as connections
from app.connections.models import Integration
from app.connections.transport import shared_transport
from app.core.clock import utcnow
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.inbox import receiver
from app.inbox.receiver import Delivery, Refusal, WebhookAck
from app.sync.handlers import INBOUND_KIND
from integrations import registry
from integrations.base import PermanentError, UnsupportedWebhookEvent

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


def _load(request: Request, vendor: str, integration_id: int) -> tuple[dict[str, Any], Any] | Refusal:
    settings = request.app.state.settings
    with Session(request.app.state.engine) as session:
        row = session.get(Integration, integration_id)
        if row is None or row.vendor != vendor:
            return Refusal(404, f"No {vendor} integration {integration_id}.")
        secret = settings.secret_key.get_secret_value()
        config = connections.tracker_config(row, allow_private=settings.allow_private_network, secret=secret)
        return config, connections.webhook_secret(row, secret)


async def _verify(
    vendor: str, loaded: tuple[dict[str, Any], Any], body: bytes, headers: Mapping[str, str]
) -> Delivery | Refusal | None:
    config, secret = loaded
    tracker = registry.build_tracker(vendor, config, transport=shared_transport())
    try:
        event = tracker.parse_webhook(headers, body, secret, utcnow())
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
