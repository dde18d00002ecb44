"""A contribution becomes exactly one ticket in the team's tool, with the right content."""

from __future__ import annotations

from typing import Any

from integrations.base import key_label
from tests.fakes.jira import JiraStandIn
from tests.fakes.zendesk import ZendeskStandIn
from tests.integration.sync.conftest import Sync


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "text" else []
        return own + [t for child in node.get("content") or [] for t in _texts(child)]
    return []


def test_jira_contribution_creates_one_issue_with_adf(sync: Sync, jira_fake: JiraStandIn) -> None:
    integration = sync.jira_integration(jira_fake)
    issue_id = sync.issue()
    created = sync.contribute(issue_id, "billing")
    assert created["state"] == "requested" and created["ticket_id"] is None
    assert created["vendor"] == "jira" and created["integration_id"] == integration["id"]
    assert sync.status(issue_id) == "open"  # requested is not started

    sync.drain()

    (issue,) = jira_fake.issues.values()
    assert issue.project == "CX" and issue.issuetype == "Task"
    assert issue.summary.startswith(f"[EI-{issue_id}] ")
    assert f"seam-ei-{issue_id}" in issue.labels and key_label(f"sync-create:{created['id']}") in issue.labels
    assert {"seam", "stage-pay", "team-billing"} <= set(issue.labels)
    assert issue.properties == {"seam": {"issue_id": f"EI-{issue_id}"}}
    doc = issue.description
    assert doc is not None and doc["type"] == "doc" and doc["version"] == 1
    texts = _texts(doc)
    assert "Pay" in texts and "First bill" in texts  # stage and moment by name
    assert any("3 feedback items from 3 customers" in t for t in texts)
    assert "Invoice shows a delivery fee I was never told about" in texts
    link = doc["content"][-1]["content"][0]
    # "Open in Seam" lands on the issue's page, not on the JSON API.
    href = link["marks"][0]["attrs"]["href"]
    assert href.endswith(f"/issues/{issue_id}") and "/api/" not in href

    (after,) = sync.contributions(issue_id)
    assert after["state"] == "open" and after["ticket_id"] == issue.id and after["ticket_key"] == "CX-1"
    assert after["ticket_url"].endswith("/browse/CX-1")
    assert [m.state for m in sync.messages()] == ["done"]

    # Asking again is the same contribution: no second message, no second ticket.
    again = sync.contribute(issue_id, "billing")
    assert again["id"] == created["id"]
    sync.drain()
    assert len(jira_fake.issues) == 1 and len(sync.messages()) == 1
    kinds = [
        e["kind"]
        for e in sync.client.get(f"/api/v1/issues/{issue_id}/events", headers=sync.h).json()["items"]
        if e["kind"] != "priority_raised"  # the issue's evidence is weighed as items arrive
    ]
    assert kinds == ["created", "contribution_requested", "ticket_created"]


def test_zendesk_contribution_creates_one_ticket(sync: Sync, zendesk_fake: ZendeskStandIn) -> None:
    sync.zendesk_integration(zendesk_fake)
    issue_id = sync.issue()
    sync.contribute(issue_id, "support")  # group 360001 from the journey
    sync.drain()
    (ticket,) = zendesk_fake.tickets.values()
    assert ticket.external_id == f"seam-ei-{issue_id}" and ticket.group_id == 360001
    assert ticket.type == "task" and "seam" in ticket.tags
    body = ticket.comments[0]["html_body"]
    assert "<strong>Stage:</strong> Pay" in body and "First bill" in body and "<li>" in body
    assert ticket.comments[0]["public"] is False
    (row,) = sync.contribution_rows()
    assert row.ticket_id == str(ticket.id) and row.state == "open"
    assert (
        zendesk_fake.calls("POST", "^/api/v2/tickets$")[0].headers["idempotency-key"]
        == f"sync-create:{row.id}"
    )


def test_two_teams_two_vendors_two_tickets(
    sync: Sync, jira_fake: JiraStandIn, zendesk_fake: ZendeskStandIn
) -> None:
    sync.jira_integration(jira_fake)
    sync.zendesk_integration(zendesk_fake)
    issue_id = sync.issue()
    for team in ("billing", "it", "support"):
        sync.contribute(issue_id, team)
    sync.drain()
    assert sorted(i.project for i in jira_fake.issues.values()) == ["CX", "OPS"]
    assert len(zendesk_fake.tickets) == 1
    rows = sync.contributions(issue_id)
    assert {r["team"]: r["vendor"] for r in rows} == {"billing": "jira", "it": "jira", "support": "zendesk"}
    assert all(r["state"] == "open" and r["ticket_id"] for r in rows)


def test_refusals(sync: Sync, jira_fake: JiraStandIn) -> None:
    sync.jira_integration(jira_fake)
    issue_id = sync.issue()
    url = f"/api/v1/issues/{issue_id}/contributions"
    no_target = sync.client.post(url, json={"team": "retention"}, headers=sync.h)  # Zendesk team, no Zendesk
    assert no_target.status_code == 422 and no_target.json()["errors"][0]["field"] == "team"
    unknown = sync.client.post(url, json={"team": "nobody"}, headers=sync.h)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "team"
    missing = sync.client.post("/api/v1/issues/999/contributions", json={"team": "billing"}, headers=sync.h)
    assert missing.status_code == 404
    sync.move(issue_id, "declined", "by design")
    closed = sync.client.post(url, json={"team": "billing"}, headers=sync.h)
    assert closed.status_code == 409
    assert sync.contribution_rows() == [] and sync.messages() == []
