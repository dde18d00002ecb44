"""How many deliveries a worker runs at once, in all and per vendor, and which vendors asked it to wait.

A vendor is whatever a message's kind names as the far side it calls (`VendorKey`): one Jira or Zendesk
integration, one SMTP relay. A vendor that answers 429 or 503 with Retry-After is paused on its own;
messages for other vendors keep flowing. The pause lives in the worker's memory: another worker learns
it from its own first refused call, and a restarted one from the message's `available_at`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from sqlmodel import Session

from app.core.settings import Settings
from app.outbox.models import OutboxMessage
from integrations.base import RetryableError
from integrations.calls import PAUSING_STATUSES

# (session, message, settings) -> the vendor the message's delivery calls.
VendorKey = Callable[[Session, OutboxMessage, Settings], str]
VendorKeys = Mapping[str, VendorKey]


def vendor_of(session: Session, message: OutboxMessage, settings: Settings, keys: VendorKeys) -> str:
    """A kind without a key function is its own vendor (internal work, e.g. processing a webhook)."""
    key = keys.get(message.kind)
    return key(session, message, settings) if key is not None else f"kind:{message.kind}"


def pause_asked(exc: BaseException) -> float | None:
    """Seconds the vendor asked us to stay away, when the error is a rate limit with Retry-After."""
    if isinstance(exc, RetryableError) and exc.status in PAUSING_STATUSES and exc.retry_after:
        return exc.retry_after
    return None


class Limits:
    """One worker's slots: `concurrency` deliveries at once, at most `per_vendor` of them to one vendor."""

    def __init__(
        self, concurrency: int, per_vendor: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.concurrency = concurrency
        self.per_vendor = per_vendor
        self._clock = clock
        self._all = asyncio.Semaphore(concurrency)
        self._vendors: dict[str, asyncio.Semaphore] = {}
        self._paused_until: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(settings.worker_concurrency, settings.vendor_concurrency)

    @property
    def all(self) -> asyncio.Semaphore:
        return self._all

    def vendor(self, key: str) -> asyncio.Semaphore:
        slot = self._vendors.get(key)
        if slot is None:
            slot = self._vendors[key] = asyncio.Semaphore(self.per_vendor)
        return slot

    def pause(self, key: str, seconds: float) -> None:
        """A later pause never shortens an earlier, longer one."""
        until = self._clock() + seconds
        self._paused_until[key] = max(until, self._paused_until.get(key, 0.0))

    def paused_for(self, key: str) -> float:
        """Seconds left of the vendor's pause; 0 when it may be called."""
        until = self._paused_until.get(key)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._paused_until[key]
            return 0.0
        return left
