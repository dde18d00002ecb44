"""Time buckets (ISO weeks from Monday, or calendar months), in UTC. Pure."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

Bucket = Literal["week", "month"]


def start_of(at: datetime | date, bucket: Bucket) -> date:
    d = at.astimezone(UTC).date() if isinstance(at, datetime) else at
    if bucket == "week":
        return d - timedelta(days=d.weekday())
    return d.replace(day=1)


def following(start: date, bucket: Bucket) -> date:
    if bucket == "week":
        return start + timedelta(days=7)
    return date(start.year + (start.month == 12), start.month % 12 + 1, 1)


def span(since: datetime, until: datetime, bucket: Bucket) -> list[date]:
    """Every bucket start from the one holding `since` to the one holding the instant before `until`."""
    last = start_of(until - timedelta(microseconds=1), bucket)
    out = []
    current = start_of(since, bucket)
    while current <= last:
        out.append(current)
        current = following(current, bucket)
    return out


def instant(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=UTC)
