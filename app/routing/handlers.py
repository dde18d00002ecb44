"""Background retraining: an outbox message, so no request ever trains the model."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine
from sqlmodel import Session

from app.journey import service as journeys
from app.outbox.handlers import JobContext
from app.outbox.models import OutboxMessage
from app.routing import model_store as routing
from integrations.base import PermanentError

log = logging.getLogger("seam.routing")


def _retrain(engine: Engine) -> str | None:
    with Session(engine, expire_on_commit=False) as session:
        journey = journeys.current_or_none(session)
        if journey is None:
            raise PermanentError("no journey to train for")
        if len({e.stage for e in routing.training_examples(session, journey)}) < 2:
            return None  # nothing to learn yet; the next confirmations queue another message
        row = routing.train(session, journey, actor="worker")
        session.commit()
        return row.version


async def retrain(ctx: JobContext, message: OutboxMessage) -> None:
    version = await asyncio.to_thread(_retrain, ctx.engine)
    log.info("routing model retrained: %s (%s)", version, message.payload)
