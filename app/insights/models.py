"""Insight tables: an issue's root cause and its fixes (quick and long-term), and shared metric points."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class IssueRootCause(SQLModel, table=True):
    """Why an issue happened, from the journey's vocabulary, or "unknown" with the reason."""

    __tablename__ = "issue_root_causes"
    __table_args__ = (Index("ix_issue_root_causes_cause", "cause", "sub_cause"),)

    issue_id: int = Field(foreign_key="experience_issues.id", primary_key=True)
    cause: str = Field(max_length=100)
    sub_cause: str | None = Field(default=None, max_length=100)
    unknown_reason: str | None = None
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IssueFix(SQLModel, table=True):
    """A quick fix (`mitigation`) or a `long_term` fix; the long-term one is verified on its own."""

    __tablename__ = "issue_fixes"
    __table_args__ = (UniqueConstraint("issue_id", "kind", name="uq_issue_fixes_issue_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="experience_issues.id")
    kind: str = Field(max_length=20)
    description: str
    shipped_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # pending until shipped and judged; then verified or failed (long-term fixes only).
    verification: str = Field(default="pending", max_length=20)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verification_note: str | None = None
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MetricPoint(SQLModel, table=True):
    """One operational metric value a team sent; unique by metric, time and source (idempotent)."""

    __tablename__ = "metric_points"
    __table_args__ = (
        UniqueConstraint("metric", "at", "source", name="uq_metric_points_metric_at_source"),
        Index("ix_metric_points_metric_at", "metric", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    metric: str = Field(max_length=100)
    at: datetime = Field(sa_type=UTCDateTime)
    source: str = Field(max_length=100)
    value: float
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CheckTask(SQLModel, table=True):
    """One run of an experience check: assigned once per check and cycle, reminded once, then recorded
    (the result is a staff feedback item on the check's moment)."""

    __tablename__ = "experience_check_tasks"
    __table_args__ = (
        UniqueConstraint("check_key", "cycle_start", name="uq_experience_check_tasks_cycle"),
        Index("ix_experience_check_tasks_open", "done_at", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    check_key: str = Field(max_length=100)
    cycle_start: datetime = Field(sa_type=UTCDateTime)
    person: str = Field(max_length=100)
    team: str | None = Field(default=None, max_length=100)
    assigned_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    item_id: int | None = Field(default=None, foreign_key="feedback_items.id")


class PersonaDropSnapshot(SQLModel, table=True):
    """The board's persona drops as the scheduled `insights.board_flags` job last computed them: one row,
    replaced on each run, so the board reads a few rows instead of months of scores."""

    __tablename__ = "persona_drop_snapshots"

    id: int | None = Field(default=None, primary_key=True)
    computed_at: datetime = Field(sa_type=UTCDateTime)
    # [{stage, persona, persona_name, label, before, after, before_start, after_start, p_value}]
    drops: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
