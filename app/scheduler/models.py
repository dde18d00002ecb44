from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import UTCDateTime


class JobTick(SQLModel, table=True):
    """One run of one scheduled job. The unique (job, tick) is the lease: the replica whose insert lands
    runs the tick, every other replica's insert does nothing and it skips."""

    __tablename__ = "job_ticks"
    __table_args__ = (UniqueConstraint("job", "tick", name="uq_job_ticks_job_tick"),)

    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=100)
    tick: datetime = Field(sa_type=UTCDateTime)
    holder: str = Field(max_length=200)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = None
