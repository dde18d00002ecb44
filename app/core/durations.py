"""Durations as people write them in the journey file and settings: `90m`, `12h`, `3d`, `2w`, `1d12h`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION_RE = re.compile(r"^(?:\d+[mhdw])+$")
_PART_RE = re.compile(r"(\d+)([mhdw])")


def parse_duration(value: Any) -> timedelta:
    """'3d' -> 3 days. Also takes a timedelta. Refuses zero, negatives and unknown units."""
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, str) and _DURATION_RE.match(value.strip().lower()):
        seconds = sum(int(n) * _UNITS[u] for n, u in _PART_RE.findall(value.strip().lower()))
    else:
        raise ValueError(f"expected a duration such as '90m', '12h', '3d' or '2w', got {value!r}")
    if seconds <= 0:
        raise ValueError(f"duration must be positive, got {value!r}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("w", _UNITS["w"]), ("d", _UNITS["d"]), ("h", _UNITS["h"])):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
