"""What the journey board flags on each stage's column: significant persona drops (month buckets, the
stage level) and overdue experience checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from app.insights import checks, personas
from app.journey.schemas import Journey

SPAN = timedelta(days=183)


@dataclass
class StageFlags:
    drops: list[str] = field(default_factory=list)
    overdue_checks: int = 0


def stage_flags(session: Session, journey: Journey, now: datetime) -> dict[str, StageFlags]:
    out = {s.key: StageFlags() for s in journey.stages}
    trends = personas.trends(session, journey, since=now - SPAN, until=now, bucket="month")
    for s in trends.drops:
        if s.moment is None and s.stage in out:
            pair = s.compared()
            if pair is not None:
                before, after = pair[0].value or 0.0, pair[1].value or 0.0
                out[s.stage].drops.append(f"{s.persona_name}: {s.label} {before:.0f} → {after:.0f}")
    names = {s.name: s.key for s in journey.stages}
    for v in checks.tasks(session, journey, now, "overdue"):
        key = names.get(v.stage)
        if key in out:
            out[key].overdue_checks += 1
    return out
