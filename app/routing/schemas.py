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
