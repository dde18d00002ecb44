"""One impact, one priority: assessed from the issue's first item (no sweep needed), the same in the API,
the accountability view, the digest and the Jira ticket, and the ticket follows when the priority rises."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.core.clock import utcnow
from app.digests.week import snapshot
from app.journey import service as journeys
from integrations.jira.adapter import DEFAULT_PRIORITIES
from tests.fakes.jira import JiraStandIn
from tests.fakes.zendesk import ZendeskStandIn
from tests.integration.sync.conftest import Sync

TRACKER = {"p1": "urgent", "p2": "high", "p3": "normal", "p4": "low"}


def _views(sync: Sync, issue_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    issue = sync.client.get(f"/api/v1/issues/{issue_id}", headers=sync.h).json()
    acc = sync.client.get(f"/api/v1/issues/{issue_id}/accountability", headers=sync.h).json()
    return issue, acc


def test_the_same_impact_and_priority_everywhere(sync: Sync, jira_fake: JiraStandIn) -> None:
    sync.jira_integration(jira_fake)
    issue_id = sync.issue(3)
    issue, acc = _views(sync, issue_id)
    assert acc["priority"] is not None and acc["due_at"] is not None  # no sweep ran
    assert issue["impact"] > 0 and acc["impact_score"] == issue["impact"]

    sync.contribute(issue_id, "billing")
    sync.drain()
    (ticket,) = jira_fake.issues.values()
    assert ticket.priority == DEFAULT_PRIORITIES[TRACKER[acc["priority"]]]
    assert ticket.duedate == acc["due_at"][:10]
    assert f"impact score {issue['impact']:.0f}" in str(ticket.description)

    with Session(sync.engine) as session:
        line = snapshot(
            session, journeys.current(session), utcnow(), ZoneInfo("UTC"), "http://seam.test"
        ).lines[issue_id]
    assert (line.priority, line.impact) == (acc["priority"], issue["impact"])

    # More customers: the priority rises in the same request, and the ticket follows.
    first = acc["priority"]
    for _ in range(60):
        sync.feedback("My first bill charged me twice for the same box", score=0)
        issue, acc = _views(sync, issue_id)
        if acc["priority"] != first:
            break
    assert acc["priority"] < first and acc["impact_score"] == issue["impact"]
    sync.drain()
    (ticket,) = jira_fake.issues.values()
    assert ticket.priority == DEFAULT_PRIORITIES[TRACKER[acc["priority"]]]
    assert ticket.duedate == acc["due_at"][:10]


def test_zendesk_tickets_carry_the_priority_and_due_date(sync: Sync, zendesk_fake: ZendeskStandIn) -> None:
    sync.zendesk_integration(zendesk_fake)
    issue_id = sync.issue(3)
    _, acc = _views(sync, issue_id)
    sync.contribute(issue_id, "support")
    sync.drain()
    (ticket,) = zendesk_fake.tickets.values()
    assert ticket.priority == TRACKER[acc["priority"]]
    assert ticket.due_at is not None and ticket.due_at.startswith(acc["due_at"][:10])
