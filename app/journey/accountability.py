"""The journey file's `accountability:` section: SLAs, verification windows, reminder cadence,
escalation, quiet hours and the impact scale. Pure data with validation; every default is usable as is.

Durations are written as a number and a unit: `90m`, `12h`, `3d`, `2w` (also `1d12h`).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from app.core.durations import Duration, format_duration

Priority = Literal["p1", "p2", "p3", "p4"]
PRIORITIES: tuple[Priority, ...] = ("p1", "p2", "p3", "p4")


def _parse_clock(value: Any) -> time:
    if isinstance(value, time):
        return value
    # YAML 1.1 (PyYAML) reads an unquoted 20:00 as the base-60 integer 1200: take it back.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    if isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    raise ValueError(f"expected a local time as HH:MM (24-hour), got {value!r}")


ClockTime = Annotated[
    time, BeforeValidator(_parse_clock), PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)
]


class _Strict(BaseModel):
    # A typo in the journey file must be refused, not silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class _PerPriority(_Strict):
    def get(self, priority: Priority) -> Any:
        return getattr(self, priority)


def _ascending(model: _PerPriority, field: str, smaller_is_urgent: bool = True) -> None:
    """p1 is the most urgent: its SLA (or window) may not be longer than p2's, and so on."""
    values = [model.get(p) for p in PRIORITIES]
    for higher, lower, a, b in zip(PRIORITIES, PRIORITIES[1:], values, values[1:], strict=False):
        if smaller_is_urgent and a > b:
            raise ValueError(
                f"{field}.{higher} ({format_duration(a)}) is longer than {field}.{lower} "
                f"({format_duration(b)}): a more urgent priority needs the shorter time"
            )


class Sla(_PerPriority):
    """Time from an issue's opening to its due date."""

    p1: Duration = timedelta(days=3)
    p2: Duration = timedelta(days=7)
    p3: Duration = timedelta(days=14)
    p4: Duration = timedelta(days=30)

    @model_validator(mode="after")
    def _ordered(self) -> Sla:
        _ascending(self, "sla")
        return self


class VerificationWindows(_PerPriority):
    """How long after `fix_shipped` Seam watches for the problem to come back."""

    p1: Duration = timedelta(days=7)
    p2: Duration = timedelta(days=14)
    p3: Duration = timedelta(days=21)
    p4: Duration = timedelta(days=28)


class Cadence(_Strict):
    """When to remind: `before_due` offsets, at the due time, then every `overdue_every` until done."""

    before_due: list[Duration] = Field(default_factory=lambda: [timedelta(days=1)], max_length=10)
    at_due: bool = True
    overdue_every: Duration = timedelta(days=2)


def _cadence(before: list[timedelta], every: timedelta) -> Cadence:
    return Cadence(before_due=before, at_due=True, overdue_every=every)


class Reminders(_PerPriority):
    p1: Cadence = Field(default_factory=lambda: _cadence([timedelta(days=1)], timedelta(days=1)))
    p2: Cadence = Field(default_factory=lambda: _cadence([timedelta(days=2)], timedelta(days=2)))
    p3: Cadence = Field(default_factory=lambda: _cadence([timedelta(days=3)], timedelta(days=3)))
    p4: Cadence = Field(default_factory=lambda: _cadence([timedelta(days=7)], timedelta(days=7)))


class QuietHours(_Strict):
    """Local time in each recipient's own zone during which nothing is sent; reminders wait for `end`.
    `start` after `end` wraps midnight (20:00-08:00)."""

    start: ClockTime = time(20, 0)
    end: ClockTime = time(8, 0)
    weekends: bool = Field(default=False, description="also hold reminders over Saturday and Sunday")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet_hours.start equals quiet_hours.end; leave quiet_hours out to disable")
        return self


class Escalation(_Strict):
    """After `after` reminders without an acknowledgement, the next one also goes one step up the chain:
    owner, then the stage's sponsor, then the CX lead."""

    after: int = Field(default=2, ge=1, le=20)


class ImpactThresholds(_Strict):
    """Lowest impact score for each priority; anything below p3 is p4."""

    p1: float = Field(default=150.0, gt=0)
    p2: float = Field(default=60.0, gt=0)
    p3: float = Field(default=20.0, gt=0)

    @model_validator(mode="after")
    def _descending(self) -> ImpactThresholds:
        if not self.p1 > self.p2 > self.p3:
            raise ValueError(
                f"impact.thresholds must fall from p1 to p3, got p1={self.p1}, p2={self.p2}, p3={self.p3}"
            )
        return self


class ImpactPolicy(_Strict):
    """score = (items * per_item + customers * per_customer) * (1 + detractor_boost * detractor_share)
    * moment weight * persona weight, over items received in the last `window`."""

    window: Duration = timedelta(days=28)
    per_item: float = Field(default=1.0, ge=0)
    per_customer: float = Field(default=2.0, ge=0)
    detractor_boost: float = Field(default=1.0, ge=0, le=10)
    thresholds: ImpactThresholds = Field(default_factory=ImpactThresholds)

    @model_validator(mode="after")
    def _something_counts(self) -> ImpactPolicy:
        if self.per_item == 0 and self.per_customer == 0:
            raise ValueError("impact.per_item and impact.per_customer cannot both be 0")
        return self


class VerificationRules(_Strict):
    """How the evidence is judged during a verification window (see app.loop.verification)."""

    min_baseline_items: int = Field(
        default=5, ge=1, description="items before the fix needed to call 'no recurrence' meaningful"
    )
    min_recurrence_items: int = Field(default=3, ge=1, description="new items needed to call a regression")
    max_rate_ratio: float = Field(
        default=0.5, gt=0, le=2, description="regressed when the new-item rate reaches this share of before"
    )
    min_scores: int = Field(default=10, ge=1, description="scores needed on each side to compare means")
    max_score_drop: float = Field(
        default=0.05, ge=0, le=1, description="allowed drop of the mean score, as a share of the scale"
    )
    reopen_after_no: int = Field(
        default=2,
        ge=1,
        le=1000,
        description="customers answering 'no, still a problem' after a confirmation that reopen the issue",
    )


class AccountabilityPolicy(_Strict):
    sla: Sla = Field(default_factory=Sla)
    verification_window: VerificationWindows = Field(default_factory=VerificationWindows)
    reminders: Reminders = Field(default_factory=Reminders)
    escalation: Escalation = Field(default_factory=Escalation)
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    impact: ImpactPolicy = Field(default_factory=ImpactPolicy)
    verification: VerificationRules = Field(default_factory=VerificationRules)

    @model_validator(mode="after")
    def _reminders_fit(self) -> AccountabilityPolicy:
        for p in PRIORITIES:
            sla = self.sla.get(p)
            for i, offset in enumerate(self.reminders.get(p).before_due):
                if offset >= sla:
                    raise ValueError(
                        f"reminders.{p}.before_due[{i}] ({format_duration(offset)}) is not shorter than "
                        f"sla.{p} ({format_duration(sla)}): it would fire before the issue exists"
                    )
        return self


DEFAULT_POLICY = AccountabilityPolicy()


def policy_errors(data: Any) -> list[tuple[str, str]]:
    """Every problem in an `accountability:` mapping as (path, message), like the journey's own errors."""
    from pydantic import ValidationError

    try:
        AccountabilityPolicy.model_validate(data if data is not None else {})
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            path = ".".join(str(p) for p in ("accountability", *err["loc"]))
            out.append((path, err["msg"].removeprefix("Value error, ")))
        return out
    return []
