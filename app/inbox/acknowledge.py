"""The acknowledgement's write: a verified delivery and its processing message, in the fewest statements.

The vendor waits for this write, so it is kept to what the dedupe needs. On PostgreSQL it is one
statement (a data-modifying CTE: the inbox INSERT ... ON CONFLICT DO NOTHING feeds the outbox INSERT)
run outside an explicit transaction: one statement is atomic by itself, so the BEGIN and COMMIT round
trips buy nothing. On SQLite two statements run in one IMMEDIATE transaction; they are in-process, so
their count matters far less than the one commit.

A caller that verified the signature against a configuration held in memory passes `still`, the SQL
condition under which that configuration is the stored one (the source is enabled, its secret's
ciphertext unchanged). The inbox INSERT selects its row only where `still` holds, so the check and the
write are one statement and a disabled source or a new secret takes effect at the next delivery
without a read per delivery. When nothing was stored, one more query tells a vendor's retry
(`duplicate`) from a configuration that changed (`stale`: the caller loads it again).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Insert, String, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from app.core.clock import utcnow
from app.core.sql import insert_ignore_for
from app.inbox.service import INBOX, delivery_row, kept_headers
from app.outbox.service import DEFAULT_MAX_ATTEMPTS, OUTBOX, enqueue_values

Outcome = Literal["stored", "duplicate", "stale"]

_OUTBOX_COLUMNS = [
    *("kind", "dedupe_key", "payload", "state", "attempts", "max_attempts"),
    *("available_at", "created_at", "updated_at"),
]
_SQLITE_INBOX = insert_ignore_for("sqlite", INBOX, ("channel", "delivery_id")).returning(INBOX.c.id)
_SQLITE_OUTBOX = insert_ignore_for("sqlite", OUTBOX, ("dedupe_key",))
_KEY = ["channel", "delivery_id"]


def _inbox_insert(dialect: str, row: dict[str, Any], still: ColumnElement[bool] | None) -> Insert:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    if still is None:
        stmt = module.insert(INBOX).values(**row)
    else:
        names = list(row)
        values = select(*(literal(row[n], INBOX.c[n].type) for n in names)).where(still)
        stmt = module.insert(INBOX).from_select(names, values)
    return stmt.on_conflict_do_nothing(index_elements=_KEY).returning(INBOX.c.id)


def _postgres(
    conn: Connection, row: dict[str, Any], process_kind: str, now: datetime, still: ColumnElement[bool] | None
) -> bool:
    stored = _inbox_insert("postgresql", row, still).cte("stored")
    queued = (
        postgresql.insert(OUTBOX)
        .from_select(
            _OUTBOX_COLUMNS,
            select(
                literal(process_kind, String),
                literal("inbox:", String) + cast(stored.c.id, String),
                func.jsonb_build_object("delivery_id", stored.c.id),
                literal("pending", String),
                literal(0),
                literal(DEFAULT_MAX_ATTEMPTS),
                literal(now, OUTBOX.c.available_at.type),
                literal(now, OUTBOX.c.created_at.type),
                literal(now, OUTBOX.c.updated_at.type),
            ),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OUTBOX.c.id)
    )
    return conn.execute(queued).first() is not None


def _sqlite(
    conn: Connection, row: dict[str, Any], process_kind: str, now: datetime, still: ColumnElement[bool] | None
) -> bool:
    stmt = _SQLITE_INBOX.values(**row) if still is None else _inbox_insert("sqlite", row, still)
    new_id = conn.execute(stmt).scalar_one_or_none()
    if new_id is None:
        return False
    values = enqueue_values(process_kind, f"inbox:{new_id}", {"delivery_id": new_id}, now=now)
    conn.execute(_SQLITE_OUTBOX.values(**values, max_attempts=DEFAULT_MAX_ATTEMPTS))
    return True


def store_delivery(
    engine: Engine,
    channel: str,
    delivery_id: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    keep_headers: tuple[str, ...] = (),
    process_kind: str,
    still: ColumnElement[bool] | None = None,
) -> Outcome:
    """Stores a verified delivery and queues its processing, atomically: `stored`; `duplicate` if it
    was stored before (a vendor's retry: nothing is queued); `stale` if `still` no longer holds."""
    now = utcnow()
    row = delivery_row(channel, delivery_id, body, kept_headers(headers, keep_headers), now)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if _postgres(conn, row, process_kind, now, still):
                return "stored"
            return "duplicate" if still is None or conn.execute(select(still)).scalar() else "stale"
    with engine.begin() as conn:
        if _sqlite(conn, row, process_kind, now, still):
            return "stored"
        return "duplicate" if still is None or conn.execute(select(still)).scalar() else "stale"
