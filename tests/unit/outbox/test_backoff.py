"""Retry timing: exponential backoff with full jitter, never sooner than the server asked."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.outbox.backoff import delay_seconds


class Extreme(random.Random):
    """Always the low (or high) end of the jitter range."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


LOW, HIGH = Extreme(False), Extreme(True)


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [(0, 1, 2), (1, 1, 2), (2, 2, 4), (3, 4, 8), (6, 32, 64), (12, 1800, 3600), (13, 1800, 3600)],
)
def test_the_range_doubles_per_attempt_up_to_the_cap(attempts: int, low: float, high: float) -> None:
    assert delay_seconds(attempts, rng=LOW) == low
    assert delay_seconds(attempts, rng=HIGH) == high


def test_base_and_cap_are_honoured() -> None:
    assert delay_seconds(3, base=0.5, rng=HIGH) == 2.0
    assert delay_seconds(30, cap=10.0, rng=HIGH) == 10.0
    assert delay_seconds(30, cap=10.0, rng=LOW) == 5.0


def test_retry_after_is_a_floor_not_a_replacement() -> None:
    assert delay_seconds(1, retry_after=120, rng=HIGH) == 120
    assert delay_seconds(6, retry_after=10, rng=LOW) == 32  # the backoff is already longer
    assert delay_seconds(30, retry_after=7200, rng=HIGH) == 7200  # the server may ask past the cap
    assert delay_seconds(1, retry_after=0, rng=LOW) == 1


def test_jitter_spreads_a_burst_and_a_seeded_rng_repeats() -> None:
    waits = {delay_seconds(8, rng=random.Random(seed)) for seed in range(20)}
    assert len(waits) == 20 and all(128 <= w <= 256 for w in waits)
    assert delay_seconds(8, rng=random.Random(7)) == delay_seconds(8, rng=random.Random(7))


attempts = st.integers(min_value=0, max_value=1000)
seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(attempts, st.one_of(st.none(), seconds), st.integers(0, 2**32))
def test_never_below_retry_after_and_never_past_the_cap_unless_asked(
    n: int, retry_after: float | None, seed: int
) -> None:
    wait = delay_seconds(n, retry_after=retry_after, rng=random.Random(seed))
    assert wait > 0
    if retry_after is not None:
        assert wait >= retry_after
        assert wait <= max(3600.0, retry_after)
    else:
        ceiling = min(3600.0, 2.0 * 2 ** max(0, n - 1))
        assert ceiling / 2 <= wait <= ceiling


@given(
    attempts,
    st.floats(min_value=0.01, max_value=60, allow_nan=False),
    st.floats(min_value=1, max_value=86400, allow_nan=False),
)
def test_the_shortest_possible_wait_never_shrinks_as_attempts_grow(n: int, base: float, cap: float) -> None:
    now = delay_seconds(n, base=base, cap=cap, rng=LOW)
    later = delay_seconds(n + 1, base=base, cap=cap, rng=LOW)
    assert now <= later <= cap
    assert delay_seconds(n, base=base, cap=cap, rng=HIGH) <= cap


@pytest.mark.parametrize("attempts", [1024, 1025, 1026, 5000, 10**9])
def test_a_very_long_outage_stays_at_the_cap(attempts: int) -> None:
    """2**attempts stops fitting a float past ~1025 attempts; the wait must stay at the cap."""
    assert delay_seconds(attempts, rng=HIGH) == 3600.0
    assert delay_seconds(attempts, rng=LOW) == 1800.0
