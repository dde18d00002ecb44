"""A ticket job that outlives its retry budget (a day of 503s, the clock jumping over each wait) marks its
contribution `failed` with the reason; retrying the dead message brings it back to `requested`, and the
ticket is then made once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from app.outbox.models import OutboxMessage
from tests.fakes.jira import JiraStandIn
from tests.fakes.server import Fault
from tests.integration.sync.conftest import Sync


def test_a_dead_ticket_job_marks_its_contribution_failed_until_retried(
    sync: Sync, jira_fake: JiraStandIn
) -> None:
    sync.jira_integration(jira_fake)
    issue_id = sync.issue()
    sync.drain()
    contribution = sync.contribute(issue_id, "billing")
    jira_fake.fail(Fault("status", 503), method="POST", path=r"^/rest/api/3/issue$", times=10_000)
    sync.drain(max_rounds=400)  # the clock jumps over every wait: a day of retries
    (message,) = [m for m in sync.messages() if m.kind == "sync.create_ticket"]
    assert message.state == "dead" and message.attempts >= 24
    assert message.updated_at - message.created_at >= timedelta(hours=24)
    (row,) = sync.contributions(issue_id)
    assert row["state"] == "failed" and "503" in (row["failure_reason"] or "")
    kinds = [
        e["kind"]
        for e in sync.client.get(f"/api/v1/issues/{issue_id}/events", headers=sync.h).json()["items"]
    ]
    assert "ticket_failed" in kinds

    jira_fake.clear_faults()
    retried = sync.client.post(f"/api/v1/outbox/{message.id}/retry", headers=sync.h)
    assert retried.status_code == 200, retried.text
    (row,) = sync.contributions(issue_id)
    assert row["state"] == "requested" and row["failure_reason"] is None
    sync.drain()
    (row,) = sync.contributions(issue_id)
    assert row["state"] == "open" and row["ticket_key"] and row["id"] == contribution["id"]
    assert len(jira_fake.issues) == 1
    with Session(sync.engine) as session:
        dead = (
            session.execute(select(OutboxMessage).where(col(OutboxMessage.state) == "dead")).scalars().all()
        )
    assert dead == []
