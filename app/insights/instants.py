"""Times the insight API accepts: ISO 8601 with a zone, within 1970-2199, so that bucket and window
arithmetic never runs off the calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

from app.core.types_api import IsoDatetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _bounded(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError("must be between 1970 and 2199")
    return value


Instant = Annotated[IsoDatetime, AfterValidator(_bounded)]
