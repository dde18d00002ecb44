"""Temperature scaling and calibration measures for the stage classifier."""

from __future__ import annotations

from itertools import pairwise

import numpy as np

# Wide enough for SVM margins (about -2..2) with a handful or thousands of examples.
_TEMPERATURES = np.geomspace(0.01, 5.0, 60)


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_temperature(scores: np.ndarray, to_stage: np.ndarray, true_stage: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood of the true *stage*.

    Fitted on out-of-fold scores, so the confidence the service thresholds on means
    "share of items like this that were right", not the SVM's raw margin.
    """
    best_t, best_nll = float(_TEMPERATURES[0]), np.inf
    rows = np.arange(len(true_stage))
    for t in _TEMPERATURES:
        stage_p = softmax(scores, float(t)) @ to_stage
        nll = -np.mean(np.log(np.clip(stage_p[rows, true_stage], 1e-12, 1.0)))
        if nll < best_nll:
            best_t, best_nll = float(t), float(nll)
    return best_t


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in pairwise(edges):
        mask = (confidence > lo) & (confidence <= hi) if lo > 0 else (confidence >= lo) & (confidence <= hi)
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)
