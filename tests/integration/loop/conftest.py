"""A real SMTP server on loopback (aiosmtpd) and helpers to drive the loop with a test clock."""

from __future__ import annotations

import email
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine
from sqlmodel import Session

from app import wiring
from app.core.settings import Settings
from app.journey import service as journeys
from app.scheduler.registry import SchedulerConfig
from app.scheduler.runner import run_tick
from tests.support.api import example_journey, settings_for
from tests.support.net import free_port

# Short, test-sized policy: p4 due 4 days after opening; a reminder a day before, at due, then daily.
POLICY: dict[str, Any] = {
    "sla": {"p1": "1d", "p2": "2d", "p3": "3d", "p4": "4d"},
    "verification_window": {"p1": "2d", "p2": "2d", "p3": "2d", "p4": "2d"},
    "reminders": {
        p: {"before_due": ["12h"], "at_due": True, "overdue_every": "1d"} for p in ("p1", "p2", "p3", "p4")
    },
    "escalation": {"after": 2},
    "quiet_hours": None,
    "impact": {"thresholds": {"p1": 1000, "p2": 500, "p3": 200}},
    "verification": {"min_baseline_items": 3, "min_recurrence_items": 2, "max_rate_ratio": 0.5},
}


@dataclass
class Mailbox:
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: SmtpSession, envelope: Envelope) -> str:
        content = envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        msg = email.message_from_bytes(raw, policy=default)
        assert isinstance(msg, EmailMessage)
        self.received.append(msg)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if address in str(m["To"])]

    def keys(self) -> list[str]:
        return [str(m["X-Seam-Key"]) for m in self.received]


@dataclass
class Smtp:
    mailbox: Mailbox
    port: int


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Smtp(mailbox=mailbox, port=port)
    finally:
        controller.stop()


def loop_settings(engine: Engine, smtp: Smtp) -> Settings:
    return settings_for(
        engine,
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls="off",
        mail_from="seam@boxwise.example",
    )


def apply_journey(engine: Engine, **changes: Any) -> None:
    data = example_journey()
    data["accountability"] = POLICY
    data.update(changes)
    with Session(engine) as session:
        journeys.apply(session, data, actor="test")
        session.commit()


def tick(engine: Engine, job: str, now: datetime, holder: str = "test") -> bool:
    settings = settings_for(engine)
    return run_tick(engine, settings, wiring.job(job), SchedulerConfig(), holder=holder, now=now)
