"""What a score means per scale."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.issues.scores import THRESHOLDS, is_detractor, is_promoter


@pytest.mark.parametrize(
    ("scale", "score", "detractor", "promoter"),
    [
        ("nps", 0, True, False),
        ("nps", 6, True, False),
        ("nps", 7, False, False),
        ("nps", 8, False, False),
        ("nps", 9, False, True),
        ("nps", 10, False, True),
        ("csat", 1, True, False),
        ("csat", 2, True, False),
        ("csat", 3, False, False),
        ("csat", 4, False, True),
        ("csat", 5, False, True),
        ("ces", 3, True, False),
        ("ces", 4, False, False),
        ("ces", 5, False, True),
        ("nps", 6.5, False, False),
    ],
)
def test_thresholds_per_scale(scale: str, score: float, detractor: bool, promoter: bool) -> None:
    assert is_detractor(score, scale) is detractor
    assert is_promoter(score, scale) is promoter


@pytest.mark.parametrize(("score", "scale"), [(None, "nps"), (0, None), (0, "stars"), (10, "NPS")])
def test_no_score_or_an_unknown_scale_is_neither(score: float | None, scale: str | None) -> None:
    assert not is_detractor(score, scale)
    assert not is_promoter(score, scale)


@given(st.sampled_from(sorted(THRESHOLDS)), st.floats(min_value=-10, max_value=20, allow_nan=False))
def test_no_score_is_both_a_detractor_and_a_promoter(scale: str, score: float) -> None:
    assert not (is_detractor(score, scale) and is_promoter(score, scale))
    low, high = THRESHOLDS[scale]
    assert is_detractor(score, scale) == (score <= low)
    assert is_promoter(score, scale) == (score >= high)
