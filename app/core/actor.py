"""Who made a change, and where it came from: recorded on every issue event."""

from __future__ import annotations

from dataclasses import dataclass

SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    name: str
    key_id: int | None = None
    # The system a change came from (e.g. "contribution:12" for a ticket's status webhook). Reactions
    # that copy changes out to other systems skip the one the change came from, so nothing echoes back.
    origin: str | None = None


SYSTEM_ACTOR = Actor(SYSTEM)
