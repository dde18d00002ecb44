"""Insight API bodies and responses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.core.types_api import ApiModel
from app.insights.checks import ResultIn
from app.insights.instants import Instant
from app.insights.metrics import MAX_POINTS, PointIn
from app.insights.root_causes import RootCauseIn


class PointOut(BaseModel):
    start: date
    n: int
    value: float | None
    low: float | None = Field(description="95 % interval, low end")
    high: float | None = Field(description="95 % interval, high end")


class DropOut(BaseModel):
    significant: bool
    before: date
    after: date
    change: float
    p_value: float | None
    test: str
    reason: str


class SeriesOut(BaseModel):
    persona: str | None
    persona_name: str
    stage: str
    stage_name: str
    moment: str | None = Field(description="null: the whole stage")
    moment_name: str | None
    scale: str
    figure: str = Field(description="nps, csat_top2 (% scoring 4-5) or ces_mean (mean of 1-7)")
    label: str
    points: list[PointOut]
    drop: DropOut | None = Field(description="the last complete bucket against the one before")


class PersonaTrendsOut(BaseModel):
    bucket: Literal["week", "month"]
    since: datetime
    until: datetime
    min_sample: int
    method: str
    series: list[SeriesOut]
    drops: list[SeriesOut] = Field(description="the series whose last complete bucket dropped significantly")


class StageHurtOut(BaseModel):
    stage: str
    stage_name: str
    issues: int
    items: int
    customers: int


class CauseOut(BaseModel):
    cause: str
    cause_name: str
    issues: int
    items: int
    customers: int = Field(description="distinct customers across the cause's issues")
    spans_stages: bool
    stages: list[StageHurtOut]
    sub_causes: dict[str, int]


class RootCausesOut(BaseModel):
    causes: list[CauseOut]


class RootCauseOut(BaseModel):
    issue_id: int
    cause: str
    sub_cause: str | None
    unknown_reason: str | None
    recorded_by: str
    recorded_at: datetime


class FixIn(ApiModel):
    description: str = Field(min_length=1, max_length=4000)
    shipped_at: Instant | None = None


class FixOut(BaseModel):
    kind: str
    description: str
    shipped_at: datetime | None
    verification: str = Field(description="pending, verified or failed; long-term fixes are verified")
    verified_at: datetime | None
    verification_note: str | None
    recorded_by: str
    recorded_at: datetime


class FixesOut(BaseModel):
    issue_id: int
    root_cause: RootCauseOut | None
    mitigation: FixOut | None
    long_term: FixOut | None


class PointsIn(ApiModel):
    points: list[PointIn] = Field(min_length=1, max_length=MAX_POINTS)


class PointsOut(BaseModel):
    results: list[Literal["created", "updated", "unchanged"]]


class CsvRejectOut(BaseModel):
    line: int
    field: str
    message: str


class CsvOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: list[CsvRejectOut]


class CellOut(BaseModel):
    start: date
    value: float | None
    n: int


class MetricSeriesOut(BaseModel):
    metric: str
    name: str
    unit: str | None
    higher_is_better: bool
    contributors: list[str]
    cells: list[CellOut]
    latest: float | None
    change: float | None = Field(description="latest bucket minus the one before (with values)")
    correlation: float | None = Field(description="Pearson r with the stage's score over the buckets")
    pairs: int = Field(description="buckets with both a metric value and a score")


class StageMetricsOut(BaseModel):
    stage: str
    stage_name: str
    bucket: Literal["week", "month"]
    score_label: str = "customer score, mean as % of each item's scale"
    scores: list[CellOut]
    metrics: list[MetricSeriesOut]
    caution: str


class CreditOut(BaseModel):
    issue_id: int
    title: str
    stage: str
    stage_name: str
    moment: str | None
    owner: str
    owner_name: str
    teams: list[str]
    shipped_at: datetime | None
    confirmed_at: datetime
    items_before: int = Field(description="customer items in the span before the fix shipped")
    items_after: int = Field(description="customer items from shipping to confirming (the same span)")
    score_before: float | None = Field(description="the moment's mean score, % of scale, before")
    score_after: float | None
    score_change: float | None
    days_to_confirm: float | None = Field(description="days from first seen to confirmed")


class StageRecordOut(BaseModel):
    stage: str
    stage_name: str
    confirmed: int
    reopened: int
    reopen_rate: float | None
    median_days: float | None
    issues: int
    confirmed_share: float | None


class CreditsOut(BaseModel):
    since: datetime
    until: datetime
    fair_comparison: str
    credits: list[CreditOut]
    stages: list[StageRecordOut]


class CheckTaskOut(BaseModel):
    id: int
    check: str
    check_name: str
    stage: str
    moment: str
    person: str
    person_name: str
    team: str | None
    cycle_start: datetime
    assigned_at: datetime
    due_at: datetime
    reminded_at: datetime | None
    done_at: datetime | None
    item_id: int | None = Field(description="the staff feedback item the result became")
    overdue: bool
    days_late: int


class CheckTasksOut(BaseModel):
    tasks: list[CheckTaskOut]


__all__ = ["FixIn", "PointsIn", "ResultIn", "RootCauseIn"]
