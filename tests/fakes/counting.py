"""A loopback vendor that takes `latency_s` per request and counts how many requests it holds at once,
in all and per vendor (`POST /v/{vendor}/deliver`, body: the message's dedupe key).

`throttle(vendor, times)` answers that vendor's next `times` requests with 429 and `Retry-After: 1`
(after the same latency, as a real vendor's gateway takes its time too), and records when each refusal
went out.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Arrival:
    vendor: str
    key: str
    at: float  # time.monotonic() when the request arrived
    status: int = 200


@dataclass
class CountingVendor:
    latency_s: float = 0.05
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrivals: list[Arrival] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    vendor_in_flight: Counter[str] = field(default_factory=Counter)
    vendor_max: Counter[str] = field(default_factory=Counter)
    refused_at: list[float] = field(default_factory=list)
    _throttled: Counter[str] = field(default_factory=Counter)

    def throttle(self, vendor: str, times: int = 1) -> None:
        with self.lock:
            self._throttled[vendor] += times

    def delivered(self, vendor: str | None = None) -> Counter[str]:
        """How many times each key was answered 200."""
        with self.lock:
            return Counter(
                a.key for a in self.arrivals if a.status == 200 and (vendor is None or a.vendor == vendor)
            )

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        parts = scope["path"].strip("/").split("/")
        vendor = parts[1] if len(parts) == 3 and parts[0] == "v" else "?"
        arrival = Arrival(vendor, body.decode(), time.monotonic())
        with self.lock:
            self.arrivals.append(arrival)
            refuse = self._throttled[vendor] > 0
            if refuse:
                self._throttled[vendor] -= 1
                arrival.status = 429
            else:
                self.in_flight += 1
                self.vendor_in_flight[vendor] += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                self.vendor_max[vendor] = max(self.vendor_max[vendor], self.vendor_in_flight[vendor])
        if refuse:
            await asyncio.sleep(self.latency_s)
            with self.lock:
                self.refused_at.append(time.monotonic())
            await _reply(send, 429, b'{"errorMessages":["rate limited"]}', [(b"retry-after", b"1")])
            return
        try:
            await asyncio.sleep(self.latency_s)
        finally:
            with self.lock:
                self.in_flight -= 1
                self.vendor_in_flight[vendor] -= 1
        await _reply(send, 200, b"{}", [])


async def _reply(
    send: Callable[..., Any], status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})
