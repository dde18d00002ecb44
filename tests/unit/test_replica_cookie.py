"""Read-your-writes on a replica: which write cookies send a client's reads to the primary."""

from __future__ import annotations

import pytest

from app.core.replica import WROTE_COOKIE, wrote_recently

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
