"""The outbox: enqueue inside a unit of work; claim, finish and retry from workers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, field_error
from app.core.sql import insert_ignore
from app.outbox.backoff import delay_seconds
from app.outbox.models import OutboxMessage

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
STATES = ("pending", "in_flight", "done", "dead")


def enqueue(
    session: Session,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    *,
    available_at: datetime | None = None,
    max_attempts: int = 8,
) -> bool:
    """Adds a message unless one with this dedupe key exists. True if added. Never commits."""
    now = utcnow()
    stmt = (
        insert_ignore(session, OUTBOX, ["dedupe_key"])
        .values(
            kind=kind,
            dedupe_key=dedupe_key,
            payload=payload,
            state="pending",
            attempts=0,
            max_attempts=max_attempts,
            available_at=available_at or now,
            created_at=now,
            updated_at=now,
        )
        .returning(OUTBOX.c.id)
    )
    # RETURNING, not rowcount: psycopg reports -1 rows for INSERT ... ON CONFLICT DO NOTHING.
    return session.connection().execute(stmt).first() is not None


def claim(
    session: Session, worker: str, *, now: datetime, limit: int = 10, lease_s: float = 60
) -> list[OutboxMessage]:
    """Takes due messages (and ones whose worker's lease ran out) for this worker.

    PostgreSQL: FOR UPDATE SKIP LOCKED, so workers on many machines never take the same row.
    SQLite: transactions begin IMMEDIATE, so claims already run one at a time.
    """
    c = OUTBOX.c
    due = or_(
        (c.state == "pending") & (c.available_at <= now),
        (c.state == "in_flight") & (c.lease_until < now),
    )
    ids_stmt = (
        select(c.id).where(due).order_by(c.available_at, c.id).limit(limit).with_for_update(skip_locked=True)
    )
    ids = list(session.execute(ids_stmt).scalars())
    if not ids:
        return []
    session.execute(
        update(OUTBOX)
        .where(c.id.in_(ids))
        .values(
            state="in_flight",
            locked_by=worker,
            lease_until=now + timedelta(seconds=lease_s),
            attempts=c.attempts + 1,
            updated_at=now,
        )
    )
    stmt = select(OutboxMessage).where(c.id.in_(ids)).order_by(c.id).execution_options(populate_existing=True)
    return list(session.execute(stmt).scalars())


def _mine(message_id: int, worker: str) -> Any:
    c = OUTBOX.c
    return (c.id == message_id) & (c.locked_by == worker) & (c.state == "in_flight")


def complete(session: Session, message_id: int, worker: str, *, now: datetime) -> bool:
    """Marks done, if the message is still this worker's (a lapsed lease may have passed it on)."""
    result = session.execute(
        update(OUTBOX)
        .where(_mine(message_id, worker))
        .values(state="done", done_at=now, lease_until=None, last_error=None, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fail(
    session: Session,
    message: OutboxMessage,
    worker: str,
    error: str,
    *,
    now: datetime,
    retryable: bool,
    retry_after: float | None = None,
) -> str:
    """Schedules a retry, or parks the message as dead. Returns the new state."""
    assert message.id is not None
    dead = not retryable or message.attempts >= message.max_attempts
    values: dict[str, Any] = {"last_error": error[:2000], "lease_until": None, "updated_at": now}
    if dead:
        values["state"] = "dead"
    else:
        values["state"] = "pending"
        values["available_at"] = now + timedelta(
            seconds=delay_seconds(message.attempts, retry_after=retry_after)
        )
    session.execute(update(OUTBOX).where(_mine(message.id, worker)).values(**values))
    return str(values["state"])


def list_messages(
    session: Session, state: str | None, after_id: int | None, limit: int
) -> Sequence[OutboxMessage]:
    stmt = select(OutboxMessage)
    c = OUTBOX.c
    if state:
        stmt = stmt.where(c.state == state)
    if after_id is not None:
        stmt = stmt.where(c.id > after_id)
    return list(session.execute(stmt.order_by(c.id).limit(limit)).scalars())


def retry(session: Session, message_id: int, *, now: datetime | None = None) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"No outbox message {message_id}.")
    if message.state != "dead":
        raise Conflict(
            f"Only dead messages can be retried; this one is '{message.state}'.",
            errors=[field_error("id", f"state is '{message.state}'")],
        )
    now = now or utcnow()
    message.state = "pending"
    message.attempts = 0
    message.available_at = now
    message.updated_at = now
    session.add(message)
    session.flush()
    return message
