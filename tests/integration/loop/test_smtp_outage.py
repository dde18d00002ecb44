"""Outbound work survives outages: 40 emails queued just before the SMTP relay goes away for six hours
(the clock moved by the test) are all delivered, each exactly once, once it is back; none goes dead."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select
from sqlmodel import Session

from app import wiring
from app.core.clock import utcnow
from app.notify import messages
from app.outbox.models import OutboxMessage
from tests.integration.loop.conftest import Mailbox, Smtp, loop_settings
from tests.support.net import free_port
from tests.support.outbox import run_round

N = 40


def test_a_six_hour_smtp_outage_loses_no_email(engine: Engine) -> None:
    port = free_port()
    mailbox = Mailbox()
    settings = loop_settings(engine, Smtp(mailbox=mailbox, port=port))
    wiring.start_process(settings, engine)
    t0 = utcnow()
    with Session(engine) as session:
        for n in range(N):
            rendered = messages.Rendered(subject=f"note {n}", html=f"<p>{n}</p>", text=f"{n}\n")
            messages.queue(
                session, f"outage:{n}", to_email=f"p{n}@example.org", to_name="", rendered=rendered
            )
        session.commit()

    # Nothing listens on the relay's port for six hours; the worker keeps trying, every minute.
    now = t0
    while now < t0 + timedelta(hours=6):
        while run_round(engine, settings, now=now, limit=50):
            pass
        now += timedelta(minutes=1)
    with Session(engine) as session:
        rows = list(session.execute(select(OutboxMessage)).scalars())
    assert len(rows) == N and all(r.state == "pending" for r in rows), Counter(r.state for r in rows)
    assert min(r.attempts for r in rows) >= 8  # the old attempt budget would have parked them all
    assert all(r.available_at <= now + timedelta(hours=1) for r in rows)  # backoff is capped

    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        later = now + timedelta(hours=1, minutes=1)  # past every capped wait
        for _ in range(10):
            run_round(engine, settings, now=later, limit=50)
    finally:
        controller.stop()
    assert sorted(Counter(mailbox.keys()).values()) == [1] * N
    with Session(engine) as session:
        states = Counter(r.state for r in session.execute(select(OutboxMessage)).scalars())
    assert states == {"done": N}
