"""Driving the outbox from a test: the real worker round (`run_once`), with the test's clock."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.core.settings import Settings
from app.outbox.handlers import Handlers
from app.outbox.models import OutboxMessage
from app.outbox.worker import run_once
from app.wiring import HANDLERS
from tests.support.api import settings_for

WORKER = "test-worker"


class Drained(NamedTuple):
    handled: int
    now: datetime  # the clock when the outbox was found drained (moved on by `skip_backoff`)


def run_round(
    engine: Engine,
    settings: Settings | None = None,
    *,
    now: datetime | None = None,
    worker: str = WORKER,
    limit: int = 10,
    handlers: Handlers = HANDLERS,
) -> int:
    """One claim-and-deliver round at `now` (the real clock if None); how many messages it handled.

    `handlers` are the composition root's unless a test brings its own."""
    clock = (lambda: now) if now is not None else utcnow
    settings = settings or settings_for(engine)
    return asyncio.run(run_once(engine, settings, worker, handlers, clock=clock, limit=limit))


def next_due(engine: Engine) -> datetime | None:
    """When the earliest pending message becomes due, or None when nothing is pending."""
    with Session(engine) as s:
        due: datetime | None = s.execute(
            select(func.min(col(OutboxMessage.available_at))).where(col(OutboxMessage.state) == "pending")
        ).scalar_one_or_none()
    return due


def drain(
    engine: Engine,
    settings: Settings | None = None,
    *,
    now: datetime | None = None,
    skip_backoff: bool = False,
    worker: str = WORKER,
    limit: int = 10,
    max_rounds: int = 100,
) -> Drained:
    """Run worker rounds until one handles nothing.

    `now` fixes the clock (None: the real clock). With `skip_backoff` the clock never runs behind real
    time, and when only messages waiting out a backoff are left it jumps to the next one instead of
    sleeping, until nothing is pending at all. Fails when the outbox is still busy after `max_rounds`.
    """
    settings = settings or settings_for(engine)
    current = now
    total = 0
    for _ in range(max_rounds):
        if skip_backoff:
            current = max(current or utcnow(), utcnow())  # never behind messages written since
        handled = run_round(engine, settings, now=current, worker=worker, limit=limit)
        total += handled
        if handled:
            continue
        if current is None:
            return Drained(total, utcnow())
        due = next_due(engine) if skip_backoff else None
        if due is None:
            return Drained(total, current)
        current = max(current, due) + timedelta(milliseconds=1)
    raise AssertionError(f"the outbox did not drain in {max_rounds} rounds")
