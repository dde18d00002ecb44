"""Read-your-writes on a replica: which write cookies send a client's reads to the primary."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from app.core.replica import WROTE_COOKIE, StickyWrites, wrote_recently

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("value", "recent"),
    [
        (f"{NOW - 1:.3f}", True),  # wrote a second ago
        (f"{NOW - 4.9:.3f}", True),
        (f"{NOW - 5.1:.3f}", False),  # past the window: the replica has caught up by now
        (f"{NOW + 2:.3f}", True),  # another API replica's clock runs a little ahead
        (f"{NOW + 60:.3f}", False),  # far in the future: not a write of ours
        ("yesterday", False),
        ("", False),
        ("nan", False),
    ],
)
def test_a_write_cookie_counts_only_within_the_sticky_window(value: str, recent: bool) -> None:
    assert wrote_recently({WROTE_COOKIE: value}, 5.0, now=NOW) is recent


def test_no_cookie_and_a_zero_window_read_the_replica() -> None:
    assert wrote_recently({}, 5.0, now=NOW) is False
    assert wrote_recently({WROTE_COOKIE: f"{NOW:.3f}"}, 0.0, now=NOW) is False


@pytest.mark.parametrize("sticky_s", [0.5, 2.0, 2.5, 5.0])
def test_the_cookie_outlives_the_window_in_a_client_that_counts_whole_seconds(sticky_s: float) -> None:
    """Python's cookiejar expires a cookie at int(time of receipt) + Max-Age, up to a second early."""
    starlette_app = StickyWrites(_answer, sticky_s, clock=lambda: NOW + 0.999)
    header = TestClient(starlette_app).post("/").headers["set-cookie"]
    max_age = int(re.search(r"Max-Age=(\d+)", header).group(1))  # type: ignore[union-attr]
    received = NOW + 0.999
    assert int(received) + max_age >= received + sticky_s


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
