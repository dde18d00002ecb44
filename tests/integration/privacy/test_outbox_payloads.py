"""Settled outbound messages lose their payloads after SEAM_OUTBOX_KEEP_DAYS; their rows and dedupe
keys stay (a producer running again sends nothing twice), and waiting or dead ones are kept whole."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from app.core.clock import utcnow
from app.outbox import service as outbox
from app.outbox.models import OutboxMessage
from app.scheduler.registry import JobRun, SchedulerConfig
from app.wiring import job
from tests.support.api import settings_for

PAYLOAD = {"to": "ada@example.org", "subject": "Your double charge is fixed", "text": "Hello Ada"}


def _seed(engine: Engine) -> None:
    now = utcnow()
    rows = [
        ("old-done", "done", 31),
        ("old-cancelled", "cancelled", 40),
        ("old-dead", "dead", 90),
        ("old-pending", "pending", 90),
        ("recent-done", "done", 29),
    ]
    with Session(engine) as session:
        for key, state, days in rows:
            at = now - timedelta(days=days)
            session.add(
                OutboxMessage(
                    kind="email",
                    dedupe_key=key,
                    payload=dict(PAYLOAD),
                    state=state,
                    last_error="550 mailbox full" if state == "dead" else None,
                    created_at=at,
                    updated_at=at,
                    done_at=at if state == "done" else None,
                )
            )
        session.commit()


def _run(engine: Engine, **settings: object) -> None:
    run = JobRun(
        engine=engine, settings=settings_for(engine, **settings), config=SchedulerConfig(), now=utcnow()
    )
    job("privacy.outbox_payloads").fn(run)


def _payloads(engine: Engine) -> dict[str, dict[str, object]]:
    with Session(engine) as session:
        return {m.dedupe_key: m.payload for m in session.execute(select(OutboxMessage)).scalars()}


def test_settled_messages_past_the_keep_lose_their_payload_and_keep_their_key(engine: Engine) -> None:
    _seed(engine)

    _run(engine)

    payloads = _payloads(engine)
    assert payloads == {
        "old-done": {},
        "old-cancelled": {},
        "old-dead": PAYLOAD,
        "old-pending": PAYLOAD,
        "recent-done": PAYLOAD,
    }
    with Session(engine) as session:
        # The emptied message still answers for its key: enqueueing it again queues nothing.
        assert outbox.enqueue(session, "email", "old-done", PAYLOAD) is False
        session.commit()
    assert _payloads(engine)["old-done"] == {}


def test_a_shorter_keep_reaches_further_and_a_second_run_changes_nothing(engine: Engine) -> None:
    _seed(engine)
    _run(engine, outbox_keep_days=7)
    first = _payloads(engine)
    assert first["recent-done"] == {} and first["old-dead"] == PAYLOAD
    _run(engine, outbox_keep_days=7)
    assert _payloads(engine) == first
