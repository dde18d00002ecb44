"""Times the insight API accepts: ISO 8601 with a zone, within 1970-2199, so that bucket and window
arithmetic never runs off the calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

from app.core.types_api import IsoDatetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _bounded(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1970 and 2199")
    return value


# The schema states the years too (a pattern beside the format), so that no client is surprised.
Instant = Annotated[
    IsoDatetime,
    AfterValidator(_bounded),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": r"^(19[7-9][0-9]|2[01][0-9]{2})-"}),
]
