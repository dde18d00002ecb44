"""Placement in the worker: items stored `pending` by a deferred ingest (`SEAM_PLACEMENT=deferred`) are
routed, grouped and counted here, in batches, so the request that brought them pays only for storing.

One outbox message per stored batch names its items. The encoder runs before the write transaction
opens (as ingest's `prepare` does in a request); the items are then locked and only those still
`pending` are placed, so a message delivered twice, or an item a person routed meanwhile, is placed
once and never moved back.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy import Engine, select
from sqlmodel import Session

from app.core.actor import SYSTEM_ACTOR
from app.core.clock import utcnow
from app.core.sql import lock_rows
from app.feedback.models import FeedbackItem
from app.intake import ingest
from app.journey import service as journeys
from app.outbox.handlers import JobContext
from app.outbox.models import OutboxMessage
from app.routing import vectors

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]


def place_items(engine: Engine, ids: list[int], *, now: datetime | None = None) -> int:
    """Places those of these items still pending; returns how many it placed."""
    with Session(engine) as session:
        texts = session.execute(
            select(ITEMS.c.text).where(ITEMS.c.id.in_(ids), ITEMS.c.state == ingest.PENDING)
        ).scalars()
        waiting = list(texts)
    if not waiting:
        return 0
    vectors.warm(waiting)
    with Session(engine, expire_on_commit=False) as session:
        lock_rows(session, ITEMS, ids)
        c = ITEMS.c
        pending = select(FeedbackItem).where(c.id.in_(ids), c.state == ingest.PENDING).order_by(c.id)
        items = list(session.execute(pending).scalars())
        if not items:
            return 0
        ingest.place_stored(session, journeys.current_or_none(session), items, SYSTEM_ACTOR, now or utcnow())
        session.commit()
        return len(items)


async def place_pending(ctx: JobContext, message: OutboxMessage) -> None:
    ids = sorted({int(i) for i in message.payload["item_ids"]})
    await asyncio.to_thread(place_items, ctx.engine, ids)
