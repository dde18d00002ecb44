"""The stored per-stage grouping thresholds (`grouping_calibrations`): newest row per encoder wins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlmodel import Session

from app.routing.models import GroupingCalibration

CALIBRATIONS = GroupingCalibration.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Calibrated:
    id: int
    mean: np.ndarray | None
    stages: dict[str, Any]

    @property
    def thresholds(self) -> dict[str, float]:
        return {stage: float(s["threshold"]) for stage, s in self.stages.items()}


def latest_id(session: Session, encoder: str) -> int | None:
    c = CALIBRATIONS.c
    found = session.execute(
        select(c.id).where(c.encoder == encoder).order_by(c.id.desc()).limit(1)
    ).scalar_one_or_none()
    return None if found is None else int(found)


def latest(session: Session, encoder: str) -> Calibrated | None:
    c = CALIBRATIONS.c
    row = session.execute(
        select(c.id, c.mean, c.stages).where(c.encoder == encoder).order_by(c.id.desc()).limit(1)
    ).one_or_none()
    if row is None:
        return None
    mean = None if row.mean is None else np.frombuffer(row.mean, dtype="<f4").astype(np.float64)
    return Calibrated(int(row.id), mean, dict(row.stages or {}))


def save(session: Session, encoder: str, stages: dict[str, Any], mean: np.ndarray | None) -> int:
    data = None if mean is None else np.asarray(mean, dtype="<f4").tobytes()
    new_id = session.execute(
        CALIBRATIONS.insert().values(encoder=encoder, stages=stages, mean=data).returning(CALIBRATIONS.c.id)
    ).scalar_one()
    return int(new_id)
