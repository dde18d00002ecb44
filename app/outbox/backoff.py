"""Retry timing: exponential backoff with full jitter, never sooner than the server asked. Pure."""

from __future__ import annotations

import random


def delay_seconds(
    attempts: int,
    *,
    retry_after: float | None = None,
    base: float = 2.0,
    cap: float = 3600.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before attempt `attempts + 1`.

    Full jitter (AWS architecture blog) spreads a burst of failures so they don't retry in lockstep.
    """
    # The exponent is bounded: past ~1025 attempts 2**n no longer fits a float, and the cap is long
    # reached by then anyway.
    exponent = min(max(0, attempts - 1), 64)
    ceiling = min(cap, base * (2.0**exponent))
    wait = (rng or random).uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return wait
