"""Read side of feedback items: one item, filtered listings, stored items by their sender's key."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, select, tuple_
from sqlmodel import Session

from app.core import pagination
from app.core.errors import NotFound
from app.core.sql import is_in
from app.feedback.models import FeedbackItem

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
_LOOKUP_CHUNK = 1000


def get(session: Session, item_id: int) -> FeedbackItem:
    item = session.get(FeedbackItem, item_id)
    if item is None:
        raise NotFound(f"No feedback item {item_id}.")
    return item


@dataclass(frozen=True)
class Stored:
    id: int
    issue_id: int | None
    state: str
    ingest_batch: str | None


def lookup(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Stored]:
    """Stored items by (source, external_id): one query per source, ids passed as one array on PostgreSQL."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, external_id in keys:
        by_source[source].append(external_id)
    c = ITEMS.c
    cols = (c.id, c.source, c.external_id, c.issue_id, c.state, c.ingest_batch)
    found: dict[tuple[str, str], Stored] = {}
    for source, ids in by_source.items():
        for i in range(0, len(ids), _LOOKUP_CHUNK):
            match = is_in(session, c.external_id, ids[i : i + _LOOKUP_CHUNK], String)
            for row in session.execute(select(*cols).where(c.source == source, match)):
                key = (row.source, row.external_id)
                found[key] = Stored(row.id, row.issue_id, row.state, row.ingest_batch)
    return found


# Each sort: the column it orders by, newest first, then id. `newest` is the order items were stored.
SORTS: dict[str, str] = {"newest": "id", "occurred": "occurred_at"}


def list_items(
    session: Session,
    *,
    stage: str | None = None,
    issue_id: int | None = None,
    source: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sort: str = "newest",
    after: tuple[datetime | None, int] | None = None,
    limit: int = 50,
) -> list[FeedbackItem]:
    """Up to `limit` items after the cursor's (sort value, id), keyset: a page walks one index range
    (each filter's index ends in the sort's columns, migrations 0022 and 0026), so page 1,000 costs what
    page 1 does, and items stored meanwhile never shift a page (newer ids sort before every cursor)."""
    c = ITEMS.c
    stmt = select(FeedbackItem)
    equal = {"stage": stage, "issue_id": issue_id, "source": source, "state": state}
    for name, value in equal.items():
        if value is not None:
            stmt = stmt.where(c[name] == value)
    if since is not None:
        stmt = stmt.where(c.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(c.occurred_at < until)
    if sort == "occurred":
        if after is not None:
            stmt = stmt.where(tuple_(c.occurred_at, c.id) < (after[0], after[1]))
        stmt = stmt.order_by(c.occurred_at.desc(), c.id.desc())
    else:
        if after is not None:
            stmt = stmt.where(c.id < after[1])
        stmt = stmt.order_by(c.id.desc())
    return list(session.execute(stmt.limit(limit)).scalars())


def decode_cursor(cursor: str | None, sort: str) -> tuple[datetime | None, int] | None:
    """The (sort value, id) a `cursor_after` cursor names; 422 for one of another sort or listing."""
    if sort == "occurred":
        found = pagination.decode_key(cursor, sort, str)
        if found is None:
            return None
        value, row_id = found
        if value is None:
            raise pagination.unknown_cursor()
        return datetime.fromisoformat(str(value)), row_id
    last = pagination.decode(cursor)
    return None if last is None else (None, last)


def cursor_after(item: FeedbackItem, sort: str) -> str:
    if sort == "occurred":
        return pagination.encode_key(sort, item.occurred_at.isoformat(), item.id or 0)
    return pagination.encode(item.id or 0)


def to_out(item: FeedbackItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "source": item.source,
        "external_id": item.external_id,
        "text": item.text,
        "score": item.score,
        "scale": item.scale,
        "touchpoint": item.touchpoint,
        "customer_ref": item.customer_ref,
        "persona": item.persona,
        "occurred_at": item.occurred_at,
        "received_at": item.received_at,
        "metadata": item.extra,
        "state": item.state,
        "stage": item.stage,
        "moment": item.moment,
        "issue_id": item.issue_id,
        "placement": item.placement,
        "redacted": item.redacted,
    }
