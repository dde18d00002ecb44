"""Inbound vendor webhooks: `POST /webhooks/jira/{integration_id}` and `/webhooks/zendesk/{integration_id}`.

One URL per integration, so the right secret is known before the body is read. The adapter verifies
the signature over the raw bytes first; a bad or stale one gets 401 and nothing is stored. A verified
delivery goes to the inbox (deduped by the vendor's delivery id) and we answer 202 at once; the
`sync.inbound` outbox job processes it.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import Session

from app.connections import service as connections
from app.connections.models import Integration
from app.connections.transport import shared_transport
from app.core import problems
from app.core.clock import utcnow
from app.core.pagination import RowId
from app.core.problems import PROBLEM_RESPONSES
from app.inbox import service as inbox
from app.sync.handlers import INBOUND_KIND
from integrations import registry
from integrations.base import InboundEvent, PermanentError, UnsupportedWebhookEvent, WebhookSignatureError

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=PROBLEM_RESPONSES)


class WebhookAck(BaseModel):
    status: Literal["accepted", "duplicate", "ignored"]


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


def _load(request: Request, vendor: str, integration_id: int) -> tuple[dict[str, Any], Any] | None:
    settings = request.app.state.settings
    with Session(request.app.state.engine) as session:
        row = session.get(Integration, integration_id)
        if row is None or row.vendor != vendor:
            return None
        secret = settings.secret_key.get_secret_value()
        config = connections.tracker_config(row, allow_private=settings.allow_private_network, secret=secret)
        return config, connections.webhook_secret(row, secret)


def _store(
    request: Request, integration_id: int, event: InboundEvent, headers: dict[str, str], body: bytes
) -> bool:
    with Session(request.app.state.engine) as session:
        _, new = inbox.store(
            session,
            f"integration:{integration_id}",
            event.delivery_id,
            body,
            headers=headers,
            keep_headers=KEEP_HEADERS,
            process_kind=INBOUND_KIND,
        )
        session.commit()
    return new


async def _receive(request: Request, vendor: str, integration_id: int) -> JSONResponse:
    body = await request.body()
    loaded = await run_in_threadpool(_load, request, vendor, integration_id)
    if loaded is None:
        return problems.problem_response(404, f"No {vendor} integration {integration_id}.", request=request)
    config, secret = loaded
    headers = dict(request.headers)
    tracker = registry.build_tracker(vendor, config, transport=shared_transport())
    try:
        event = tracker.parse_webhook(headers, body, secret, utcnow())
    except WebhookSignatureError as exc:
        return problems.problem_response(
            401, f"Webhook signature refused ({exc.reason}).", request=request, slug="bad-signature"
        )
    except UnsupportedWebhookEvent:
        # Signed, but about nothing we track (a comment, a deletion): acknowledged, not stored.
        return JSONResponse({"status": "ignored"}, status_code=202)
    except PermanentError as exc:
        return problems.problem_response(400, exc.message, request=request)
    finally:
        await tracker.aclose()
    new = await run_in_threadpool(_store, request, integration_id, event, headers, body)
    return JSONResponse({"status": "accepted" if new else "duplicate"}, status_code=202)


@router.post("/jira/{integration_id}", status_code=202, response_model=WebhookAck)
async def jira_webhook(integration_id: RowId, request: Request) -> JSONResponse:
    """Jira admin webhook (`X-Hub-Signature: sha256=...`, deduped on X-Atlassian-Webhook-Identifier)."""
    return await _receive(request, "jira", integration_id)


@router.post("/zendesk/{integration_id}", status_code=202, response_model=WebhookAck)
async def zendesk_webhook(integration_id: RowId, request: Request) -> JSONResponse:
    """Zendesk webhook (signed timestamp + body, ±5 min), event subscription or our trigger body."""
    return await _receive(request, "zendesk", integration_id)
