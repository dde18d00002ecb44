from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.journey.accountability import DEFAULT_POLICY, PRIORITIES, Priority
from app.loop.impact import (
    ImpactInputs,
    detractor_share,
    due_at,
    impact_score,
    more_urgent,
    persona_weight,
    priority_for,
    reassess,
    recent_window,
)

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


# --- the parts, and what must always hold ------------------------------------------------------------


def test_detractor_share_is_zero_without_scores_and_never_above_one() -> None:
    assert detractor_share(0, 0) == 0.0
    assert detractor_share(0, 5) == 0.0
    assert detractor_share(4, 1) == 0.25
    assert detractor_share(2, 3) == 1.0


def test_more_urgent_orders_p1_first() -> None:
    assert more_urgent("p1", "p2") and more_urgent("p3", "p4")
    assert not more_urgent("p2", "p2") and not more_urgent("p4", "p1")


def test_recent_window_ends_now() -> None:
    start, end = recent_window(T0, DEFAULT_POLICY.impact)
    assert (start, end) == (T0 - timedelta(days=28), T0)


def test_inputs_refuse_negative_counts_and_zero_weights() -> None:
    with pytest.raises(ValidationError):
        ImpactInputs(items=-1, customers=0)
    with pytest.raises(ValidationError):
        ImpactInputs(items=1, customers=1, moment_weight=0)


def test_an_issue_past_its_due_date_keeps_it_when_raised() -> None:
    due = T0 + timedelta(days=1)  # already earlier than a p1's three days
    big = ImpactInputs(items=200, customers=100)
    raised = reassess(big, current="p3", current_due=due, opened_at=T0, now=T0, policy=DEFAULT_POLICY)
    assert raised.priority == "p1" and raised.due == due


def test_without_a_stored_due_date_the_current_priority_gives_one() -> None:
    calm = reassess(
        ImpactInputs(items=1, customers=1),
        current="p2",
        current_due=None,
        opened_at=T0,
        now=T0,
        policy=DEFAULT_POLICY,
    )
    assert (calm.changed, calm.due) == (False, T0 + timedelta(days=7))


counts = st.integers(min_value=0, max_value=5000)
weights = st.floats(min_value=0.1, max_value=5, allow_nan=False)


@st.composite
def inputs(draw: st.DrawFn) -> ImpactInputs:
    scored = draw(counts)
    return ImpactInputs(
        items=draw(counts),
        customers=draw(counts),
        scored=scored,
        detractors=draw(st.integers(0, scored)),
        moment_weight=draw(weights),
        persona_weight=draw(weights),
    )


@given(inputs(), st.integers(1, 100))
def test_more_items_or_customers_never_lower_the_score(i: ImpactInputs, extra: int) -> None:
    score = impact_score(i, DEFAULT_POLICY.impact)
    assert score >= 0
    assert impact_score(i.model_copy(update={"items": i.items + extra}), DEFAULT_POLICY.impact) >= score
    assert (
        impact_score(i.model_copy(update={"customers": i.customers + extra}), DEFAULT_POLICY.impact) >= score
    )


@given(
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
    st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_a_higher_score_never_gets_a_less_urgent_priority(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert not more_urgent(
        priority_for(low, DEFAULT_POLICY.impact), priority_for(high, DEFAULT_POLICY.impact)
    )


@given(
    inputs(),
    st.sampled_from(PRIORITIES),
    st.integers(0, 60 * 24 * 60),
    st.one_of(st.none(), st.integers(-60 * 24 * 10, 60 * 24 * 60)),
)
def test_reassessment_never_lowers_priority_nor_postpones_the_due_date(
    i: ImpactInputs, current: Priority, minutes_open: int, due_in: int | None
) -> None:
    now = T0 + timedelta(minutes=minutes_open)
    current_due = None if due_in is None else T0 + timedelta(minutes=due_in)
    out = reassess(i, current=current, current_due=current_due, opened_at=T0, now=now, policy=DEFAULT_POLICY)
    before = current_due if current_due is not None else due_at(T0, current, DEFAULT_POLICY)
    assert not more_urgent(current, out.priority)
    assert out.due <= before
    assert out.due >= min(before, now)  # brought forward, never into the past
    assert out.changed == (out.priority != current)
    assert out.score == impact_score(i, DEFAULT_POLICY.impact)
