"""The outbox: enqueue inside a unit of work; claim, finish and retry from workers.

Retry budgets: a message kind with a budget (`install`, from the composition root) retries a retryable
failure with capped exponential backoff until its budget of time since it was queued is spent (and at
least `max_attempts` were made), however many attempts that takes; a kind without one gives up after
`max_attempts`. A permanent failure is dead
at once. When a message goes dead, or a dead one is retried, its kind's reactions run in that same
transaction (e.g. a contribution shows `failed`, then `requested` again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Budget:
    """How long a kind keeps retrying (`window`, from when it was queued) and the longest wait between
    attempts (`cap_s`). A server's Retry-After is honoured even past the cap, within the window."""

    window: timedelta
    cap_s: float = 3600.0


# (session, message, error) when it goes dead; (session, message) when a dead one is retried.
DeadReaction = Callable[[Session, OutboxMessage, str], None]
RetryReaction = Callable[[Session, OutboxMessage], None]
_budgets: dict[str, Budget] = {}
_on_dead: dict[str, DeadReaction] = {}
_on_retry: dict[str, RetryReaction] = {}


def install(
    budgets: Mapping[str, Budget],
    on_dead: Mapping[str, DeadReaction] | None = None,
    on_retry: Mapping[str, RetryReaction] | None = None,
) -> None:
    global _budgets, _on_dead, _on_retry
    _budgets, _on_dead, _on_retry = dict(budgets), dict(on_dead or {}), dict(on_retry or {})


def budget_for(kind: str) -> Budget | None:
    return _budgets.get(kind)


# Attempts a message gets unless its kind has a retry budget or the caller says otherwise.
DEFAULT_MAX_ATTEMPTS = 8


def enqueue_values(
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    *,
    now: datetime,
    available_at: datetime | None = None,
) -> dict[str, Any]:
    """The columns of a new pending message (all but max_attempts)."""
    return {
        "kind": kind,
        "dedupe_key": dedupe_key,
        "payload": payload,
        "state": "pending",
        "attempts": 0,
        "available_at": available_at or now,
        "created_at": now,
        "updated_at": now,
    }


def enqueue(
    session: Session,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    *,
    available_at: datetime | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> bool:
    """Adds a message unless one with this dedupe key exists. True if added. Never commits."""
    values = enqueue_values(kind, dedupe_key, payload, now=utcnow(), available_at=available_at)
    stmt = (
        insert_ignore(session, OUTBOX, ["dedupe_key"])
        .values(**values, max_attempts=max_attempts)
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


def release(session: Session, message_id: int, worker: str, *, now: datetime, until: datetime) -> bool:
    """Gives a claimed message back untried, due at `until` (its vendor asked us to wait): the claim
    does not count as an attempt."""
    c = OUTBOX.c
    result = session.execute(
        update(OUTBOX)
        .where(_mine(message_id, worker))
        .values(
            state="pending", attempts=c.attempts - 1, available_at=until, lease_until=None, updated_at=now
        )
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
    budget = budget_for(message.kind)
    if not retryable:
        dead = True
    elif budget is None:
        dead = message.attempts >= message.max_attempts
    else:
        # Both: a moved or skewed clock alone cannot spend the budget in a single attempt.
        dead = message.attempts >= message.max_attempts and now - message.created_at >= budget.window
    values: dict[str, Any] = {"last_error": error[:2000], "lease_until": None, "updated_at": now}
    if dead:
        values["state"] = "dead"
    else:
        values["state"] = "pending"
        cap = budget.cap_s if budget is not None else 3600.0
        wait = delay_seconds(message.attempts, retry_after=retry_after, cap=cap)
        if budget is not None:  # the last attempt falls at the end of the window, not past it
            wait = max(1.0, min(wait, (message.created_at + budget.window - now).total_seconds()))
        values["available_at"] = now + timedelta(seconds=wait)
    changed = session.execute(update(OUTBOX).where(_mine(message.id, worker)).values(**values))
    if dead and changed.rowcount and message.kind in _on_dead:  # type: ignore[attr-defined]
        _on_dead[message.kind](session, message, error)
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
    # A retried message gets its whole budget again.
    message.created_at = now
    session.add(message)
    session.flush()
    if message.kind in _on_retry:
        _on_retry[message.kind](session, message)
    return message
