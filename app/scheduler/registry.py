"""Scheduled jobs: a name, a trigger and a function of one `JobRun`. Which jobs run is listed in the
composition root (`app.wiring.JOBS`).

A job only reads the database and writes outbox rows (never calls a vendor), so running it again for the
same tick would be harmless, but the runner makes sure it runs once per cluster per tick anyway.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, Protocol, cast
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine

from app.core.durations import Duration
from app.core.settings import Settings

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Interval ticks are aligned to this instant, so every replica computes the same tick boundaries.
EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday


class SchedulerConfig(BaseModel):
    """What the lead maps from settings (SEAM_SCHEDULER_*)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(default="UTC", description="zone of daily/weekly triggers, e.g. Europe/London")
    digest_weekday: Weekday = "mon"
    digest_hour: int = Field(default=8, ge=0, le=23)
    digest_minute: int = Field(default=0, ge=0, le=59)
    reminder_every: Duration = timedelta(minutes=15)
    verification_every: Duration = timedelta(hours=1)
    reconcile_every: Duration = timedelta(minutes=30)
    consolidate_every: Duration = timedelta(minutes=30)
    board_flags_every: Duration = timedelta(minutes=15)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(f"unknown time zone '{value}'") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Trigger(Protocol):
    def tick(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The scheduled instant this run belongs to: the latest firing time at or before `now`."""
        ...

    def apscheduler(self, zone: ZoneInfo) -> BaseTrigger: ...

    @property
    def grace(self) -> timedelta:
        """How late a run may start and still count for its tick."""
        ...


@dataclass(frozen=True)
class Every:
    interval: timedelta

    def __post_init__(self) -> None:
        if self.interval < timedelta(seconds=1):
            raise ValueError("interval must be at least one second")

    def tick(self, now: datetime, zone: ZoneInfo) -> datetime:
        return EPOCH + ((now - EPOCH) // self.interval) * self.interval

    def apscheduler(self, zone: ZoneInfo) -> BaseTrigger:
        return IntervalTrigger(seconds=self.interval.total_seconds(), start_date=EPOCH, timezone=UTC)

    @property
    def grace(self) -> timedelta:
        return self.interval / 2


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone)


@dataclass(frozen=True)
class Daily:
    hour: int
    minute: int = 0

    def tick(self, now: datetime, zone: ZoneInfo) -> datetime:
        local = now.astimezone(zone)
        at = _local(local.date(), time(self.hour, self.minute), zone)
        if at > local:
            at = _local(local.date() - timedelta(days=1), time(self.hour, self.minute), zone)
        return at.astimezone(UTC)

    def apscheduler(self, zone: ZoneInfo) -> BaseTrigger:
        return CronTrigger(hour=self.hour, minute=self.minute, timezone=zone)

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=1)


@dataclass(frozen=True)
class Weekly:
    weekday: Weekday
    hour: int
    minute: int = 0

    def tick(self, now: datetime, zone: ZoneInfo) -> datetime:
        local = now.astimezone(zone)
        back = (local.weekday() - WEEKDAYS.index(self.weekday)) % 7
        at = _local(local.date() - timedelta(days=back), time(self.hour, self.minute), zone)
        if at > local:
            at = _local(at.date() - timedelta(days=7), time(self.hour, self.minute), zone)
        return at.astimezone(UTC)

    def apscheduler(self, zone: ZoneInfo) -> BaseTrigger:
        return CronTrigger(day_of_week=self.weekday, hour=self.hour, minute=self.minute, timezone=zone)

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=1)


def scheduler_config(settings: Settings) -> SchedulerConfig:
    return SchedulerConfig(
        timezone=settings.scheduler_timezone,
        digest_weekday=settings.digest_weekday,
        digest_hour=settings.digest_hour,
    )


def weekly_digest(config: SchedulerConfig) -> Trigger:
    return Weekly(config.digest_weekday, config.digest_hour, config.digest_minute)


@dataclass(frozen=True)
class JobRun:
    """What one run of a job is given: the database, the process's settings, and the tick's clock."""

    engine: Engine
    settings: Settings
    config: SchedulerConfig
    now: datetime


JobFn = Callable[[JobRun], Awaitable[None] | None]
TriggerSpec = Trigger | Callable[[SchedulerConfig], Trigger]


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    trigger: TriggerSpec
    fn: JobFn

    def resolve(self, config: SchedulerConfig) -> Trigger:
        spec = self.trigger
        if hasattr(spec, "tick"):
            return cast(Trigger, spec)
        return spec(config)
