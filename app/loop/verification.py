"""Did the fix hold? Pure: compares the verification window so far with the same length of time before
the fix was shipped. Time is the customer's: when each item occurred (`occurred_at`, the received time
when the source gave none), so an item that occurred before the fix shipped is never a recurrence,
however late it arrives.

Two signals, each judged only with enough data:
- recurrence: new items grouped into the issue. Regressed when at least `min_recurrence_items` arrived
  and their rate reached `max_rate_ratio` of the rate before the fix. "Holding" on this signal needs at
  least `min_baseline_items` before the fix (no recurrence of a problem nobody reported proves nothing).
- score: the mean score at the issue's moment (all feedback at that moment, not only the issue's items),
  each score normalised to 0..1 on its scale. Regressed when the mean dropped by more than
  `max_score_drop`; needs `min_scores` on both sides.
Outcome: `regressed` if either signal regressed (with the evidence), else `holding` if at least one
signal could judge, else `insufficient`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.feedback.schemas import SCALE_RANGES
from app.journey.accountability import AccountabilityPolicy, Priority, VerificationRules

Outcome = Literal["holding", "regressed", "insufficient"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class IssueItem(_Frozen):
    """A feedback item grouped into the issue."""

    id: int | str
    occurred_at: datetime


class MomentScore(_Frozen):
    """A scored feedback item at the issue's stage and moment."""

    occurred_at: datetime
    score: float
    scale: str


class RateEvidence(_Frozen):
    before: int
    during: int
    judged: bool
    regressed: bool
    ratio: float | None = Field(description="during / before; None when nothing came before")


class ScoreEvidence(_Frozen):
    before_n: int
    during_n: int
    before_mean: float | None = Field(description="0..1 share of the scale")
    during_mean: float | None
    judged: bool
    regressed: bool


class Verification(_Frozen):
    outcome: Outcome
    reasons: list[str]
    window_start: datetime
    window_end: datetime
    window_ended: bool
    compared: timedelta = Field(description="length of each side of the comparison so far")
    rate: RateEvidence
    score: ScoreEvidence
    new_item_ids: list[int | str] = Field(description="evidence for a reopen: items after the fix")


def normalise(score: float, scale: str) -> float | None:
    """The score as a share of its scale's range (0 lowest, 1 highest); None for an unknown scale."""
    bounds = SCALE_RANGES.get(scale)
    if bounds is None:
        return None
    low, high = bounds
    return min(1.0, max(0.0, (score - low) / (high - low)))


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _rate(before: int, during: int, rules: VerificationRules) -> RateEvidence:
    ratio = during / before if before else None
    regressed = during >= rules.min_recurrence_items and (ratio is None or ratio >= rules.max_rate_ratio)
    judged = regressed or before >= rules.min_baseline_items
    return RateEvidence(before=before, during=during, judged=judged, regressed=regressed, ratio=ratio)


def _score(before: list[float], during: list[float], rules: VerificationRules) -> ScoreEvidence:
    b, d = _mean(before), _mean(during)
    judged = len(before) >= rules.min_scores and len(during) >= rules.min_scores
    regressed = judged and b is not None and d is not None and (b - d) > rules.max_score_drop
    return ScoreEvidence(
        before_n=len(before),
        during_n=len(during),
        before_mean=None if b is None else round(b, 4),
        during_mean=None if d is None else round(d, 4),
        judged=judged,
        regressed=regressed,
    )


def verify(
    *,
    shipped_at: datetime,
    priority: Priority,
    items: Sequence[IssueItem],
    moment_scores: Sequence[MomentScore],
    now: datetime,
    policy: AccountabilityPolicy,
) -> Verification:
    window = policy.verification_window.get(priority)
    window_end = shipped_at + window
    upto = min(now, window_end)
    span = max(timedelta(0), upto - shipped_at)
    since = shipped_at - span
    rules = policy.verification

    before_items = [i for i in items if since <= i.occurred_at < shipped_at]
    during_items = sorted(
        (i for i in items if shipped_at <= i.occurred_at < upto), key=lambda i: (i.occurred_at, str(i.id))
    )
    rate = _rate(len(before_items), len(during_items), rules)
    score = _score(
        _normalised(moment_scores, since, shipped_at), _normalised(moment_scores, shipped_at, upto), rules
    )
    outcome, reasons = _outcome(rate, score, span, rules)
    return Verification(
        outcome=outcome,
        reasons=reasons,
        window_start=shipped_at,
        window_end=window_end,
        window_ended=now >= window_end,
        compared=span,
        rate=rate,
        score=score,
        new_item_ids=[i.id for i in during_items] if outcome == "regressed" else [],
    )


def _normalised(moment_scores: Sequence[MomentScore], lo: datetime, hi: datetime) -> list[float]:
    """The scores received in [lo, hi), each as a share of its scale (unknown scales left out)."""
    out = []
    for s in moment_scores:
        if lo <= s.occurred_at < hi:
            value = normalise(s.score, s.scale)
            if value is not None:
                out.append(value)
    return out


def _outcome(
    rate: RateEvidence, score: ScoreEvidence, span: timedelta, rules: VerificationRules
) -> tuple[Outcome, list[str]]:
    """The verdict, and the sentences that give the evidence for it."""
    reasons = []
    if rate.regressed:
        reasons.append(
            f"{rate.during} new items in {_human(span)} after the fix, against {rate.before} in the "
            f"{_human(span)} before"
        )
    if score.regressed and score.before_mean is not None and score.during_mean is not None:
        reasons.append(
            f"mean score at the moment fell from {score.before_mean:.0%} to {score.during_mean:.0%} of the "
            f"scale ({score.during_n} scores against {score.before_n})"
        )
    if reasons:
        outcome: Outcome = "regressed"
    elif rate.judged or score.judged:
        outcome = "holding"
        if rate.judged:
            reasons.append(f"{rate.during} new items against {rate.before} before the fix")
        if score.judged:
            reasons.append(f"mean score held ({score.before_n} and {score.during_n} scores)")
    else:
        outcome = "insufficient"
        reasons.append(
            f"too little evidence: {rate.before} items before the fix (need {rules.min_baseline_items}), "
            f"{score.before_n}/{score.during_n} scores (need {rules.min_scores} each side)"
        )
    return outcome, reasons


def _human(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f} days"
    return f"{hours:.0f} hours"
