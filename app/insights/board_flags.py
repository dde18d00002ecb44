"""The board's persona drops, computed by the scheduled `insights.board_flags` job into one snapshot row
the board reads (with its time, shown as "as of").

Recomputing them per request meant reading six months of scores (seconds at a million items). The
board only shows stage-level drops between the last two complete months, so the job reads just those two
months, grouped by score in SQL (`personas.scores`): a few hundred rows whatever the number of items.
Each group is expanded back into its scores and judged by the same `stats` functions as
`personas.trends`, so the figures are the insights page's figures, only as of the last run.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session

from app.core.clock import utcnow
from app.insights import personas, stats
from app.insights.buckets import following, instant, span
from app.insights.models import PersonaDropSnapshot
from app.journey import service as journeys
from app.journey.schemas import Journey
from app.scheduler.registry import JobRun

log = logging.getLogger("seam.insights.board_flags")
SNAPSHOTS = PersonaDropSnapshot.__table__  # type: ignore[attr-defined]
# The insights page's default window; only its last two complete months are judged.
SPAN = timedelta(days=183)

GroupKey = tuple[str | None, str, str]  # persona, stage, scale


@dataclass(frozen=True)
class Snapshot:
    computed_at: datetime
    drops: list[dict[str, Any]]


def compared_months(now: datetime) -> tuple[date, date] | None:
    """The two buckets the drop test compares: the last two complete months of the window ending now."""
    starts = span(now - SPAN, now, "month")
    done = [b for b in starts if instant(following(b, "month")) <= now]
    return (done[-2], done[-1]) if len(done) >= 2 else None


def _month_scores(session: Session, start: date) -> dict[GroupKey, list[float]]:
    """Customers' scores of one month at each stage, per persona and scale: `personas.scores`' stage
    level, grouped by score in SQL, so the rows sent are bounded by the distinct scores."""
    raw = personas.scores(session, instant(start), instant(following(start, "month")), "month")
    return {
        (persona, stage, scale): by_month[start]
        for (persona, stage, moment, scale), by_month in raw.items()
        if moment is None and by_month.get(start)
    }


@dataclass(frozen=True)
class StageDrop:
    """A significant stage-level drop between the two compared months."""

    stage: str
    stage_name: str
    persona: str | None
    persona_name: str
    label: str
    before: float
    after: float
    n_before: int
    n_after: int
    before_start: str
    after_start: str
    p_value: float | None
    test: str


def stage_drops(session: Session, journey: Journey, now: datetime) -> list[StageDrop]:
    """Every significant stage-level drop, in the insights page's order (stage, persona, scale)."""
    months = compared_months(now)
    if months is None:
        return []
    before_scores, after_scores = (_month_scores(session, m) for m in months)
    personas = {p.key: p.name for p in journey.personas}
    stage_names = {s.key: s.name for s in journey.stages}
    drops = []
    for key in sorted(before_scores.keys() & after_scores.keys(), key=_order):
        persona, stage, scale = key
        if stage not in stage_names:
            continue
        figure = stats.FIGURE_OF_SCALE[scale]
        before = stats.estimate(figure, before_scores[key])
        after = stats.estimate(figure, after_scores[key])
        if before is None or after is None:
            continue
        d = stats.drop_test(figure, before, after)
        if not d.significant:
            continue
        drops.append(
            StageDrop(
                stage=stage,
                stage_name=stage_names[stage],
                persona=persona,
                persona_name=personas.get(persona, persona) if persona else "no persona",
                label=stats.FIGURE_LABELS[figure],
                before=before.value,
                after=after.value,
                n_before=before.n,
                n_after=after.n,
                before_start=months[0].isoformat(),
                after_start=months[1].isoformat(),
                p_value=d.p_value,
                test=d.test,
            )
        )
    return drops


def compute(session: Session, journey: Journey, now: datetime) -> list[dict[str, Any]]:
    return [asdict(d) for d in stage_drops(session, journey, now)]


def _order(key: GroupKey) -> tuple[str, str, str]:
    persona, stage, scale = key
    return (stage, persona or "~", scale)


def store(session: Session, journey: Journey, now: datetime) -> PersonaDropSnapshot:
    """A new snapshot replaces the previous ones in the caller's transaction."""
    row = PersonaDropSnapshot(computed_at=now, drops=compute(session, journey, now))
    session.add(row)
    session.flush()
    session.execute(delete(SNAPSHOTS).where(SNAPSHOTS.c.id != row.id))
    return row


def latest(session: Session) -> Snapshot | None:
    c = SNAPSHOTS.c
    row = session.execute(select(c.computed_at, c.drops).order_by(c.id.desc()).limit(1)).first()
    return None if row is None else Snapshot(row.computed_at, list(row.drops))


def refresh(engine: Any, now: datetime | None = None) -> PersonaDropSnapshot | None:
    """Compute and store a snapshot now (the job's work; also `seam demo` and the benchmarks)."""
    with Session(engine, expire_on_commit=False) as session:
        journey = journeys.current_or_none(session)
        if journey is None:
            return None
        row = store(session, journey, now or utcnow())
        session.commit()
    return row


def board_flags_job(run: JobRun) -> None:
    row = refresh(run.engine, run.now)
    if row is not None:
        log.info("persona drops on the board: %d significant", len(row.drops))
