"""Outbox handler `loop.zendesk_comment`: a customer notice as a public comment on their Zendesk ticket."""

from __future__ import annotations

from sqlmodel import Session

from app.connections.models import Integration
from app.connections.trackers import tracker_for
from app.core.settings import Settings
from app.outbox.handlers import JobContext
from app.outbox.models import OutboxMessage
from integrations.base import PermanentError, TicketRef


async def zendesk_comment(ctx: JobContext, message: OutboxMessage) -> None:
    """A customer notice as a public comment on the Zendesk ticket the customer wrote from."""
    p = message.payload
    with Session(ctx.engine) as session:
        integration = session.get(Integration, p["integration_id"]) if p.get("integration_id") else None
    if integration is None or integration.vendor != "zendesk":
        raise PermanentError("the Zendesk integration for this notice is gone")
    ticket = str(p["ticket_id"])
    async with tracker_for(ctx, integration) as tracker:
        await tracker.comment(
            TicketRef(vendor="zendesk", id=ticket, key=ticket, url=""), p["body"], public=True
        )


def zendesk_vendor(_session: Session, message: OutboxMessage, _settings: Settings) -> str:
    """Customer notices share their Zendesk account's limits with its tickets' sync messages."""
    return f"integration:{message.payload.get('integration_id')}"
