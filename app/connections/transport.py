"""One HTTP transport per event loop for every tracker this process builds.

Building an httpx client makes a fresh SSL context (certifi's bundle parsed again: ~90 ms on a small
machine), which dwarfed a 50 ms vendor call when each outbox message built its own adapter. Handing
the adapters this transport skips that, and keeps connections to the vendor alive across messages.
The pool is bound to the event loop it was first used on, so there is one per loop.

Each request passes the outbox worker's vendor gate (`integrations.calls`): the worker's per-vendor
slot is held for the call, not for the delivery's database work around it.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from functools import cache

import httpx

from integrations.calls import PAUSING_STATUSES, vendor_call
from integrations.http import parse_retry_after
from integrations.url_guard import pinned_transport


@cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


class SharedTransport(httpx.AsyncBaseTransport):
    """Delegates to a long-lived transport; closing a tracker's client leaves it open for the next."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        async with vendor_call() as call:
            response = await self._inner.handle_async_request(request)
            if response.status_code in PAUSING_STATUSES:
                wait = parse_retry_after(response.headers)
                if wait:
                    call.refused(wait)
            return response

    async def aclose(self) -> None:
        """Shared: not closed by any one client."""


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[bool, SharedTransport]] = (
    weakref.WeakKeyDictionary()
)


def shared_transport(allow_private: bool = False) -> SharedTransport:
    """Connections go to the address the URL guard checked, when they are opened (no DNS rebinding);
    `allow_private` (SEAM_ALLOW_PRIVATE_NETWORK) lets them reach private and loopback addresses."""
    loop = asyncio.get_running_loop()
    found = _per_loop.setdefault(loop, {}).get(allow_private)
    if found is None:
        found = SharedTransport(pinned_transport(allow_private, verify=_ssl_context()))
        _per_loop[loop][allow_private] = found
    return found
