"""What a weekly digest says, as plain data. The lead's queries fill these models; `render` turns them
into an email. Nothing here reads the database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.insights.sections import LeadershipInsights, OwnerInsights, TeamInsights
from app.notify.messages import one_line

Priority = Literal["p1", "p2", "p3", "p4"]

MAX_VERBATIM = 400
TOP_MOMENTS = 20  # the essays advise 10-20 moments of truth
# Gmail clips an email's HTML after 102 KB. Mail HTML is heavy (inline styles on every cell, since Outlook
# ignores style blocks): a stage row on the leadership scorecard with its weekly spark is about 4.4 KB,
# an issue row in an owner's digest 1-1.6 KB. These caps keep the fullest digest near 80 KB whatever the
# journey's size (tests/unit/digests/test_size_caps.py); each capped list says how many more there are
# and links to them on the board.
TOP_STAGES = 10
TOP_ISSUES = 10  # overdue, and open by impact
TOP_WEEKLY = 5  # shipped, confirmed and reopened this week


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Model):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(min_length=3, max_length=320)


class IssueLine(_Model):
    id: int
    title: str = Field(max_length=300)
    stage: str = Field(description="stage name, as people read it")
    moment: str | None = Field(default=None, description="moment name")
    priority: Priority
    impact: float = Field(ge=0)
    status: str
    opened: date
    age_days: int = Field(ge=0)
    due: date | None = None
    overdue_days: int = Field(default=0, ge=0)
    items: int = Field(default=0, ge=0)
    customers: int = Field(default=0, ge=0)
    blocking_teams: list[str] = Field(default_factory=list, description="teams whose contribution is open")
    note: str | None = Field(default=None, max_length=300, description="e.g. why it was reopened")

    @field_validator("title", "stage", "moment", "note")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return value if value is None else one_line(value)

    @property
    def ref(self) -> str:
        return f"EI-{self.id}"


class TrendPoint(_Model):
    week_start: date
    value: float | None = Field(description="None when the week had no scores")
    responses: int = Field(default=0, ge=0)


class Trend(_Model):
    """A weekly series, oldest first (e.g. the stage's NPS over the last 8 weeks)."""

    label: str = Field(description="what the value is, e.g. 'NPS' or 'CSAT %'")
    points: list[TrendPoint] = Field(default_factory=list, max_length=26)
    low: float | None = Field(default=None, description="bottom of the chart; default: the lowest value")
    high: float | None = Field(default=None, description="top of the chart; default: the highest value")

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points if p.value is not None]

    @property
    def latest(self) -> float | None:
        return self.values[-1] if self.values else None

    @property
    def change(self) -> float | None:
        v = self.values
        return round(v[-1] - v[-2], 1) if len(v) >= 2 else None

    def bounds(self) -> tuple[float, float]:
        v = self.values
        low = self.low if self.low is not None else min(v, default=0.0)
        high = self.high if self.high is not None else max(v, default=1.0)
        if high <= low:
            high = low + 1.0
        return low, high


class Verbatim(_Model):
    text: str
    score: float | None = None
    scale: str | None = None
    persona: str | None = None
    received: date

    @field_validator("text")
    @classmethod
    def _tidy(cls, value: str) -> str:
        value = one_line(value)
        return value if len(value) <= MAX_VERBATIM else value[: MAX_VERBATIM - 1].rstrip() + "…"


def _seam_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in value for c in "\"'<> \r\n"):
        raise ValueError("seam_url must be an http(s) URL")
    return value.rstrip("/")


class _Digest(_Model):
    recipient: Person
    week_start: date = Field(description="Monday of the week the digest covers")
    seam_url: str = Field(description="base URL of Seam; the only link the email carries")

    @field_validator("seam_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _seam_url(value)

    @field_validator("week_start")
    @classmethod
    def _monday(cls, value: date) -> date:
        if value.weekday() != 0:
            raise ValueError("week_start must be a Monday")
        return value

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)

    @property
    def week_label(self) -> str:
        iso = self.week_start.isocalendar()
        return f"week {iso.week}, {self.week_start:%-d %b} to {self.week_end:%-d %b %Y}"


class OwnerDigest(_Digest):
    kind: Literal["owner"] = "owner"
    stage_key: str
    stage_name: str
    open_issues: list[IssueLine] = Field(default_factory=list)
    overdue: list[IssueLine] = Field(default_factory=list)
    shipped: list[IssueLine] = Field(default_factory=list, description="fixes shipped this week")
    confirmed: list[IssueLine] = Field(default_factory=list, description="fixes confirmed this week")
    reopened: list[IssueLine] = Field(default_factory=list, description="reopened this week")
    trend: Trend | None = None
    verbatims: list[Verbatim] = Field(default_factory=list, max_length=3)
    compliments: int = Field(default=0, description="customers' praise of the stage this week")
    valued: list[Verbatim] = Field(default_factory=list, max_length=3, description="a few of their words")
    insights: OwnerInsights | None = None

    @property
    def open_shown(self) -> list[IssueLine]:
        """The open issues by impact, the first `TOP_ISSUES`."""
        return sorted(self.open_issues, key=lambda x: (-x.impact, x.id))[:TOP_ISSUES]

    @property
    def overdue_shown(self) -> list[IssueLine]:
        return self.overdue[:TOP_ISSUES]

    def weekly_shown(self, name: Literal["shipped", "confirmed", "reopened"]) -> list[IssueLine]:
        lines: list[IssueLine] = getattr(self, name)
        return lines[:TOP_WEEKLY]


class ContributionLine(_Model):
    issue: IssueLine
    state: Literal["open", "in_progress"] = "open"
    ticket_key: str | None = Field(default=None, description="e.g. BILL-42; shown as text, not a link")
    ticket_status: str | None = None
    since: date = Field(description="when the contribution was asked for")
    due: date | None = None
    overdue_days: int = Field(default=0, ge=0)


class TeamDigest(_Digest):
    kind: Literal["team"] = "team"
    team_key: str
    team_name: str
    contributions: list[ContributionLine] = Field(default_factory=list)
    insights: TeamInsights | None = None


class StageScore(_Model):
    stage_key: str
    stage_name: str
    owner: str = Field(description="owner's name")
    open: int = Field(default=0, ge=0)
    overdue: int = Field(default=0, ge=0)
    shipped: int = Field(default=0, ge=0)
    confirmed: int = Field(default=0, ge=0)
    reopened: int = Field(default=0, ge=0)
    oldest_open_days: int | None = Field(default=None, ge=0)
    trend: Trend


class WeekScore(_Model):
    week_start: date
    score: float | None = Field(description="mean score as % of the scale; None when no scores")
    n: int = 0


class MomentScore(_Model):
    stage: str
    stage_name: str
    moment: str
    moment_name: str
    volume: int = Field(description="customer items in the period")
    previous_volume: int = Field(description="customer items in the period before")
    score: float | None = Field(description="mean score in the period as % of each item's scale")
    scores: int = Field(description="how many items in the period carried a score")
    previous_score: float | None = None
    trend: float | None = Field(description="score minus the previous period's, in points")
    open_issues: int
    overdue_issues: int
    weeks: list[WeekScore] = Field(default_factory=list, max_length=26)


class Scorecard(_Model):
    since: datetime
    until: datetime
    order: str = Field(description="how the moments are ordered")
    moments_declared: int
    moments: list[MomentScore] = Field(default_factory=list, max_length=TOP_MOMENTS)


class LeadershipDigest(_Digest):
    kind: Literal["leadership"] = "leadership"
    journey_name: str
    stages: list[StageScore] = Field(default_factory=list)
    moments: list[MomentScore] = Field(default_factory=list, max_length=TOP_MOMENTS)
    insights: LeadershipInsights | None = None

    def total(self, field: Literal["open", "overdue", "shipped", "confirmed", "reopened"]) -> int:
        return sum(getattr(s, field) for s in self.stages)

    @property
    def stages_shown(self) -> list[StageScore]:
        """The `TOP_STAGES` stages that most need a look (overdue, reopened, open, then the lowest score),
        in the journey's order."""

        def attention(s: StageScore) -> tuple[int, int, int, float]:
            latest = s.trend.latest
            return (-s.overdue, -s.reopened, -s.open, latest if latest is not None else float("inf"))

        if len(self.stages) <= TOP_STAGES:
            return list(self.stages)
        top = {s.stage_key for s in sorted(self.stages, key=attention)[:TOP_STAGES]}
        return [s for s in self.stages if s.stage_key in top]


Digest = Annotated[OwnerDigest | TeamDigest | LeadershipDigest, Field(discriminator="kind")]
