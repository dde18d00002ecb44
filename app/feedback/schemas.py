"""Feedback in and out of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.core.types_api import ApiModel, IsoDatetime

Scale = Literal["nps", "csat", "ces"]
# Inclusive score ranges per scale.
SCALE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}


class FeedbackIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The sender's id; unique per source, so resending never duplicates.",
    )
    text: str | None = Field(default=None, max_length=20000)
    score: float | None = None
    scale: Scale | None = None
    touchpoint: str | None = Field(default=None, min_length=1, max_length=200)
    customer_ref: str | None = Field(default=None, min_length=1, max_length=200)
    persona: str | None = Field(default=None, min_length=1, max_length=100)
    occurred_at: IsoDatetime | None = Field(
        default=None, description="When the customer gave it; now if absent."
    )
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _score_fits_scale(self) -> FeedbackIn:
        if (self.score is None) != (self.scale is None):
            missing = "scale" if self.scale is None else "score"
            raise ValueError(f"score and scale go together: {missing} is missing")
        if self.score is not None and self.scale is not None:
            low, high = SCALE_RANGES[self.scale]
            if not low <= self.score <= high or self.score != int(self.score):
                raise ValueError(
                    f"score {self.score:g} is not a whole number from {low} to {high} on {self.scale}"
                )
        if not (self.text and self.text.strip()) and self.score is None:
            raise ValueError("an item needs text or a score")
        return self


class Placement(BaseModel):
    method: str
    detail: dict[str, Any] = Field(default_factory=dict)


class FeedbackOut(BaseModel):
    id: int
    source: str
    external_id: str
    text: str | None
    score: float | None
    scale: str | None
    touchpoint: str | None
    customer_ref: str | None
    persona: str | None
    occurred_at: datetime
    received_at: datetime
    metadata: dict[str, Any]
    state: Literal["placed", "triage", "pending"]
    stage: str | None
    moment: str | None
    issue_id: int | None
    placement: dict[str, Any]
    redacted: Literal["erased", "retention"] | None = Field(
        default=None,
        description="Why its text, metadata and contacts are gone: the customer's erasure, or its "
        "source's retention (docs/privacy.md); scores and placement stay.",
    )


class DuplicateOut(BaseModel):
    """The answer to a key that cannot read when the item was already stored: that it exists, no more."""

    id: int
    status: Literal["duplicate"] = "duplicate"


class IngestResult(BaseModel):
    index: int
    status: Literal["created", "duplicate", "rejected"]
    id: int | None = None
    issue_id: int | None = None
    state: Literal["placed", "triage", "pending"] | None = None
    errors: list[dict[str, str]] = Field(default_factory=list)


class BatchIn(BaseModel):
    """Not an ApiModel: each item is checked on its own (`FeedbackIn`), so one bad item is rejected alone
    and the rest of the batch lands."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(
        min_length=1, max_length=1000, description="Feedback items (FeedbackIn); each is checked on its own."
    )


class BatchOut(BaseModel):
    created: int
    duplicates: int
    rejected: int
    results: list[IngestResult]


class FeedbackPage(BaseModel):
    items: list[FeedbackOut]
    next_cursor: str | None


class TriageDecision(ApiModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field(min_length=1, max_length=100)
    moment: str | None = Field(default=None, min_length=1, max_length=100)
    reason: str | None = Field(default=None, max_length=2000)
