"""The statistics behind persona trends, as pure functions of scores. No I/O.

Each scale gets the figure its readers expect, with a 95 % confidence interval:

- `nps` (0-10): Net Promoter Score = % promoters (9-10) minus % detractors (0-6), from -100 to 100.
  Its standard error is that of a difference of two shares of one multinomial sample:
  `sqrt((p + d - (p - d)^2) / n)`; the interval is the normal one, ±1.96 SE, clipped to [-100, 100].
- `csat` (1-5): top-two-box share, % of scores 4 or 5, with the Wilson score interval (it stays inside
  0-100 and behaves at small n and at shares near 0 or 100).
- `ces` (1-7, higher = easier): the mean, with Student's t interval (n - 1 degrees of freedom).

A drop between two buckets is significant when both have at least `MIN_SAMPLE` scores and a two-sided
test at the 5 % level rejects "no change", the later bucket being the lower: a z-test on the difference
of the two NPS (unpooled standard errors), a two-proportion z-test (pooled) for CSAT top-box shares, and
Welch's t-test for CES means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import stats as sp

Z95 = 1.959963984540054
ALPHA = 0.05
MIN_SAMPLE = 30
Figure = Literal["nps", "csat_top2", "ces_mean"]

FIGURE_OF_SCALE: dict[str, Figure] = {"nps": "nps", "csat": "csat_top2", "ces": "ces_mean"}
FIGURE_LABELS: dict[Figure, str] = {
    "nps": "NPS (% promoters - % detractors)",
    "csat_top2": "CSAT, % scoring 4-5",
    "ces_mean": "CES, mean of 1-7 (higher is easier)",
}


@dataclass(frozen=True)
class Estimate:
    n: int
    value: float
    low: float | None
    high: float | None
    # What the drop test needs besides n and value: the standard error (NPS), the count of successes
    # (top-box) or the sample standard deviation (means).
    se: float = 0.0
    hits: int = 0
    sd: float = 0.0


def nps(scores: Sequence[float]) -> Estimate | None:
    n = len(scores)
    if n == 0:
        return None
    p = sum(1 for s in scores if s >= 9) / n
    d = sum(1 for s in scores if s <= 6) / n
    value = 100 * (p - d)
    se = 100 * math.sqrt(max(0.0, p + d - (p - d) ** 2) / n)
    return Estimate(
        n=n, value=value, low=max(-100.0, value - Z95 * se), high=min(100.0, value + Z95 * se), se=se
    )


def top_box(scores: Sequence[float], threshold: float = 4) -> Estimate | None:
    """Share (in %) of scores at or above `threshold`, with the Wilson score interval."""
    n = len(scores)
    if n == 0:
        return None
    hits = sum(1 for s in scores if s >= threshold)
    p = hits / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Estimate(n=n, value=100 * p, low=100 * (centre - half), high=100 * (centre + half), hits=hits)


def mean(scores: Sequence[float]) -> Estimate | None:
    """The mean with Student's t interval; a single score has no interval."""
    n = len(scores)
    if n == 0:
        return None
    m = sum(scores) / n
    if n == 1:
        return Estimate(n=1, value=m, low=None, high=None)
    sd = math.sqrt(sum((s - m) ** 2 for s in scores) / (n - 1))
    half = float(sp.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Estimate(n=n, value=m, low=m - half, high=m + half, sd=sd)


def estimate(figure: Figure, scores: Sequence[float]) -> Estimate | None:
    if figure == "nps":
        return nps(scores)
    if figure == "csat_top2":
        return top_box(scores)
    return mean(scores)


@dataclass(frozen=True)
class Drop:
    significant: bool
    p_value: float | None
    change: float
    test: str
    reason: str


def drop_test(figure: Figure, before: Estimate, after: Estimate, *, min_sample: int = MIN_SAMPLE) -> Drop:
    """Is `after` significantly lower than `before`? (Two-sided test at ALPHA; see the module doc.)"""
    change = after.value - before.value
    test = {
        "nps": "z-test, NPS difference",
        "csat_top2": "two-proportion z-test",
        "ces_mean": "Welch t-test",
    }[figure]
    if min(before.n, after.n) < min_sample:
        return Drop(False, None, change, test, f"fewer than {min_sample} scores in a bucket")
    p = _p_value(figure, before, after)
    if p is None:
        return Drop(False, None, change, test, "no variation to test")
    significant = change < 0 and p < ALPHA
    reason = f"p = {p:.3f}" + (" < 0.05" if p < ALPHA else " ≥ 0.05")
    return Drop(significant, p, change, test, reason)


def _p_value(figure: Figure, a: Estimate, b: Estimate) -> float | None:
    if figure == "nps":
        se = math.sqrt(a.se**2 + b.se**2)
        return None if se == 0 else float(2 * sp.norm.sf(abs(b.value - a.value) / se))
    if figure == "csat_top2":
        pooled = (a.hits + b.hits) / (a.n + b.n)
        se = math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n))
        return None if se == 0 else float(2 * sp.norm.sf(abs(b.hits / b.n - a.hits / a.n) / se))
    if a.sd == 0 and b.sd == 0:
        return None
    result = sp.ttest_ind_from_stats(a.value, a.sd, a.n, b.value, b.sd, b.n, equal_var=False)
    return float(result.pvalue)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r of paired values; None below three pairs or without variation."""
    n = len(xs)
    if n < 3 or n != len(ys):
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
