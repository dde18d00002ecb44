"""A vendor adapter for a stored integration, for the length of one outbox job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import ValidationError

from app.connections import service
from app.connections.models import Integration
from app.connections.transport import shared_transport
from app.core.crypto import DecryptionError
from app.outbox.handlers import JobContext
from integrations import registry
from integrations.base import PermanentError, TicketTracker


@asynccontextmanager
async def tracker_for(ctx: JobContext, integration: Integration) -> AsyncIterator[TicketTracker]:
    if not integration.enabled:
        raise PermanentError(f"integration {integration.id} is disabled")
    try:
        config = service.tracker_config(
            integration,
            allow_private=ctx.settings.allow_private_network,
            secret=ctx.settings.secret_key.get_secret_value(),
        )
        transport = shared_transport(ctx.settings.allow_private_network)
        tracker = registry.build_tracker(integration.vendor, config, transport=transport)
    except (ValidationError, DecryptionError) as exc:
        # Neither message carries the token: ClientConfig hides input values in its errors.
        raise PermanentError(
            f"integration {integration.id}: stored settings unusable ({type(exc).__name__})"
        ) from None
    try:
        yield tracker
    finally:
        await tracker.aclose()
