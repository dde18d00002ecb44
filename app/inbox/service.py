"""The inbox: store a verified delivery once, process it after the response, quarantine what can't be read."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.sql import insert_ignore
from app.inbox.models import InboundDelivery
from app.outbox import service as outbox

INBOX = InboundDelivery.__table__  # type: ignore[attr-defined]
# Headers worth keeping for processing and audit; everything else (auth, cookies) is dropped.
KEPT_HEADERS = ("content-type", "user-agent", "x-request-id")


def kept_headers(headers: Mapping[str, str], keep_headers: tuple[str, ...]) -> dict[str, str]:
    """Only the headers processing needs; never Authorization or signature secrets."""
    wanted = {h.lower() for h in (*KEPT_HEADERS, *keep_headers)}
    return {k.lower(): v for k, v in headers.items() if k.lower() in wanted}


def delivery_row(
    channel: str, delivery_id: str, body: bytes, kept: dict[str, str], now: datetime
) -> dict[str, Any]:
    """The inbox columns of a newly received delivery."""
    return {
        "channel": channel,
        "delivery_id": delivery_id,
        "received_at": now,
        "content_type": kept.get("content-type"),
        "headers": kept,
        "body": body,
        "state": "pending",
        "attempts": 0,
    }


def store(
    session: Session,
    channel: str,
    delivery_id: str,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    keep_headers: tuple[str, ...] = (),
    process_kind: str,
) -> tuple[int, bool]:
    """Stores a delivery and queues its processing, in one transaction. Returns (id, newly stored).

    A duplicate delivery (the vendor's retry) stores nothing and queues nothing.
    """
    row = delivery_row(channel, delivery_id, body, kept_headers(headers or {}, keep_headers), utcnow())
    stmt = insert_ignore(session, INBOX, ["channel", "delivery_id"]).values(**row).returning(INBOX.c.id)
    new_id = session.execute(stmt).scalar_one_or_none()
    if new_id is None:
        existing = session.execute(
            select(INBOX.c.id).where(INBOX.c.channel == channel, INBOX.c.delivery_id == delivery_id)
        ).scalar_one()
        return int(existing), False
    outbox.enqueue(session, process_kind, f"inbox:{new_id}", {"delivery_id": new_id})
    return int(new_id), True


def mark(
    session: Session, delivery_id: int, state: str, *, error: str | None = None, now: datetime | None = None
) -> None:
    session.execute(
        update(INBOX)
        .where(INBOX.c.id == delivery_id)
        .values(state=state, error=error, processed_at=now or utcnow(), attempts=INBOX.c.attempts + 1)
    )


def requeue(session: Session, delivery: InboundDelivery, process_kind: str) -> None:
    """Replays a quarantined delivery: back to pending, with a fresh processing message."""
    assert delivery.id is not None
    session.execute(update(INBOX).where(INBOX.c.id == delivery.id).values(state="pending", error=None))
    outbox.enqueue(
        session, process_kind, f"inbox:{delivery.id}:replay:{delivery.attempts}", {"delivery_id": delivery.id}
    )
