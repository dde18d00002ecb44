from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.loop.impact import (
    ImpactInputs,
    due_at,
    impact_score,
    persona_weight,
    priority_for,
    reassess,
)
from app.loop.policy import DEFAULT_POLICY

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_impact_weighs_breadth_detractors_moment_and_persona() -> None:
    impact = DEFAULT_POLICY.impact
    base = ImpactInputs(items=10, customers=8)
    assert impact_score(base, impact) == 26.0  # 10 + 2*8
    half_detractors = base.model_copy(update={"scored": 6, "detractors": 3})
    assert impact_score(half_detractors, impact) == 39.0  # * 1.5
    weighted = half_detractors.model_copy(update={"moment_weight": 1.5, "persona_weight": 1.2})
    assert impact_score(weighted, impact) == pytest.approx(70.2)
    # the same items from one customer weigh less than from many
    assert impact_score(ImpactInputs(items=10, customers=1), impact) < impact_score(base, impact)


def test_persona_weight_is_item_weighted_and_unknown_counts_as_one() -> None:
    weights = {"family": 1.2, "gifting": 0.8}
    assert persona_weight({"family": 3, "gifting": 1}, weights) == pytest.approx(1.1)
    assert persona_weight({None: 2, "ghost": 2}, weights) == 1.0
    assert persona_weight({}, weights) == 1.0


@pytest.mark.parametrize(
    ("score", "priority"), [(150, "p1"), (149.9, "p2"), (60, "p2"), (59, "p3"), (20, "p3"), (19.99, "p4")]
)
def test_priority_thresholds(score: float, priority: str) -> None:
    assert priority_for(score, DEFAULT_POLICY.impact) == priority


def test_impact_to_priority_to_due_date() -> None:
    inputs = ImpactInputs(items=40, customers=30, scored=20, detractors=15, moment_weight=1.5)
    first = reassess(inputs, current=None, current_due=None, opened_at=T0, now=T0, policy=DEFAULT_POLICY)
    # (40 + 60) * 1.75 * 1.5 = 262.5
    assert (first.score, first.priority, first.due) == (262.5, "p1", T0 + timedelta(days=3))
    assert first.changed
    assert due_at(T0, "p4", DEFAULT_POLICY) == T0 + timedelta(days=30)


def test_priority_rises_and_brings_the_due_date_forward_but_not_into_the_past() -> None:
    small = ImpactInputs(items=5, customers=5)  # 15 -> p4
    start = reassess(small, current=None, current_due=None, opened_at=T0, now=T0, policy=DEFAULT_POLICY)
    assert start.priority == "p4"
    big = ImpactInputs(items=30, customers=25, scored=10, detractors=5)  # 80 * 1.5 = 120 -> p2
    later = T0 + timedelta(days=10)
    raised = reassess(
        big, current="p4", current_due=start.due, opened_at=T0, now=later, policy=DEFAULT_POLICY
    )
    assert raised.changed and raised.priority == "p2"
    assert raised.due == later  # opened + 7d is already past: due now, not in the past
    assert raised.reason is not None and "p2" in raised.reason
    # impact falling never lowers priority or moves the date
    calm = reassess(small, current="p2", current_due=later, opened_at=T0, now=later, policy=DEFAULT_POLICY)
    assert (calm.changed, calm.priority, calm.due) == (False, "p2", later)
