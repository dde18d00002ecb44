"""What the weekly digests say about insights, as plain data (filled by app.insights.digest, rendered by
the digest templates' `_insights` partials). The leadership digest carries only the top few of each list
and links to the board for the rest, to keep the email small."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

TOP = 5
# An owner sees the stage-level trend of this many personas (the most scored first); the rest are on
# /insights. Each is a chart and a table of six months, about 4 KB of HTML.
TOP_PERSONAS = 3


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DropLine(_Model):
    persona: str
    stage: str
    moment: str | None = None
    label: str
    months: str = Field(default="", description="the two months compared, e.g. 'Oct 2026 to Nov 2026'")
    before: float
    after: float
    n_before: int
    n_after: int
    p_value: float
    test: str


class TrendCell(_Model):
    label: str = Field(description="the bucket, e.g. 'Nov 2026'")
    value: float | None = None
    low: float | None = Field(default=None, description="95 % interval, lower end")
    high: float | None = Field(default=None, description="95 % interval, upper end")
    n: int = 0


class PersonaTrend(_Model):
    persona: str
    label: str = Field(description="the figure, e.g. 'NPS'")
    cells: list[TrendCell] = Field(default_factory=list, max_length=26)


class MetricLine(_Model):
    name: str
    unit: str | None = None
    weeks: list[str] = Field(default_factory=list, max_length=26, description="one label per value")
    latest: float | None = None
    change: float | None = None
    improving: bool | None = None
    values: list[float | None] = Field(default_factory=list, max_length=26)


class CreditLine(_Model):
    issue_id: int
    title: str
    stage: str
    owner: str
    teams: list[str] = Field(default_factory=list)
    items_before: int = 0
    items_after: int = 0
    score_change: float | None = None
    days_to_confirm: float | None = None

    @property
    def ref(self) -> str:
        return f"EI-{self.issue_id}"


class CauseLine(_Model):
    cause: str
    stages: list[str]
    issues: int
    customers: int


class RecordLine(_Model):
    stage: str
    confirmed: int
    reopen_rate: float | None = None
    median_days: float | None = None


class OverdueCheckLine(_Model):
    check: str
    stage: str
    person: str
    due: str
    days_late: int


class OwnerInsights(_Model):
    drops: list[DropLine] = Field(default_factory=list)
    personas: list[PersonaTrend] = Field(default_factory=list, max_length=TOP_PERSONAS)
    personas_total: int = 0
    metrics: list[MetricLine] = Field(default_factory=list)
    credits: list[CreditLine] = Field(default_factory=list)


class TeamInsights(_Model):
    credits: list[CreditLine] = Field(default_factory=list)


class LeadershipInsights(_Model):
    drops: list[DropLine] = Field(default_factory=list, max_length=TOP)
    drops_total: int = 0
    causes: list[CauseLine] = Field(default_factory=list, max_length=TOP)
    causes_total: int = 0
    credits: list[CreditLine] = Field(default_factory=list, max_length=TOP)
    credits_total: int = 0
    records: list[RecordLine] = Field(default_factory=list)
    records_total: int = 0
    record_days: int = 91
    fair_comparison: str = ""
    overdue_checks: list[OverdueCheckLine] = Field(default_factory=list, max_length=TOP)
    overdue_checks_total: int = 0


class DigestInsights(_Model):
    stages: dict[str, OwnerInsights] = Field(default_factory=dict)
    teams: dict[str, TeamInsights] = Field(default_factory=dict)
    leadership: LeadershipInsights = Field(default_factory=LeadershipInsights)
