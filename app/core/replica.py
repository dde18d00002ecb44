"""Reads that tolerate lag go to a PostgreSQL streaming replica (`SEAM_DATABASE_REPLICA_URL`); a client
that wrote recently reads its own writes from the primary.

Read-your-writes: every request with a writing method (anything but GET, HEAD, OPTIONS) answers with a
cookie holding the time of the write, for `SEAM_REPLICA_STICKY_S` seconds; a read carrying a fresh one
goes to the primary. Browsers and HTTP clients that keep cookies (httpx.Client, requests.Session) get
this for free. The cookie is not signed on purpose: all it can do is send its holder to the primary,
which is always correct, only slower. A request that writes never reads through the replica at all: only
reading routes take `read_session`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

WROTE_COOKIE = "seam_wrote"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def wrote_recently(cookies: dict[str, str], sticky_s: float, *, now: float | None = None) -> bool:
    """True when the client's last write (its cookie) is younger than `sticky_s`."""
    raw = cookies.get(WROTE_COOKIE)
    if not raw:
        return False
    try:
        at = float(raw)
    except ValueError:
        return False
    now = time.time() if now is None else now
    # A time in the future (a skewed clock among API replicas) counts as recent, within the window.
    return now - sticky_s < at <= now + sticky_s


class StickyWrites:
    """Sets the write cookie on the answer to every writing request (while a replica is in use)."""

    def __init__(self, app: ASGIApp, sticky_s: float, clock: Callable[[], float] = time.time) -> None:
        self.app, self.sticky_s, self.clock = app, sticky_s, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in READ_METHODS or self.sticky_s <= 0:
            await self.app(scope, receive, send)
            return
        # Clients count Max-Age from a whole second (Python's cookiejar truncates the time), so one
        # second more keeps the cookie for the whole window; the stamp inside it decides.
        max_age = math.ceil(self.sticky_s) + 1

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Stamped when the answer starts, after the write committed: a slow write still gets
                # its whole window.
                cookie = (
                    f"{WROTE_COOKIE}={self.clock():.3f}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Lax"
                )
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
