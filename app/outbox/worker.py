"""Delivers outbox messages: claim a few, run each one's handler, record the outcome."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.settings import Settings
from app.outbox import service
from app.outbox.handlers import Handlers, JobContext
from integrations.base import PermanentError, RetryableError

log = logging.getLogger("seam.outbox")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


async def run_once(
    engine: Engine,
    settings: Settings,
    worker: str,
    handlers: Handlers,
    *,
    clock: Callable[[], datetime] = utcnow,
    limit: int = 10,
    lease_s: float = 60,
) -> int:
    """One claim-and-deliver round. Returns how many messages it handled."""
    with Session(engine, expire_on_commit=False) as session:
        messages = service.claim(session, worker, now=clock(), limit=limit, lease_s=lease_s)
        session.commit()
    for message in messages:
        assert message.id is not None
        handler = handlers.get(message.kind)
        ctx = JobContext(engine=engine, settings=settings, now=clock(), worker=worker)
        outcome: tuple[bool, str, float | None] | None = None
        try:
            if handler is None:
                raise PermanentError(f"no handler for outbox kind '{message.kind}'")
            await handler(ctx, message)
        except RetryableError as exc:
            outcome = (True, str(exc), exc.retry_after)
        except PermanentError as exc:
            outcome = (False, str(exc), None)
        except Exception as exc:  # a bug, not the vendor: retry with backoff, then park as dead
            log.exception("outbox %s (%s) failed", message.id, message.kind)
            outcome = (True, f"{type(exc).__name__}: {exc}", None)
        with Session(engine) as session:
            if outcome is None:
                service.complete(session, message.id, worker, now=clock())
            else:
                retryable, error, retry_after = outcome
                state = service.fail(
                    session, message, worker, error, now=clock(), retryable=retryable, retry_after=retry_after
                )
                log.warning(
                    "outbox %s (%s) attempt %s: %s -> %s",
                    message.id,
                    message.kind,
                    message.attempts,
                    error,
                    state,
                )
            session.commit()
    return len(messages)


async def run_forever(
    engine: Engine,
    settings: Settings,
    stop: threading.Event,
    handlers: Handlers,
    *,
    poll_s: float = 0.5,
    worker: str | None = None,
) -> None:
    worker = worker or worker_id()
    log.info("outbox worker %s started", worker)
    while not stop.is_set():
        try:
            handled = await run_once(engine, settings, worker, handlers)
        except Exception:
            log.exception("outbox worker round failed; retrying")
            handled = 0
        if not handled:
            await asyncio.to_thread(stop.wait, poll_s)


class InProcessWorker:
    """A worker thread inside the API process: the single-node SQLite setup needs no second process."""

    def __init__(self, engine: Engine, settings: Settings, handlers: Handlers) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=lambda: asyncio.run(run_forever(engine, settings, self.stop, handlers)),
            name="seam-outbox",
            daemon=True,
        )

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
