from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class ExperienceIssue(SQLModel, table=True):
    __tablename__ = "experience_issues"
    __table_args__ = (
        # One active issue per stage and fingerprint: concurrent first items race on this, not on luck.
        UniqueConstraint("stage", "open_fingerprint", name="uq_issue_open_fingerprint"),
        Index("ix_issue_stage_status", "stage", "status"),
        # The listing's sorts, each ending in id for the keyset cursor (migration 0022).
        Index("ix_issue_impact_id", "impact", "id"),
        Index("ix_issue_created_id", "created_at", "id"),
        Index("ix_issue_last_seen_id", "last_seen", "id"),
        Index("ix_issue_stage_impact_id", "stage", "impact", "id"),
        Index("ix_issue_owner_impact_id", "owner", "impact", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300)
    stage: str = Field(max_length=100)
    moment: str | None = Field(default=None, max_length=100)
    touchpoint: str | None = Field(default=None, max_length=200)
    fingerprint: str = Field(max_length=300)
    # Equals fingerprint while the issue can take new items; NULL once closed or merged.
    open_fingerprint: str | None = Field(default=None, max_length=300)
    status: str = Field(default="open", max_length=20)
    owner: str = Field(max_length=100)
    item_count: int = 0
    customer_count: int = 0
    detractor_count: int = 0
    impact: float = 0.0
    # Customers' answers to "did this fix it for you?" after a confirmation (app.loop.customers).
    answers_yes: int = 0
    answers_no: int = 0
    first_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_seen: datetime | None = Field(default=None, sa_type=UTCDateTime)
    merged_into_id: int | None = Field(default=None, foreign_key="experience_issues.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IssueCustomer(SQLModel, table=True):
    """Which customers an issue has heard from: makes the distinct-customer count exact."""

    __tablename__ = "issue_customers"

    issue_id: int = Field(foreign_key="experience_issues.id", primary_key=True)
    customer_ref: str = Field(max_length=200, primary_key=True)


class IssueEvent(SQLModel, table=True):
    __tablename__ = "issue_events"
    __table_args__ = (Index("ix_issue_events_issue", "issue_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="experience_issues.id")
    kind: str = Field(max_length=50)
    actor: str = Field(max_length=200)
    actor_key_id: int | None = Field(default=None, foreign_key="api_keys.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reason: str | None = None
    before: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    after: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class IssueTeam(SQLModel, table=True):
    """The contributing teams named on an issue (the silos that affect its stage)."""

    __tablename__ = "issue_teams"

    issue_id: int = Field(foreign_key="experience_issues.id", primary_key=True)
    team: str = Field(max_length=100, primary_key=True, index=True)


class IssueFacet(SQLModel, table=True):
    """How many of an issue's items came from each persona, as customers or as staff checks: the board's
    persona and source filters read these instead of every item (kept by app.issues.facets)."""

    __tablename__ = "issue_facets"
    __table_args__ = (
        # From the filter's side: the issues with a persona (and source), in id order for the join.
        Index("ix_issue_facets_persona_staff_issue", "persona", "staff", "issue_id"),
        Index("ix_issue_facets_staff_issue", "staff", "issue_id"),
    )

    issue_id: int = Field(foreign_key="experience_issues.id", primary_key=True)
    # "" for items with no persona: a key column cannot be NULL, and no persona key is empty.
    persona: str = Field(max_length=100, primary_key=True)
    staff: bool = Field(primary_key=True)
    item_count: int = 0


class BoardCount(SQLModel, table=True):
    """Issues counted by stage, status, priority and due week, for the board's column totals: rows of +1
    and -1 written by database triggers on `experience_issues` and `issue_accountability` (so every
    path that changes an issue counts, and no two writers wait on one counter row), summed when read
    and folded into one row per key by the `issues.board_counts` job (app.issues.board_counts)."""

    __tablename__ = "board_counts"

    id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=100)
    status: str = Field(max_length=20)
    # "" for an issue with no accountability row yet (no priority, no due date).
    priority: str = Field(max_length=2)
    # The Monday (UTC) of the due date's week as YYYY-MM-DD, "" without one.
    due_week: str = Field(max_length=10)
    n: int


class IssueFilter(SQLModel, table=True):
    """The board's persona and source filters an issue matches, one row each ("persona", key) or
    ("source", "customers" | "staff"): its facets without their counts, kept with them by
    app.issues.facets. One row per match, so the kept filter counts' triggers add or remove exactly one."""

    __tablename__ = "issue_filters"

    issue_id: int = Field(foreign_key="experience_issues.id", primary_key=True)
    kind: str = Field(max_length=10, primary_key=True)
    value: str = Field(max_length=100, primary_key=True)


class BoardFilterCount(SQLModel, table=True):
    """`BoardCount` per filter value: issues counted by stage, status, priority and due week for each
    team (issue_teams), persona and source (issue_filters) they match, written by triggers on those
    tables and on the issues and their accountability, folded by the same job."""

    __tablename__ = "board_filter_counts"
    __table_args__ = (Index("ix_board_filter_counts_kind_value", "kind", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # "team", "persona" or "source"
    value: str = Field(max_length=100)
    stage: str = Field(max_length=100)
    status: str = Field(max_length=20)
    priority: str = Field(max_length=2)
    due_week: str = Field(max_length=10)
    n: int
