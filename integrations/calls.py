"""A worker's hold on a vendor covers the call to it, not the work around the call.

The outbox worker limits how many calls one vendor gets at once from it (`SEAM_VENDOR_CONCURRENCY`).
If that slot were held for a whole delivery, the reads and writes before and after the call would sit
in it too and the vendor would see fewer calls than it allows. So the worker sets a gate for the
delivery it runs, and the code that talks to the vendor (the shared HTTP transport, the SMTP sender)
enters it for the call alone. Outside a worker's delivery there is no gate and nothing waits.

The gate may refuse (raise `HeldBack`) before the first call: the message waited too long for a slot
to be sure of its lease, or its vendor asked for a pause, or the worker is stopping. Nothing was sent
then, and the worker gives the message back untried. A vendor that answers "too many, come back in N
seconds" is reported through `Call.refused` while the slot is still held, so no call waiting for that
slot goes out inside the pause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Protocol

# A vendor's way of saying "too many, come back later"; other failures say nothing about its load.
PAUSING_STATUSES = frozenset({429, 503})


class Call(Protocol):
    def refused(self, wait_s: float) -> None:
        """The vendor asked for no calls for `wait_s` seconds."""


class _Unwatched:
    def refused(self, wait_s: float) -> None:
        return None


Gate = Callable[[], AbstractAsyncContextManager[Call]]

_GATE: ContextVar[Gate | None] = ContextVar("seam_vendor_gate", default=None)


class HeldBack(Exception):
    """The worker holds this delivery back before its first vendor call: retry it after `wait_s`."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"held back for {wait_s:.1f} s before calling the vendor")
        self.wait_s = wait_s


@asynccontextmanager
async def _open() -> AsyncIterator[Call]:
    yield _Unwatched()


def vendor_call() -> AbstractAsyncContextManager[Call]:
    """Wraps one call to a vendor: waits for the delivery's slot, if a worker set one."""
    gate = _GATE.get()
    return gate() if gate is not None else _open()


@contextmanager
def gated(gate: Gate) -> Iterator[None]:
    """Calls made inside (in this task and the tasks it starts) pass through `gate`."""
    token = _GATE.set(gate)
    try:
        yield
    finally:
        _GATE.reset(token)
