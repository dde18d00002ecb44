"""Routing tables: the trained stage models, and the confirmations people made (training data)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary
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
