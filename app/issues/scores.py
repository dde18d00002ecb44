"""What a score means, per scale. Pure."""

from __future__ import annotations

# (detractor at or below, promoter at or above). CES runs 1 (very hard) to 7 (very easy).
THRESHOLDS: dict[str, tuple[float, float]] = {"nps": (6, 9), "csat": (2, 4), "ces": (3, 5)}


def is_detractor(score: float | None, scale: str | None) -> bool:
    if score is None or scale not in THRESHOLDS:
        return False
    return score <= THRESHOLDS[scale][0]


def is_promoter(score: float | None, scale: str | None) -> bool:
    if score is None or scale not in THRESHOLDS:
        return False
    return score >= THRESHOLDS[scale][1]
