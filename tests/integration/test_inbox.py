"""The inbox stores a delivery once and queues its processing in the same transaction."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlmodel import Session

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
