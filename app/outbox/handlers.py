"""What a handler of an outbox message is given, and its shape. Which handler serves which kind is
listed in the composition root (`app.wiring.HANDLERS`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from app.core.settings import Settings
from app.outbox.models import OutboxMessage


@dataclass(frozen=True)
class JobContext:
    engine: Engine
    settings: Settings
    now: datetime
    worker: str


Handler = Callable[[JobContext, OutboxMessage], Awaitable[None]]
Handlers = Mapping[str, Handler]
