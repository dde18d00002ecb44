"""Delivers outbox messages: claim a batch, run their handlers side by side, record each outcome.

A worker holds `SEAM_WORKER_BATCH` claimed messages at most beyond the ones it is delivering, runs up to
`SEAM_WORKER_CONCURRENCY` handlers at once and at most `SEAM_VENDOR_CONCURRENCY` of them against one
vendor (`app.outbox.limits`). The vendor's slot is held for the vendor call alone (`integrations.calls`):
the delivery's reads and writes around it run outside, so a vendor sees as many calls at once as it
allows. Exactly once holds as with one at a time: a message is called only while this worker's lease on
it has at least half its length left, and completion applies only while the row is still ours; a
message that waited too long for a slot, or whose vendor asked us to wait, is given back untried.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.settings import Settings
from app.outbox import service
from app.outbox.handlers import Handlers, JobContext
from app.outbox.limits import Limits, VendorKeys, pause_asked, vendor_of
from app.outbox.models import OutboxMessage
from integrations.base import PermanentError, RetryableError
from integrations.calls import Call, Gate, HeldBack, gated

log = logging.getLogger("seam.outbox")

LEASE_S = 60.0


@dataclass(frozen=True)
class Failure:
    """A failed attempt. `pause_s`: the vendor's rate limit asked every call to it to wait this long."""

    retryable: bool
    error: str
    retry_after: float | None = None
    pause_s: float | None = None


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Deliveries:
    """One worker's claims and deliveries, sharing one set of limits."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        worker: str,
        handlers: Handlers,
        *,
        vendor_keys: VendorKeys | None = None,
        limits: Limits | None = None,
        clock: Callable[[], datetime] = utcnow,
        lease_s: float = LEASE_S,
    ) -> None:
        self.engine, self.settings, self.worker, self.handlers = engine, settings, worker, handlers
        self.vendor_keys: VendorKeys = vendor_keys or {}
        self.limits = limits or Limits.from_settings(settings)
        self.clock, self.lease_s = clock, lease_s
        self.waiting = 0  # claimed, not yet holding a slot
        self.running = 0
        self.stopping = False

    def claim(self, limit: int) -> list[tuple[OutboxMessage, str]]:
        """Claims up to `limit` due messages, each with the vendor it calls."""
        with Session(self.engine, expire_on_commit=False) as session:
            messages = service.claim(
                session, self.worker, now=self.clock(), limit=limit, lease_s=self.lease_s
            )
            claimed = [(m, vendor_of(session, m, self.settings, self.vendor_keys)) for m in messages]
            session.commit()
        return claimed

    async def deliver(self, message: OutboxMessage, vendor: str) -> None:
        """Never raises: every outcome is recorded on the row (or logged when even that fails)."""
        assert message.id is not None
        claimed_at = time.monotonic()
        self.waiting += 1
        try:
            async with self.limits.all:
                self.waiting -= 1
                self.running += 1
                try:
                    wait = self._give_back_for(vendor, claimed_at)
                    outcome = (
                        HeldBack(wait)
                        if wait is not None
                        else await self._attempt(message, vendor, claimed_at)
                    )
                    if isinstance(outcome, HeldBack):
                        await asyncio.to_thread(self._release, message, outcome.wait_s)
                        return
                    if outcome is not None and outcome.pause_s is not None:
                        self.limits.pause(vendor, outcome.pause_s)
                finally:
                    self.running -= 1
            # In a thread: the commit's round trip overlaps the other deliveries instead of stalling them.
            await asyncio.to_thread(self._record, message, outcome)
        except Exception:
            log.exception("outbox %s (%s): recording the outcome failed", message.id, message.kind)

    def _gate(self, vendor: str, claimed_at: float) -> Gate:
        """The delivery's vendor slot, taken for each call to the vendor. Before the first call it may
        still hold the message back (lease too short, vendor paused, worker stopping); after it, the
        delivery is under way and later calls only wait for the slot. A refusal with a wait pauses the
        vendor before the slot is let go."""
        limits, called = self.limits, False

        class _Watched:
            def refused(self, wait_s: float) -> None:
                limits.pause(vendor, wait_s)

        @asynccontextmanager
        async def hold() -> AsyncIterator[Call]:
            nonlocal called
            async with limits.vendor(vendor):
                if not called:
                    wait = self._give_back_for(vendor, claimed_at)
                    if wait is not None:
                        raise HeldBack(wait)
                    called = True
                try:
                    yield _Watched()
                except RetryableError as exc:
                    pause = pause_asked(exc)
                    if pause is not None:
                        limits.pause(vendor, pause)
                    raise

        return hold

    def _give_back_for(self, vendor: str, claimed_at: float) -> float | None:
        """Seconds to hold the message back instead of calling now, or None to call."""
        if self.stopping:
            return 0.0
        if time.monotonic() - claimed_at > self.lease_s / 2:
            return 0.0  # too little of the lease is left to be sure no other worker takes it over
        paused = self.limits.paused_for(vendor)
        return paused if paused > 0 else None

    def _release(self, message: OutboxMessage, wait_s: float) -> None:
        assert message.id is not None
        now = self.clock()
        with Session(self.engine) as session:
            service.release(session, message.id, self.worker, now=now, until=now + timedelta(seconds=wait_s))
            session.commit()

    async def _attempt(
        self, message: OutboxMessage, vendor: str, claimed_at: float
    ) -> Failure | HeldBack | None:
        handler = self.handlers.get(message.kind)
        ctx = JobContext(engine=self.engine, settings=self.settings, now=self.clock(), worker=self.worker)
        try:
            if handler is None:
                raise PermanentError(f"no handler for outbox kind '{message.kind}'")
            with gated(self._gate(vendor, claimed_at)):
                await handler(ctx, message)
        except HeldBack as held:
            return held  # nothing was sent: given back untried
        except RetryableError as exc:
            return Failure(True, str(exc), exc.retry_after, pause_asked(exc))
        except PermanentError as exc:
            return Failure(False, str(exc))
        except Exception as exc:  # a bug, not the vendor: retry with backoff, then park as dead
            log.exception("outbox %s (%s) failed", message.id, message.kind)
            return Failure(True, f"{type(exc).__name__}: {exc}")
        return None

    def _record(self, message: OutboxMessage, outcome: Failure | None) -> None:
        assert message.id is not None
        with Session(self.engine) as session:
            if outcome is None:
                service.complete(session, message.id, self.worker, now=self.clock())
            else:
                state = service.fail(
                    session,
                    message,
                    self.worker,
                    outcome.error,
                    now=self.clock(),
                    retryable=outcome.retryable,
                    retry_after=outcome.retry_after,
                )
                log.warning(
                    "outbox %s (%s) attempt %s: %s -> %s",
                    message.id,
                    message.kind,
                    message.attempts,
                    outcome.error,
                    state,
                )
            session.commit()


async def run_once(
    engine: Engine,
    settings: Settings,
    worker: str,
    handlers: Handlers,
    *,
    clock: Callable[[], datetime] = utcnow,
    limit: int | None = None,
    lease_s: float = LEASE_S,
    vendor_keys: VendorKeys | None = None,
) -> int:
    """One claim of up to `limit` (default SEAM_WORKER_BATCH) messages, delivered side by side within the
    limits. Returns how many messages it handled."""
    deliveries = Deliveries(
        engine, settings, worker, handlers, vendor_keys=vendor_keys, clock=clock, lease_s=lease_s
    )
    claimed = deliveries.claim(limit or settings.worker_batch)
    await asyncio.gather(*(deliveries.deliver(m, vendor) for m, vendor in claimed))
    return len(claimed)


async def run_forever(
    engine: Engine,
    settings: Settings,
    stop: threading.Event,
    handlers: Handlers,
    *,
    poll_s: float = 0.5,
    worker: str | None = None,
    vendor_keys: VendorKeys | None = None,
) -> None:
    """Claims again whenever a slot is free and few claimed messages wait, so one slow vendor call does
    not hold back the rest of a batch. On stop, messages not yet started are given back."""
    worker = worker or worker_id()
    deliveries = Deliveries(engine, settings, worker, handlers, vendor_keys=vendor_keys)
    tasks: set[asyncio.Task[None]] = set()
    log.info(
        "outbox worker %s started (batch %s, %s at once, %s per vendor)",
        worker,
        settings.worker_batch,
        settings.worker_concurrency,
        settings.vendor_concurrency,
    )
    while not stop.is_set():
        claimed = 0
        if deliveries.running < settings.worker_concurrency and deliveries.waiting < settings.worker_batch:
            try:
                batch = await asyncio.to_thread(deliveries.claim, settings.worker_batch)
            except Exception:
                log.exception("outbox worker claim failed; retrying")
                batch = []
            for message, vendor in batch:
                task = asyncio.create_task(deliveries.deliver(message, vendor))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            claimed = len(batch)
        if claimed:
            await asyncio.sleep(0)  # let the new deliveries start before deciding whether to claim more
        elif tasks:
            await asyncio.wait(tasks, timeout=poll_s, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.to_thread(stop.wait, poll_s)
    deliveries.stopping = True
    if tasks:
        await asyncio.wait(tasks)


class InProcessWorker:
    """A worker thread inside the API process: the single-node SQLite setup needs no second process."""

    def __init__(
        self, engine: Engine, settings: Settings, handlers: Handlers, vendor_keys: VendorKeys | None = None
    ) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=lambda: asyncio.run(
                run_forever(engine, settings, self.stop, handlers, vendor_keys=vendor_keys)
            ),
            name="seam-outbox",
            daemon=True,
        )

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
