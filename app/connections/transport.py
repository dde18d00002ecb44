"""One HTTP transport per event loop for every tracker this process builds.

Building an httpx client makes a fresh SSL context (certifi's bundle parsed again: ~90 ms on a small
machine), which dwarfed a 50 ms vendor call when each outbox message built its own adapter. Handing
the adapters this transport skips that, and keeps connections to the vendor alive across messages.
The pool is bound to the event loop it was first used on, so there is one per loop.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from functools import cache

import httpx


@cache
def _ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


class SharedTransport(httpx.AsyncBaseTransport):
    """Delegates to a long-lived transport; closing a tracker's client leaves it open for the next."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        """Shared: not closed by any one client."""


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedTransport] = weakref.WeakKeyDictionary()


def shared_transport() -> SharedTransport:
    loop = asyncio.get_running_loop()
    found = _per_loop.get(loop)
    if found is None:
        found = SharedTransport(httpx.AsyncHTTPTransport(verify=_ssl_context(), retries=0))
        _per_loop[loop] = found
    return found
