"""The board's kept issue counts: read by key, and folded by a scheduled job.

Database triggers (migration 0028) append a -1 and a +1 row to `board_counts` whenever an issue's stage
or status changes or its accountability (priority, due date) is written, changed or removed, so the
counts hold whatever path changed the issue. `board_filter_counts` (migration 0029) holds the same per
team, persona and source an issue matches. Reading sums the rows by key; `fold` replaces them with one
row per key, with every week gone by as one, so the sum stays a few thousand rows at most.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session

from app.core.clock import utcnow
from app.issues.models import BoardCount, BoardFilterCount
from app.scheduler.registry import JobRun

log = logging.getLogger("seam.issues.board_counts")

COUNTS = BoardCount.__table__  # type: ignore[attr-defined]
FILTER_COUNTS = BoardFilterCount.__table__  # type: ignore[attr-defined]
# The due week of issues whose due week has passed, once folded: overdue whatever the clock says now,
# so one key instead of one per past week (sorts before every Monday).
PAST = "0000-00-00"


class Key(NamedTuple):
    stage: str
    status: str
    priority: str  # "" without an accountability row
    due_week: str  # the Monday (UTC) of the due date's week, YYYY-MM-DD; "" without a due date


def week_start(now: datetime) -> datetime:
    """The Monday 00:00 UTC of `now`'s week: the due weeks the triggers write are these days."""
    utc = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return (utc - timedelta(days=utc.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def folded(key: Key, this_week: str) -> Key:
    """The key a row is kept under once folded in `this_week`."""
    if key.due_week and key.due_week < this_week:
        return key._replace(due_week=PAST)
    return key


def read(session: Session, stage: str | None = None) -> dict[Key, int]:
    """Issues by key, the keys with none left out."""
    return _read(session, COUNTS, stage)


def read_filtered(session: Session, kind: str, value: str, stage: str | None = None) -> dict[Key, int]:
    """The issues matching one filter ("team", "persona" or "source", and its value) by key."""
    c = FILTER_COUNTS.c
    return _read(session, FILTER_COUNTS, stage, c.kind == kind, c.value == value)


def _read(session: Session, table: Any, stage: str | None, *where: Any) -> dict[Key, int]:
    c = table.c
    stmt = (
        select(c.stage, c.status, c.priority, c.due_week, func.sum(c.n))
        .where(*where)
        .group_by(c.stage, c.status, c.priority, c.due_week)
    )
    if stage is not None:
        stmt = stmt.where(c.stage == stage)
    return {Key(*row[:4]): int(row[4]) for row in session.execute(stmt) if row[4]}


def fold(session: Session, now: datetime | None = None) -> int:
    """Replaces every row of both tables with one per key (none where the sum is 0), weeks gone by as
    one (`PAST`); returns the rows removed.

    The rows summed are exactly those the DELETE removed (its RETURNING), so a row a concurrent
    transaction adds meanwhile is left for the next fold, never lost."""
    this_week = week_start(now or utcnow()).strftime("%Y-%m-%d")
    return _fold(session, COUNTS, (), this_week) + _fold(session, FILTER_COUNTS, ("kind", "value"), this_week)


def _fold(session: Session, table: Any, keys: tuple[str, ...], this_week: str) -> int:
    c = table.c
    gone = session.execute(
        delete(table).returning(*(c[k] for k in keys), c.stage, c.status, c.priority, c.due_week, c.n)
    ).all()
    sums: dict[tuple[tuple[Any, ...], Key], int] = defaultdict(int)
    for row in gone:
        sums[(tuple(row[: len(keys)]), folded(Key(*row[len(keys) : -1]), this_week))] += int(row[-1])
    kept = [
        {**dict(zip(keys, head, strict=True)), **key._asdict(), "n": n}
        for (head, key), n in sorted(sums.items())
        if n
    ]
    if kept:
        session.execute(insert(table), kept)
    return len(gone)


def fold_job(run: JobRun) -> None:
    with Session(run.engine) as session:
        removed = fold(session, run.now)
        session.commit()
    log.info("board counts folded: %d rows", removed)
