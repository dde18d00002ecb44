"""Which function delivers which kind of outbox message. Domains register theirs here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not fn:
            raise ValueError(f"two handlers for outbox kind '{kind}'")
        HANDLERS[kind] = fn
        return fn

    return register
