"""Impact, priority and due date of an experience issue. Pure: the caller counts, this module weighs.

score = (items * per_item + customers * per_customer) * (1 + detractor_boost * detractor_share)
        * moment_weight * persona_weight

over the customers' items that occurred in the policy's recent window (`occurred_at`). Priority follows
the score through the policy's thresholds, the due date follows the priority's SLA.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.journey.accountability import PRIORITIES, AccountabilityPolicy, ImpactPolicy, Priority


class ImpactInputs(BaseModel):
    """What the caller counted over the window (items grouped into the issue, received in it)."""

    model_config = ConfigDict(frozen=True)

    items: int = Field(ge=0)
    customers: int = Field(ge=0, description="distinct customer references among those items")
    scored: int = Field(default=0, ge=0, description="items that carried a score")
    detractors: int = Field(default=0, ge=0, description="scored items that were detractors")
    moment_weight: float = Field(default=1.0, gt=0)
    persona_weight: float = Field(default=1.0, gt=0)


def detractor_share(scored: int, detractors: int) -> float:
    if scored <= 0:
        return 0.0
    return min(1.0, detractors / scored)


def persona_weight(items_by_persona: Mapping[str | None, int], weights: Mapping[str, float]) -> float:
    """Item-weighted mean of persona weights; items with no (or an unknown) persona weigh 1."""
    total = sum(n for n in items_by_persona.values() if n > 0)
    if total == 0:
        return 1.0
    weighted = sum(
        n * (weights.get(p, 1.0) if p is not None else 1.0) for p, n in items_by_persona.items() if n > 0
    )
    return weighted / total


def impact_score(inputs: ImpactInputs, policy: ImpactPolicy) -> float:
    volume = inputs.items * policy.per_item + inputs.customers * policy.per_customer
    boost = 1.0 + policy.detractor_boost * detractor_share(inputs.scored, inputs.detractors)
    return round(volume * boost * inputs.moment_weight * inputs.persona_weight, 2)


def priority_for(score: float, policy: ImpactPolicy) -> Priority:
    t = policy.thresholds
    if score >= t.p1:
        return "p1"
    if score >= t.p2:
        return "p2"
    if score >= t.p3:
        return "p3"
    return "p4"


def more_urgent(a: Priority, b: Priority) -> bool:
    """True when `a` is more urgent than `b` (p1 beats p2)."""
    return PRIORITIES.index(a) < PRIORITIES.index(b)


def due_at(opened_at: datetime, priority: Priority, policy: AccountabilityPolicy) -> datetime:
    return opened_at + policy.sla.get(priority)


class Reassessment(BaseModel):
    """The outcome of looking at an issue again; `changed` says whether an event should record it."""

    model_config = ConfigDict(frozen=True)

    score: float
    priority: Priority
    due: datetime
    changed: bool
    reason: str | None = None


def reassess(
    inputs: ImpactInputs,
    *,
    current: Priority | None,
    current_due: datetime | None,
    opened_at: datetime,
    now: datetime,
    policy: AccountabilityPolicy,
) -> Reassessment:
    """New score and priority; priority is only ever raised automatically (lowering is a person's call),
    and a raised priority can only bring the due date forward, never into the past."""
    score = impact_score(inputs, policy.impact)
    computed = priority_for(score, policy.impact)
    if current is None:
        return Reassessment(
            score=score, priority=computed, due=due_at(opened_at, computed, policy), changed=True
        )
    due = current_due if current_due is not None else due_at(opened_at, current, policy)
    if not more_urgent(computed, current):
        return Reassessment(score=score, priority=current, due=due, changed=False)
    new_due = min(due, max(due_at(opened_at, computed, policy), now))
    return Reassessment(
        score=score,
        priority=computed,
        due=new_due,
        changed=True,
        reason=f"impact {score:g} reached the {computed} threshold (was {current})",
    )


def recent_window(now: datetime, policy: ImpactPolicy) -> tuple[datetime, datetime]:
    """The [start, end) interval whose items count towards impact."""
    return now - policy.window, now
