"""Grouping thresholds that fit each company and stage, from its own unlabelled feedback.

Cosine similarities mean different things for different encoders, text lengths and
companies (a bank's complaints all share "account"; a restaurant's all share "food"), so
no single constant fits. The method, per stage:

1. Cluster a sample of the stage's recent feedback by average linkage (cosine) once.
2. Cut the tree at each candidate threshold (high to low) and measure *coverage*: the
   share of items in groups of at least ``min_size``, and the number of such groups per
   100 items.
3. Choose the highest threshold (tightest groups) whose coverage reaches the target while
   forming no more than ``max_groups_per_100`` groups; with too little feedback for that
   (under ``min_items``), fall back to a quantile of nearest-neighbour similarities.

People's corrections then move it: a merge of two groups people made at similarity s says
"s should have been enough", a split of an item at similarity s says "s was too low"
(:func:`adjust`). The online step and consolidation use the same threshold, both as an
average similarity, so it means the same in both (see :mod:`app.routing.consolidate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage


@dataclass(frozen=True)
class ThresholdSettings:
    target_coverage: float = 0.85
    min_size: int = 3
    max_groups_per_100: float = 15.0
    # Thresholds tried, high to low.
    highest: float = 0.95
    lowest: float = 0.05
    step: float = 0.01
    # Below this many items the tree says little; a neighbour quantile is used instead.
    min_items: int = 20
    neighbour_quantile: float = 0.5
    # Largest sample clustered (memory grows with its square).
    max_sample: int = 2500
    seed: int = 0


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    coverage: float
    groups_per_100: float
    method: Literal["coverage", "best-effort", "neighbours", "default"]
    items: int


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def neighbour_threshold(vectors: np.ndarray, quantile: float = 0.5) -> float:
    """A quantile of each item's best cosine to another item."""
    x = _unit(np.asarray(vectors, dtype=np.float64))
    sim = x @ x.T
    np.fill_diagonal(sim, -1.0)
    return float(np.quantile(sim.max(axis=1), quantile))


def coverage_at(labels: np.ndarray, min_size: int) -> tuple[float, float]:
    """Share of items in groups of ≥ ``min_size``, and such groups per 100 items."""
    _, counts = np.unique(labels, return_counts=True)
    big = counts >= min_size
    return float(counts[big].sum() / len(labels)), float(100.0 * big.sum() / len(labels))


def calibrate(vectors: np.ndarray, settings: ThresholdSettings | None = None) -> ThresholdChoice:
    """The threshold for one stage from its own (unlabelled) feedback vectors."""
    s = settings or ThresholdSettings()
    x = np.asarray(vectors, dtype=np.float64)
    if len(x) < s.min_items:
        if len(x) < 2:
            return ThresholdChoice(0.5, 0.0, 0.0, "default", len(x))
        return ThresholdChoice(neighbour_threshold(x, s.neighbour_quantile), 0.0, 0.0, "neighbours", len(x))
    if len(x) > s.max_sample:
        pick = np.random.default_rng(s.seed).choice(len(x), s.max_sample, replace=False)
        x = x[np.sort(pick)]
    tree = linkage(x, method="average", metric="cosine")
    fallback: ThresholdChoice | None = None
    for t in np.arange(s.highest, s.lowest - 1e-9, -s.step):
        labels = fcluster(tree, t=1.0 - float(t), criterion="distance")
        coverage, per_100 = coverage_at(labels, s.min_size)
        if coverage >= s.target_coverage:
            choice = ThresholdChoice(round(float(t), 4), coverage, per_100, "coverage", len(x))
            if per_100 <= s.max_groups_per_100:
                return choice
            fallback = fallback or ThresholdChoice(choice.threshold, coverage, per_100, "best-effort", len(x))
    if fallback is not None:
        return fallback
    labels = fcluster(tree, t=1.0 - s.lowest, criterion="distance")
    coverage, per_100 = coverage_at(labels, s.min_size)
    return ThresholdChoice(s.lowest, coverage, per_100, "best-effort", len(x))


def calibrate_stages(
    vectors_by_stage: Mapping[str, np.ndarray], settings: ThresholdSettings | None = None
) -> dict[str, ThresholdChoice]:
    return {stage: calibrate(v, settings) for stage, v in sorted(vectors_by_stage.items())}


@dataclass(frozen=True)
class Correction:
    """A person's correction of grouping, with the similarity the engine saw at the time."""

    kind: Literal["merge", "split"]
    similarity: float


def adjust(
    threshold: float,
    corrections: Sequence[Correction],
    *,
    prior_weight: float = 2.0,
    step: float = 0.01,
) -> float:
    """The threshold that best agrees with people's corrections, staying near the calibrated one.

    Minimises (merges below t) + (splits at or above t) + ``prior_weight`` x |t - threshold| / 0.1:
    one correction moves nothing far; a consistent run of them does.
    """
    if not corrections:
        return threshold
    merges = np.array([c.similarity for c in corrections if c.kind == "merge"])
    splits = np.array([c.similarity for c in corrections if c.kind == "split"])
    best_t, best_cost = threshold, float("inf")
    for t in np.arange(0.0, 1.0 + 1e-9, step):
        cost = float((merges < t).sum() + (splits >= t).sum())
        cost += prior_weight * abs(float(t) - threshold) / 0.1
        if cost < best_cost - 1e-9:
            best_t, best_cost = float(t), cost
    return round(best_t, 4)
