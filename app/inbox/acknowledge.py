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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, Insert, String, bindparam, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import ColumnElement

from app.core.clock import utcnow
from app.core.sql import Prepared, prepare
from app.inbox.service import INBOX, delivery_row, kept_headers
from app.outbox.service import DEFAULT_MAX_ATTEMPTS, OUTBOX, enqueue_values

Outcome = Literal["stored", "duplicate", "stale"]


@dataclass(frozen=True)
class Still:
    """A condition the store checks in its own statement: `clause` is built once, with bind parameters
    for what varies (their names must not be an inbox or outbox column's), and `params` are their values.
    Statements are compiled once per clause, so a caller keeps one clause for all its deliveries."""

    clause: ColumnElement[bool]
    params: Mapping[str, Any] = field(default_factory=dict)


_ROW = ("channel", "delivery_id", "received_at", "content_type", "headers", "body", "state", "attempts")
_MESSAGE = ("kind", "dedupe_key", "payload", "state", "attempts", "available_at", "created_at", "updated_at")
_KEY = ["channel", "delivery_id"]


def _inbox_insert(dialect: str, still: ColumnElement[bool] | None) -> Insert:
    module: Any = postgresql if dialect == "postgresql" else sqlite
    values = {n: bindparam(n, type_=INBOX.c[n].type) for n in _ROW}
    if still is None:
        stmt = module.insert(INBOX).values(values)
    else:
        stmt = module.insert(INBOX).from_select(list(_ROW), select(*values.values()).where(still))
    return stmt.on_conflict_do_nothing(index_elements=_KEY).returning(INBOX.c.id)


def _postgres_statement(still: ColumnElement[bool] | None) -> Any:
    """The inbox INSERT feeding the outbox INSERT, as one statement."""
    stored = _inbox_insert("postgresql", still).cte("stored")
    now = bindparam("now", type_=OUTBOX.c.created_at.type)
    return (
        postgresql.insert(OUTBOX)
        .from_select(
            [*_MESSAGE, "max_attempts"],
            select(
                bindparam("process_kind", type_=String),
                literal("inbox:", String) + cast(stored.c.id, String),
                func.jsonb_build_object("delivery_id", stored.c.id),
                literal("pending", String),
                literal(0),
                now,
                now,
                now,
                literal(DEFAULT_MAX_ATTEMPTS),
            ),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OUTBOX.c.id)
    )


def _sqlite_outbox() -> Insert:
    values = {n: bindparam(n, type_=OUTBOX.c[n].type) for n in _MESSAGE}
    return (
        sqlite.insert(OUTBOX)
        .values({**values, "max_attempts": literal(DEFAULT_MAX_ATTEMPTS)})
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )


# Compiled statements by (dialect, which, the condition's identity); the clause is kept with them so
# its id is not reused. Callers keep a handful of clauses, so this stays small.
_compiled: dict[tuple[str, str, int], tuple[object, Prepared]] = {}


def _statement(conn: Connection, which: str, still: ColumnElement[bool] | None) -> Prepared:
    dialect = conn.dialect
    key = (dialect.name, which, id(still))
    found = _compiled.get(key)
    if found is None:
        if which == "postgres":
            stmt = _postgres_statement(still)
        elif which == "sqlite-inbox":
            stmt = _inbox_insert("sqlite", still)
        else:
            stmt = _sqlite_outbox()
        if len(_compiled) > 256:
            _compiled.clear()
        found = _compiled[key] = (still, prepare(stmt, dialect))
    return found[1]


def _postgres(
    conn: Connection, row: dict[str, Any], process_kind: str, now: datetime, still: Still | None
) -> bool:
    stmt = _statement(conn, "postgres", still.clause if still else None)
    params = {**row, **(still.params if still else {}), "process_kind": process_kind, "now": now}
    return stmt.run(conn, params).first() is not None


def _sqlite(
    conn: Connection, row: dict[str, Any], process_kind: str, now: datetime, still: Still | None
) -> bool:
    inbox = _statement(conn, "sqlite-inbox", still.clause if still else None)
    new_id = inbox.run(conn, {**row, **(still.params if still else {})}).scalar_one_or_none()
    if new_id is None:
        return False
    values = enqueue_values(process_kind, f"inbox:{new_id}", {"delivery_id": new_id}, now=now)
    _statement(conn, "sqlite-outbox", None).run(conn, values)
    return True


def _holds(conn: Connection, still: Still | None) -> bool:
    return still is None or bool(conn.execute(select(still.clause), dict(still.params)).scalar())


def store_delivery(
    engine: Engine,
    channel: str,
    delivery_id: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    keep_headers: tuple[str, ...] = (),
    process_kind: str,
    still: Still | None = None,
) -> Outcome:
    """Stores a verified delivery and queues its processing, atomically: `stored`; `duplicate` if it
    was stored before (a vendor's retry: nothing is queued); `stale` if `still` no longer holds."""
    now = utcnow()
    row = delivery_row(channel, delivery_id, body, kept_headers(headers, keep_headers), now)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if _postgres(conn, row, process_kind, now, still):
                return "stored"
            return "duplicate" if _holds(conn, still) else "stale"
    with engine.begin() as conn:
        if _sqlite(conn, row, process_kind, now, still):
            return "stored"
        return "duplicate" if _holds(conn, still) else "stale"
