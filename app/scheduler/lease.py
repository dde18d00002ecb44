"""Claiming a tick: INSERT ... ON CONFLICT (job, tick) DO NOTHING, committed on its own.

Exactly one replica's insert lands, on PostgreSQL (the unique index arbitrates concurrent inserts) and on
SQLite (writes are serialised). The claim commits before the job starts, so a job's own transaction
never holds the lease open, and a failed job still leaves its tick claimed: a tick runs at most once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, update
from sqlmodel import Session

from app.core.sql import insert_ignore
from app.scheduler.models import JobTick

_TABLE = JobTick.__table__  # type: ignore[attr-defined]


def claim_tick(engine: Engine, job: str, tick: datetime, holder: str, now: datetime) -> bool:
    """True if this caller won (job, tick); False if another holder already has it."""
    with Session(engine) as session:
        stmt = (
            insert_ignore(session, _TABLE, ("job", "tick"))
            .values(job=job, tick=tick, holder=holder[:200], started_at=now)
            .returning(_TABLE.c.id)
        )
        won = session.execute(stmt).first() is not None
        session.commit()
        return won


def finish_tick(
    engine: Engine, job: str, tick: datetime, holder: str, now: datetime, error: str | None = None
) -> None:
    with Session(engine) as session:
        session.execute(
            update(_TABLE)
            .where(_TABLE.c.job == job, _TABLE.c.tick == tick, _TABLE.c.holder == holder[:200])
            .values(finished_at=now, error=None if error is None else error[:2000])
        )
        session.commit()


def prune_ticks(engine: Engine, older_than: timedelta, now: datetime) -> int:
    """Forget finished ticks older than `older_than`; returns how many rows went."""
    with Session(engine) as session:
        result = session.execute(
            delete(_TABLE).where(_TABLE.c.tick < now - older_than, _TABLE.c.finished_at.is_not(None))
        )
        session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]
