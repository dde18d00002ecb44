"""Routing in and out of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.core.types_api import ApiModel


class RulesIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    # Checked as part of the journey, so every problem comes back by path (rules[2].regex).
    rules: list[dict[str, Any]] = Field(max_length=1000, description="Ordered rules; the first match wins.")


class RulesOut(BaseModel):
    journey_version: int
    rules: list[dict[str, Any]]


class RouteIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field(min_length=1, max_length=100)
    moment: str | None = Field(default=None, min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=2000)


class ModelOut(BaseModel):
    version: str
    created_at: datetime
    created_by: str
    examples: int
    confirmations_through: int
    metrics: dict[str, Any]
    confidence_threshold: float
    retrain_after: int
    # Confirmations made since this model was trained (it retrains at retrain_after).
    waiting_confirmations: int


class GroupingOut(BaseModel):
    encoder: dict[str, Any]
    index: str = Field(description="vectors (sentence encoder) or tfidf (the encoder is not loaded)")
    calibration_id: int | None
    stages: dict[str, Any] = Field(
        description="Per stage: threshold, how it was calibrated, on how many items"
    )


class ProposalIssue(BaseModel):
    id: int
    title: str
    status: str
    item_count: int
    moment: str | None


class ProposalOut(BaseModel):
    id: int
    stage: str
    status: str
    similarity: float
    shared_terms: list[str]
    keep: ProposalIssue
    merge: ProposalIssue
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None


class DecisionIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)
