"""Per-stage thresholds calibrated from unlabelled vectors, moved by people's corrections."""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from app.routing.thresholds import (
    Correction,
    ThresholdSettings,
    adjust,
    calibrate,
    coverage_at,
    neighbour_threshold,
)


def _clustered(seed: int = 0, topics: int = 6, per: int = 15, noise: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(topics, 16))
    x = np.vstack([c + rng.normal(0, noise, (per, 16)) for c in centres])
    x = np.vstack([x, rng.normal(size=(10, 16))])  # stragglers that fit nowhere
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_calibration_reaches_its_coverage_target() -> None:
    x = _clustered()
    for target in (0.6, 0.85):
        choice = calibrate(x, ThresholdSettings(target_coverage=target))
        assert choice.method == "coverage"
        assert choice.coverage >= target
        # Re-cut independently: the stated coverage is what the threshold gives.
        labels = fcluster(linkage(x, "average", metric="cosine"), 1 - choice.threshold, "distance")
        assert abs(coverage_at(labels, 3)[0] - choice.coverage) < 1e-9
    low = calibrate(x, ThresholdSettings(target_coverage=0.6)).threshold
    high = calibrate(x, ThresholdSettings(target_coverage=0.95)).threshold
    assert high < low  # more coverage needs a looser threshold


def test_thresholds_differ_between_tight_and_loose_feedback() -> None:
    tight = calibrate(_clustered(noise=0.1)).threshold
    loose = calibrate(_clustered(noise=0.5)).threshold
    assert tight > loose + 0.1


def test_small_samples_fall_back_to_neighbours() -> None:
    x = _clustered(per=2, topics=3)[:8]
    choice = calibrate(x)
    assert choice.method == "neighbours"
    assert choice.threshold == neighbour_threshold(x)


def test_corrections_move_the_threshold_only_when_consistent() -> None:
    assert adjust(0.6, []) == 0.6
    assert adjust(0.6, [Correction("merge", 0.5)]) == 0.6  # one merge is not a trend
    merges = [Correction("merge", s) for s in (0.5, 0.52, 0.48, 0.51, 0.53)]
    lowered = adjust(0.6, merges)
    assert lowered <= 0.48
    splits = [Correction("split", s) for s in (0.7, 0.72, 0.69, 0.71, 0.73)]
    assert adjust(0.6, splits) > 0.73
