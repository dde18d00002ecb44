"""Background retraining: an outbox message, so no request ever trains the model."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine

from app.core.errors import InvalidInput, NotFound
from app.outbox.handlers import JobContext
from app.outbox.models import OutboxMessage
from app.routing import model_store as routing
from integrations.base import PermanentError

log = logging.getLogger("seam.routing")


def _retrain(engine: Engine) -> str | None:
    try:
        return routing.train_apart(engine, actor="worker").version
    except NotFound as exc:
        raise PermanentError("no journey to train for") from exc
    except InvalidInput:
        return None  # nothing to learn yet; the next confirmations queue another message


async def retrain(ctx: JobContext, message: OutboxMessage) -> None:
    version = await asyncio.to_thread(_retrain, ctx.engine)
    log.info("routing model retrained: %s (%s)", version, message.payload)
