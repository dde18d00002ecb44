"""Per-customer windowed triggers for moments of truth ("3rd support contact in 30 days").

Pure: the caller supplies the customer's events and the clock. Exactly-once opening
under concurrent ingestion is the service's job (it must evaluate under a per-customer
lock or unique constraint); this module only answers "does this event cross it now".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: str | timedelta) -> timedelta:
    """ "30d", "12h", "15m", "2w", "45s" -> timedelta; refuses anything else."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"duration {value!r} must look like 30d, 12h, 15m, 2w or 45s")
    amount, unit = int(match.group(1)), match.group(2).lower()
    return timedelta(**{_UNITS[unit]: amount})


class TriggerSpec(BaseModel):
    """``count`` matching events within ``within`` fire the trigger; ``where`` filters events.

    ``where`` keys are event fields (``stage``, ``source``); a value may be one string
    or a list of allowed strings.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=1)
    within: timedelta
    where: dict[str, str | list[str]] = Field(default_factory=dict)

    @field_validator("within", mode="before")
    @classmethod
    def _parse_within(cls, value: Any) -> timedelta:
        if isinstance(value, str | timedelta):
            window = parse_duration(value)
        else:
            raise ValueError("must be a duration such as 30d or 12h")
        if window <= timedelta(0):
            raise ValueError("must be longer than zero")
        return window

    @field_validator("where")
    @classmethod
    def _known_fields(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        unknown = set(value) - {"stage", "source"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}: only stage and source can be filtered")
        for key, allowed in value.items():
            if isinstance(allowed, list) and not allowed:
                raise ValueError(f"{key} must list at least one value")
        return value

    def accepts(self, event: CustomerEvent) -> bool:
        for key, allowed in self.where.items():
            actual = getattr(event, key)
            if isinstance(allowed, list):
                if actual not in allowed:
                    return False
            elif actual != allowed:
                return False
        return True


@dataclass(frozen=True)
class CustomerEvent:
    time: datetime
    stage: str | None
    source: str | None
    item_id: str


@dataclass(frozen=True)
class TriggerResult:
    fired: bool
    count: int
    # The matching events inside the window, oldest first: the moment issue's evidence.
    evidence: tuple[str, ...]


def matching_in_window(
    spec: TriggerSpec, events: Iterable[CustomerEvent], now: datetime
) -> list[CustomerEvent]:
    start = now - spec.within
    seen: set[str] = set()
    found: list[CustomerEvent] = []
    for event in sorted(events, key=lambda e: (e.time, e.item_id)):
        # An event redelivered with the same item id counts once.
        if event.item_id in seen or not (start < event.time <= now) or not spec.accepts(event):
            continue
        seen.add(event.item_id)
        found.append(event)
    return found


def evaluate(
    spec: TriggerSpec, history: Sequence[CustomerEvent], new: CustomerEvent, now: datetime
) -> TriggerResult:
    """Does ``new`` make the customer's count cross ``spec.count`` at time ``now``?

    Fires only on the crossing (count goes from count-1 to count), so the 4th and 5th
    contacts in the same window add evidence but do not fire again; once old events
    age out of the window, a later event can cross again.
    """
    before = matching_in_window(spec, history, now)
    if any(e.item_id == new.item_id for e in history):
        # A redelivered event was already counted when it first arrived.
        return TriggerResult(fired=False, count=len(before), evidence=tuple(e.item_id for e in before))
    after = matching_in_window(spec, [*before, new], now)
    crossed = len(before) < spec.count <= len(after)
    return TriggerResult(fired=crossed, count=len(after), evidence=tuple(e.item_id for e in after))
