"""Experience issues in and out of the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.types_api import ApiModel
from app.issues.lifecycle import REASON_REQUIRED, STATUSES

Status = Literal[STATUSES]  # type: ignore[valid-type]


class ScoreSummary(BaseModel):
    scale: str
    count: int
    mean: float
    detractors: int
    promoters: int


class IssueOut(BaseModel):
    id: int
    key: str
    title: str
    stage: str
    moment: str | None
    touchpoint: str | None
    fingerprint: str
    status: str
    owner: str
    teams: list[str]
    item_count: int
    customer_count: int
    detractor_count: int
    impact: float = Field(description="The issue's one impact score (README, 'Impact and priority').")
    answers_yes: int = Field(description="Customers who answered that the confirmed fix worked for them.")
    answers_no: int = Field(description="Customers who answered that it did not (a regression signal).")
    first_seen: datetime | None
    last_seen: datetime | None
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
    allowed_transitions: list[str]


class IssueDetail(IssueOut):
    scores: list[ScoreSummary] = Field(description="Customers' scores, per scale.")
    staff_scores: list[ScoreSummary] = Field(description="Staff checks' scores, kept apart from customers'.")


class IssuePage(BaseModel):
    items: list[IssueOut]
    next_cursor: str | None


class TransitionIn(ApiModel):
    # The moves that need a reason (lifecycle.REASON_REQUIRED) need one in the schema too: a reason with
    # something besides spaces in it.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"to": {"enum": list(sorted(REASON_REQUIRED))}}, "required": ["to"]},
            "then": {"required": ["reason"], "properties": {"reason": {"type": "string", "pattern": r"\S"}}},
        },
    )

    to: Status
    reason: str | None = Field(default=None, max_length=4000)


class MergeIn(ApiModel):
    model_config = ConfigDict(extra="forbid")

    into: int = Field(ge=1, le=2**31 - 1, description="The issue that absorbs this one.")
    reason: str | None = Field(default=None, max_length=4000)


class EventOut(BaseModel):
    id: int
    issue_id: int
    kind: str
    actor: str
    at: datetime
    reason: str | None
    before: dict[str, Any]
    after: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None
