"""The statistics behind persona trends, against values worked out by hand (shown in each test)."""

from __future__ import annotations

import pytest

from app.insights import stats


def test_nps_is_promoters_minus_detractors_with_a_normal_interval() -> None:
    # 10 promoters, 5 passives, 5 detractors: p = 0.5, d = 0.25, NPS = 25.
    # SE = 100 * sqrt((0.5 + 0.25 - 0.25^2) / 20) = 100 * sqrt(0.034375) = 18.5405; ±1.96 SE = ±36.339.
    e = stats.nps([10] * 10 + [8] * 5 + [3] * 5)
    assert e is not None
    assert e.n == 20 and e.value == pytest.approx(25.0)
    assert e.se == pytest.approx(18.5405, abs=1e-3)
    assert (e.low, e.high) == (pytest.approx(-11.339, abs=1e-3), pytest.approx(61.339, abs=1e-3))


def test_nps_interval_stays_within_its_scale() -> None:
    e = stats.nps([10, 10, 10, 9])
    assert e is not None and e.value == 100 and e.high == 100 and e.low == 100


def test_csat_is_the_top_two_box_share_with_the_wilson_interval() -> None:
    # 8 of 10 score 4-5. z^2 = 3.8415; centre = (0.8 + 0.19207) / 1.38415 = 0.71674;
    # half = 1.96 * sqrt(0.016 + 0.0096037) / 1.38415 = 0.22658 -> 49.02 % to 94.33 %.
    e = stats.top_box([5, 5, 5, 4, 4, 4, 4, 4, 2, 1])
    assert e is not None and e.value == pytest.approx(80.0) and e.hits == 8
    assert e.low == pytest.approx(49.02, abs=0.01) and e.high == pytest.approx(94.33, abs=0.01)


def test_ces_is_a_mean_with_students_t_interval() -> None:
    # 1..5: mean 3, sd = sqrt(10 / 4) = 1.5811, t(0.975, 4) = 2.77645;
    # half = 2.77645 * 1.5811 / sqrt(5) = 1.9632.
    e = stats.mean([1, 2, 3, 4, 5])
    assert e is not None and e.value == 3
    assert e.low == pytest.approx(1.0368, abs=1e-4) and e.high == pytest.approx(4.9632, abs=1e-4)
    single = stats.mean([4])
    assert single is not None and single.low is None and single.high is None


def test_no_scores_no_estimate() -> None:
    assert stats.nps([]) is None and stats.top_box([]) is None and stats.mean([]) is None


def test_a_large_nps_drop_is_significant() -> None:
    # Before: 20 P, 10 passive, 10 D of 40 -> 25, SE 13.110. After: 8 P, 12 passive, 20 D -> -30, SE 12.349.
    # z = 55 / sqrt(13.110^2 + 12.349^2) = 55 / 18.010 = 3.054; two-sided p = 0.00226.
    before = stats.nps([10] * 20 + [8] * 10 + [2] * 10)
    after = stats.nps([10] * 8 + [7] * 12 + [0] * 20)
    assert before is not None and after is not None
    d = stats.drop_test("nps", before, after)
    assert d.significant and d.change == pytest.approx(-55.0)
    assert d.p_value == pytest.approx(0.00226, abs=5e-5)


def test_the_same_drop_on_a_small_sample_is_not_flagged() -> None:
    before = stats.nps([10] * 5 + [8] * 3 + [2] * 2)
    after = stats.nps([10] * 2 + [7] * 3 + [0] * 5)
    assert before is not None and after is not None
    d = stats.drop_test("nps", before, after)
    assert not d.significant and d.p_value is None and "fewer than 30" in d.reason


def test_a_small_change_on_a_large_sample_is_not_significant() -> None:
    before = stats.nps([10] * 20 + [8] * 10 + [2] * 10)  # 25
    after = stats.nps([10] * 19 + [8] * 10 + [2] * 11)  # 20
    assert before is not None and after is not None
    d = stats.drop_test("nps", before, after)
    assert not d.significant and d.p_value is not None and d.p_value > 0.05


def test_top_box_drop_uses_the_pooled_two_proportion_z_test() -> None:
    # 40/50 then 25/50: pooled 0.65, SE = sqrt(0.65 * 0.35 * 2 / 50) = 0.095394; z = 0.3 / 0.095394 = 3.1449;
    # p = 0.00166.
    before = stats.top_box([5] * 40 + [2] * 10)
    after = stats.top_box([5] * 25 + [2] * 25)
    assert before is not None and after is not None
    d = stats.drop_test("csat_top2", before, after)
    assert d.significant and d.p_value == pytest.approx(0.00166, abs=2e-5)


def test_a_rise_is_never_a_drop() -> None:
    before = stats.top_box([5] * 25 + [2] * 25)
    after = stats.top_box([5] * 40 + [2] * 10)
    assert before is not None and after is not None
    assert not stats.drop_test("csat_top2", before, after).significant


def test_mean_drop_uses_welchs_t_test() -> None:
    # Means 5 and 4, sd 1 each, n 30 each: t = 1 / sqrt(2 / 30) = 3.873, df = 58 -> p = 0.000276.
    a = stats.Estimate(n=30, value=5.0, low=None, high=None, sd=1.0)
    b = stats.Estimate(n=30, value=4.0, low=None, high=None, sd=1.0)
    d = stats.drop_test("ces_mean", a, b)
    assert d.significant and d.p_value == pytest.approx(0.000276, abs=5e-6)


def test_pearson_and_median() -> None:
    # sxy = 9.5, sxx = 5, syy = 18.75: r = 9.5 / sqrt(93.75) = 0.98116.
    assert stats.pearson([1, 2, 3, 4], [2, 4, 5, 8]) == pytest.approx(0.98116, abs=1e-5)
    assert stats.pearson([1, 2], [2, 4]) is None
    assert stats.pearson([1, 1, 1], [2, 4, 5]) is None
    assert stats.median([3, 1, 2]) == 2 and stats.median([4, 1, 3, 2]) == 2.5 and stats.median([]) is None
