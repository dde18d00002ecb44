"""Who a reminder goes to and when: the contributing teams whose part is still open, each person in their own
time zone outside quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from app.connections.models import Integration
from app.core.clock import utcnow
from app.issues.models import ExperienceIssue
from app.loop.models import IssueAccountability
from app.sync.models import Contribution
from tests.integration.loop.conftest import POLICY, Smtp, apply_journey, loop_settings, tick
from tests.integration.loop.test_full_life import events, ingest
from tests.support.outbox import drain

OWNER = "ravi.menon@boxwise.example"  # owner of "pay", Asia/Kolkata
IT = "lee.chen@boxwise.example"  # the IT team, America/New_York
BILLING_ONLY = "omar.haddad@boxwise.example"  # logistics: not a team of this issue


def test_open_contributions_and_quiet_hours(engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(engine, smtp)
    apply_journey(engine, accountability={**POLICY, "quiet_hours": {"start": "20:00", "end": "08:00"}})
    t0 = utcnow()
    ingest(engine, t0, 1, "quiet")
    tick(engine, "loop.reminders", t0)
    # The before-due slot falls at 22:00 UTC: 03:30 in Kolkata (quiet), 17:00 in New York (working).
    slot = datetime.combine(t0.date() + timedelta(days=2), time(22, 0), tzinfo=UTC)
    with Session(engine) as session:
        issue_id = session.execute(select(ExperienceIssue.id)).scalar_one()  # type: ignore[call-overload]
        session.execute(update(IssueAccountability).values(due_at=slot + timedelta(hours=12)))
        integration = Integration(
            name="jira",
            vendor="jira",
            base_url="https://jira.example",
            email="bot@example.org",
            api_token_enc="x",
        )
        session.add(integration)
        session.flush()
        assert integration.id is not None
        for team, state in (("it", "in_progress"), ("billing", "done")):
            session.add(
                Contribution(
                    issue_id=issue_id,
                    team=team,
                    integration_id=integration.id,
                    state=state,
                    requested_by="test",
                )
            )
        session.commit()

    at = slot + timedelta(minutes=1)
    tick(engine, "loop.reminders", at)
    drain(engine, settings, now=at)
    box = smtp.mailbox
    assert len(box.to(IT)) == 1 and box.to(OWNER) == [] and box.to(BILLING_ONLY) == []
    # 08:00 in Kolkata is 02:30 UTC: the owner's copy of the same slot goes then, and only once.
    for later in (
        slot + timedelta(hours=4),
        slot + timedelta(hours=4, minutes=31),
        slot + timedelta(hours=5),
    ):
        tick(engine, "loop.reminders", later)
        drain(engine, settings, now=later)
    assert len(box.to(OWNER)) == 1 and len(box.to(IT)) == 1
    sent = [
        (e.after["person"], e.after["role"], e.after["team"]) for e in events(engine, issue_id, "reminder")
    ]
    assert sent == [("lee", "team", "it"), ("ravi", "owner", None)]
    (owner_at,) = [e.at for e in events(engine, issue_id, "reminder") if e.after["person"] == "ravi"]
    assert owner_at == slot + timedelta(hours=4, minutes=31)
