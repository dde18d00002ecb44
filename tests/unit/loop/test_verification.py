from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.journey.accountability import DEFAULT_POLICY
from app.loop.verification import IssueItem, MomentScore, normalise, verify

SHIPPED = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def items(start: datetime, count: int, every: timedelta, first_id: int = 1) -> list[IssueItem]:
    return [IssueItem(id=first_id + i, occurred_at=start + i * every) for i in range(count)]


def scores(start: datetime, values: list[float], scale: str = "nps") -> list[MomentScore]:
    return [MomentScore(occurred_at=start + i * HOUR, score=v, scale=scale) for i, v in enumerate(values)]


def test_holding_when_items_stop_after_the_fix() -> None:
    # p1 window is 7 days; 4 days in: 20 items in the 4 days before, 1 since
    before = items(SHIPPED - 4 * DAY, 20, 4 * HOUR)
    after = items(SHIPPED + DAY, 1, HOUR, first_id=100)
    result = verify(
        shipped_at=SHIPPED,
        priority="p1",
        items=before + after,
        moment_scores=[],
        now=SHIPPED + 4 * DAY,
        policy=DEFAULT_POLICY,
    )
    assert result.outcome == "holding"
    assert (result.rate.before, result.rate.during, result.rate.ratio) == (20, 1, 0.05)
    assert not result.window_ended and result.window_end == SHIPPED + 7 * DAY
    assert result.compared == 4 * DAY
    assert result.new_item_ids == []


def test_baseline_is_only_the_same_length_before_the_fix() -> None:
    # 30 items long ago, none in the last 2 days before the fix: nothing to compare yet
    old = items(SHIPPED - 20 * DAY, 30, HOUR)
    result = verify(
        shipped_at=SHIPPED,
        priority="p1",
        items=old,
        moment_scores=[],
        now=SHIPPED + 2 * DAY,
        policy=DEFAULT_POLICY,
    )
    assert result.rate.before == 0
    assert result.outcome == "insufficient"
    assert "too little evidence" in result.reasons[0]


def test_regressed_when_items_keep_coming_with_the_items_as_evidence() -> None:
    before = items(SHIPPED - 2 * DAY, 8, 6 * HOUR)
    after = items(SHIPPED + HOUR, 5, 6 * HOUR, first_id=50)
    result = verify(
        shipped_at=SHIPPED,
        priority="p1",
        items=before + after,
        moment_scores=[],
        now=SHIPPED + 2 * DAY,
        policy=DEFAULT_POLICY,
    )
    assert result.outcome == "regressed"
    assert result.new_item_ids == [50, 51, 52, 53, 54]
    assert "5 new items in 2 days after the fix, against 8 in the 2 days before" in result.reasons[0]


def test_new_problem_with_no_baseline_regresses_once_enough_arrive() -> None:
    two = items(SHIPPED + HOUR, 2, HOUR)
    args = {"shipped_at": SHIPPED, "priority": "p2", "moment_scores": [], "policy": DEFAULT_POLICY}
    assert verify(items=two, now=SHIPPED + DAY, **args).outcome == "insufficient"  # type: ignore[arg-type]
    three = items(SHIPPED + HOUR, 3, HOUR)
    assert verify(items=three, now=SHIPPED + DAY, **args).outcome == "regressed"  # type: ignore[arg-type]


def test_score_at_the_moment_judges_with_a_minimum_sample() -> None:
    before = scores(SHIPPED - 3 * DAY, [8, 9, 8, 9, 8, 9, 8, 9, 8, 9])  # mean 8.5 -> 0.85
    dropped = scores(SHIPPED + HOUR, [6, 7, 6, 7, 6, 7, 6, 7, 6, 7])  # mean 6.5 -> 0.65
    result = verify(
        shipped_at=SHIPPED,
        priority="p1",
        items=[],
        moment_scores=before + dropped,
        now=SHIPPED + 3 * DAY,
        policy=DEFAULT_POLICY,
    )
    assert result.outcome == "regressed"
    assert (result.score.before_mean, result.score.during_mean) == (0.85, 0.65)
    assert "fell from 85% to 65%" in result.reasons[0]
    held = scores(SHIPPED + HOUR, [8, 9, 9, 8, 9, 8, 9, 9, 8, 9])
    ok = verify(
        shipped_at=SHIPPED,
        priority="p1",
        items=[],
        moment_scores=before + held,
        now=SHIPPED + 3 * DAY,
        policy=DEFAULT_POLICY,
    )
    assert ok.outcome == "holding" and ok.score.judged
    # nine scores after the fix are not enough to judge
    few = verify(
        shipped_at=SHIPPED,
        priority="p1",
        items=[],
        moment_scores=before + dropped[:9],
        now=SHIPPED + 3 * DAY,
        policy=DEFAULT_POLICY,
    )
    assert few.outcome == "insufficient" and not few.score.judged


def test_window_end_stops_the_comparison_at_the_window() -> None:
    before = items(SHIPPED - 7 * DAY, 14, 12 * HOUR)
    late = items(SHIPPED + 8 * DAY, 10, HOUR, first_id=200)  # after the p1 window: not counted
    result = verify(
        shipped_at=SHIPPED,
        priority="p1",
        items=before + late,
        moment_scores=[],
        now=SHIPPED + 10 * DAY,
        policy=DEFAULT_POLICY,
    )
    assert result.window_ended and result.compared == 7 * DAY
    assert result.rate.during == 0 and result.outcome == "holding"


def test_scales_normalise() -> None:
    assert normalise(3, "csat") == 0.5
    assert normalise(7, "ces") == 1.0
    assert normalise(5, "stars") is None
