"""The board's kept issue counts: read by key, and folded by a scheduled job.

Database triggers (migration 0028) append a -1 and a +1 row to `board_counts` whenever an issue's stage
or status changes or its accountability (priority, due date) is written, changed or removed, so the
counts hold whatever path changed the issue. Reading sums the rows by key; `fold` replaces them with one
row per key, so the sum stays a few hundred rows.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import NamedTuple

from sqlalchemy import delete, func, insert, select
from sqlmodel import Session

from app.issues.models import BoardCount
from app.scheduler.registry import JobRun

log = logging.getLogger("seam.issues.board_counts")

COUNTS = BoardCount.__table__  # type: ignore[attr-defined]


class Key(NamedTuple):
    stage: str
    status: str
    priority: str  # "" without an accountability row
    due_day: str  # YYYY-MM-DD (UTC), "" without a due date


def read(session: Session, stage: str | None = None) -> dict[Key, int]:
    """Issues by key, the keys with none left out."""
    c = COUNTS.c
    stmt = select(c.stage, c.status, c.priority, c.due_day, func.sum(c.n)).group_by(
        c.stage, c.status, c.priority, c.due_day
    )
    if stage is not None:
        stmt = stmt.where(c.stage == stage)
    return {Key(*row[:4]): int(row[4]) for row in session.execute(stmt) if row[4]}


def fold(session: Session) -> int:
    """Replaces every row with one per key (none where the sum is 0); returns the rows removed.

    The rows summed are exactly those the DELETE removed (its RETURNING), so a row a concurrent
    transaction adds meanwhile is left for the next fold, never lost."""
    c = COUNTS.c
    gone = session.execute(delete(COUNTS).returning(c.stage, c.status, c.priority, c.due_day, c.n)).all()
    sums: dict[Key, int] = defaultdict(int)
    for row in gone:
        sums[Key(*row[:4])] += int(row[4])
    kept = [{**key._asdict(), "n": n} for key, n in sorted(sums.items()) if n]
    if kept:
        session.execute(insert(COUNTS), kept)
    return len(gone)


def fold_job(run: JobRun) -> None:
    with Session(run.engine) as session:
        removed = fold(session)
        session.commit()
    log.info("board counts folded: %d rows", removed)
