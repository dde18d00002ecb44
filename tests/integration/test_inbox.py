"""The inbox stores a delivery once and queues its processing in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, exists, func, select, update
from sqlmodel import Session

from app.inbox import acknowledge
from app.inbox import service as inbox
from app.inbox.models import InboundDelivery
from app.outbox.models import OutboxMessage


def _count(session: Session, model: type) -> int:
    return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_a_retried_delivery_is_stored_and_queued_once(engine: Engine) -> None:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer secret", "X-Sig": "abc"}
    with Session(engine) as s:
        first = inbox.store(
            s, "source:1", "evt-1", b'{"a":1}', headers=headers, keep_headers=("x-sig",), process_kind="p"
        )
        again = inbox.store(s, "source:1", "evt-1", b'{"a":1}', headers=headers, process_kind="p")
        other = inbox.store(s, "source:2", "evt-1", b"{}", headers=headers, process_kind="p")
        s.commit()
        assert first[1] and not again[1] and other[1] and first[0] == again[0] != other[0]
        assert _count(s, InboundDelivery) == 2 and _count(s, OutboxMessage) == 2
        row = s.get(InboundDelivery, first[0])
        assert row is not None and row.body == b'{"a":1}'
        assert row.headers == {"content-type": "application/json", "x-sig": "abc"}  # no Authorization kept


def test_quarantine_then_replay_queues_again(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as s:
        delivery_id, _ = inbox.store(s, "source:1", "evt-9", b"{}", process_kind="p")
        inbox.mark(s, delivery_id, "quarantined", error="score: missing")
        s.commit()
        row = s.get(InboundDelivery, delivery_id)
        assert row is not None and row.state == "quarantined" and row.error == "score: missing"
        inbox.requeue(s, row, "p")
        s.commit()
        s.refresh(row)
        assert row.state == "pending" and _count(s, OutboxMessage) == 2


def test_an_acknowledgement_stores_once_and_queues_once(engine: Engine) -> None:
    headers = {"Content-Type": "application/json", "Authorization": "Bearer secret", "X-Sig": "abc"}

    def ack(channel: str, delivery_id: str) -> acknowledge.Outcome:
        return acknowledge.store_delivery(
            engine,
            channel,
            delivery_id,
            b'{"a":1}',
            headers=headers,
            keep_headers=("x-sig",),
            process_kind="p",
        )

    assert [ack("source:1", "evt-1"), ack("source:1", "evt-1"), ack("source:2", "evt-1")] == [
        "stored",
        "duplicate",
        "stored",
    ]
    with Session(engine) as s:
        rows = list(s.execute(select(InboundDelivery).order_by(InboundDelivery.id)).scalars())  # type: ignore[arg-type]
        messages = list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())  # type: ignore[arg-type]
    assert [(r.channel, r.delivery_id, r.state) for r in rows] == [
        ("source:1", "evt-1", "pending"),
        ("source:2", "evt-1", "pending"),
    ]
    assert rows[0].headers == {"content-type": "application/json", "x-sig": "abc"}  # no Authorization kept
    assert rows[0].body == b'{"a":1}' and rows[0].content_type == "application/json"
    # The same message the session path queues: processing finds the delivery by its id.
    assert [(m.kind, m.dedupe_key, m.payload, m.state, m.attempts) for m in messages] == [
        ("p", f"inbox:{r.id}", {"delivery_id": r.id}, "pending", 0) for r in rows
    ]
    assert all(m.max_attempts == 8 and m.available_at == m.created_at for m in messages)


def test_an_acknowledgement_on_postgresql_is_one_statement(pg_engine: Engine) -> None:
    # SQLite runs two in-process statements in one transaction; this is PostgreSQL's path only.
    engine = pg_engine
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        acknowledge.store_delivery(engine, "source:1", "evt-1", b"{}", headers={}, process_kind="p")
        acknowledge.store_delivery(engine, "source:1", "evt-1", b"{}", headers={}, process_kind="p")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(statements) == 2, statements  # one per delivery, the retry included


def test_an_acknowledgement_under_a_condition_stores_only_while_it_holds(engine: Engine) -> None:
    """The condition is checked in the insert itself: once it fails, nothing is stored or queued, and
    the answer is `stale` (a duplicate stays a duplicate while it holds)."""
    with Session(engine) as s:
        inbox.store(s, "marker", "on", b"{}", process_kind="p")
        s.commit()
    marker = InboundDelivery.__table__.c  # type: ignore[attr-defined]
    holds = exists().where(marker.channel == "marker", marker.delivery_id == "on")

    def ack(delivery_id: str) -> acknowledge.Outcome:
        return acknowledge.store_delivery(
            engine,
            "source:1",
            delivery_id,
            b"{}",
            headers={},
            process_kind="p",
            still=acknowledge.Still(holds),
        )

    assert [ack("evt-1"), ack("evt-1")] == ["stored", "duplicate"]
    with Session(engine) as s:
        s.execute(
            update(InboundDelivery.__table__).values(delivery_id="off").where(marker.channel == "marker")
        )
        s.commit()
    assert [ack("evt-2"), ack("evt-1")] == ["stale", "stale"]
    with Session(engine) as s:
        stored = sorted(s.execute(select(marker.delivery_id).where(marker.channel == "source:1")).scalars())
        assert stored == ["evt-1"] and _count(s, OutboxMessage) == 2  # the marker's and evt-1's
