"""Routing tables: the trained stage models, and the confirmations people made (training data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.clock import utcnow
from app.core.types import JSONType, UTCDateTime


class RoutingModel(SQLModel, table=True):
    """One trained stage model. The newest row is the one in force; every replica loads it by version."""

    __tablename__ = "routing_models"

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    examples: int = 0
    # The last confirmation this model was trained with: retraining counts the ones after it.
    confirmations_through: int = 0
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # The model file itself (numpy .npz, no pickle): in the database, so every replica can load it.
    data: bytes = Field(sa_type=LargeBinary)


class RoutingConfirmation(SQLModel, table=True):
    """A person chose an item's stage (triage or correction): training data for the next model."""

    __tablename__ = "routing_confirmations"
    __table_args__ = (Index("ix_routing_confirmations_item", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="feedback_items.id")
    text: str
    stage: str = Field(max_length=100)
    moment: str | None = Field(default=None, max_length=100)
    method: str = Field(max_length=20)
    actor: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ItemVector(SQLModel, table=True):
    """An item's sentence vector, computed once at ingest: the grouping index and the consolidation
    pass read it instead of running the encoder again. float16 bytes (half the space, and cosine
    similarities change by under 0.001)."""

    __tablename__ = "item_vectors"

    item_id: int = Field(foreign_key="feedback_items.id", primary_key=True)
    encoder: str = Field(max_length=100)
    vector: bytes = Field(sa_type=LargeBinary)


class GroupingCalibration(SQLModel, table=True):
    """Per-stage grouping thresholds calibrated from the company's own feedback, and the mean vector
    similarities are centred on. The newest row for the encoder in force is used."""

    __tablename__ = "grouping_calibrations"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    encoder: str = Field(max_length=100)
    # stage -> {"threshold", "calibrated", "method", "coverage", "groups_per_100", "items", "corrections"}
    stages: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    mean: bytes | None = Field(default=None, sa_type=LargeBinary)


class MergeProposal(SQLModel, table=True):
    """Two issues the consolidation pass found alike: a person accepts (they merge) or rejects it."""

    __tablename__ = "merge_proposals"
    __table_args__ = (
        UniqueConstraint("keep_issue_id", "merge_issue_id", name="uq_merge_proposal_pair"),
        Index("ix_merge_proposals_status", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=100)
    keep_issue_id: int = Field(foreign_key="experience_issues.id")
    merge_issue_id: int = Field(foreign_key="experience_issues.id")
    similarity: float
    shared_terms: list[str] = Field(default_factory=list, sa_type=JSONType)
    # proposed -> accepted | rejected | stale (one of the two closed or merged meanwhile)
    status: str = Field(default="proposed", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=200)
