"""A customer who wrote from a Zendesk ticket hears about the confirmed fix on that ticket, as a public
comment carrying the one-click answer; the others by email."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.feedback.schemas import FeedbackIn
from app.insights.root_causes import RootCauseIn
from app.intake import ingest as feedback
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop import fixes
from app.loop import service as loop
from tests.fakes.fixtures import zendesk_fake  # noqa: F401
from tests.fakes.zendesk import ZendeskStandIn
from tests.integration.loop.conftest import Smtp, apply_journey, loop_settings
from tests.support.api import auth
from tests.support.outbox import drain


def test_zendesk_customers_get_a_public_comment(
    client: TestClient,
    admin_key: str,
    engine: Engine,
    smtp: Smtp,
    zendesk_fake: ZendeskStandIn,  # noqa: F811
) -> None:
    settings = loop_settings(engine, smtp)
    apply_journey(engine)
    body = {
        "name": "zendesk",
        "vendor": "zendesk",
        "base_url": zendesk_fake.base_url,
        "email": zendesk_fake.email,
        "api_token": zendesk_fake.api_token,
        "options": {"timeout_seconds": 1.0},
    }
    assert client.post("/api/v1/integrations", json=body, headers=auth(admin_key)).status_code == 201
    ticket = zendesk_fake.add_ticket("I was charged twice")
    t0 = utcnow()
    items = [
        FeedbackIn(
            source="zendesk",
            external_id=f"ticket:{ticket.id}",
            text="Charged twice on my first bill",
            touchpoint="invoice-email",
            customer_ref="zd-requester-77",
        ),
        FeedbackIn(
            source="survey",
            external_id="s-1",
            text="Charged twice",
            touchpoint="invoice-email",
            customer_ref="c-9",
            metadata={"email": "nina@example.org"},
        ),
    ]
    with Session(engine) as session:
        feedback.ingest(session, journeys.current(session), list(enumerate(items)), Actor("t"), now=t0)
        issue_id = session.execute(select(ExperienceIssue.id)).scalar_one()  # type: ignore[call-overload]
        for to in ("fixing", "fix_shipped"):
            loop.move(session, issue_id, to, None, Actor("ravi"), t0)
        session.commit()
    with Session(engine) as session:
        fixes.confirm(
            session,
            journeys.current(session),
            issue_id,
            "verified on the billing run",
            Actor("ravi"),
            t0,
            settings,
            RootCauseIn(cause="system", sub_cause="payments"),
        )
        session.commit()
    drain(engine, settings, now=t0 + timedelta(minutes=1))

    public = [c for c in zendesk_fake.tickets[ticket.id].comments if c.get("public")]
    assert len(public) == 1
    assert "/feedback/fixed/" in public[0]["body"] and "answer=yes" in public[0]["body"]
    assert [str(m["To"]) for m in smtp.mailbox.received] == ["nina@example.org"]
