"""What the journey board flags on each stage's column: significant persona drops (month buckets, the
stage level, as of the `insights.board_flags` job's last run) and overdue experience checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from app.insights import board_flags, checks
from app.journey.schemas import Journey


@dataclass
class StageFlags:
    drops: list[str] = field(default_factory=list)
    overdue_checks: int = 0


@dataclass
class BoardFlags:
    stages: dict[str, StageFlags]
    # When the persona drops were computed; None before the job's first run.
    drops_as_of: datetime | None

    def get(self, stage: str) -> StageFlags | None:
        return self.stages.get(stage)


def drop_line(drop: dict[str, object]) -> str:
    return f"{drop['persona_name']}: {drop['label']} {drop['before']:.0f} → {drop['after']:.0f}"


def stage_flags(session: Session, journey: Journey, now: datetime) -> BoardFlags:
    out = {s.key: StageFlags() for s in journey.stages}
    snapshot = board_flags.latest(session)
    for d in snapshot.drops if snapshot else []:
        if d["stage"] in out:
            out[d["stage"]].drops.append(drop_line(d))
    names = {s.name: s.key for s in journey.stages}
    for v in checks.tasks(session, journey, now, "overdue"):
        key = names.get(v.stage)
        if key in out:
            out[key].overdue_checks += 1
    return BoardFlags(out, snapshot.computed_at if snapshot else None)
