"""Back the other way: Seam's reopen and confirm reach the tickets, and nothing is echoed."""

from __future__ import annotations

from typing import Any

from tests.fakes.jira import JiraStandIn
from tests.fakes.jira_model import Issue
from tests.fakes.zendesk import ZendeskStandIn
from tests.integration.sync.conftest import JIRA_SECRET, Sync


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "text" else []
        return own + [t for child in node.get("content") or [] for t in _texts(child)]
    return []


def _comment_text(issue: Issue) -> list[str]:
    return ["\n".join(_texts(c["body"])) for c in issue.comments]


def _shipped(
    sync: Sync, fake: JiraStandIn, live_url: str, *, it_required: bool = True
) -> tuple[int, Issue, Issue]:
    integration = sync.jira_integration(fake)
    fake.subscribe(f"{live_url}/webhooks/jira/{integration['id']}", JIRA_SECRET)
    issue_id = sync.issue()
    sync.contribute(issue_id, "billing")
    sync.contribute(issue_id, "it", required=it_required)
    sync.drain()
    by_project = {i.project: i for i in fake.issues.values()}
    cx, ops = by_project["CX"], by_project["OPS"]
    fake.set_status(cx.id, "Shipped", "Done")
    if it_required:
        fake.set_status(ops.id, "Shipped", "Done")
    sync.drain()
    assert sync.status(issue_id) == "fix_shipped"
    return issue_id, cx, ops


def test_reopen_moves_jira_back_and_comments_the_evidence(
    sync: Sync, jira_fake: JiraStandIn, live_url: str
) -> None:
    issue_id, cx, ops = _shipped(sync, jira_fake, live_url)
    assert sync.feedback("Wrong amount AGAIN on this week's bill") == issue_id  # the evidence
    sync.move(issue_id, "reopened", "Double charges came back after the fix")
    sync.drain()
    sync.wait_deliveries(4)  # the stand-in announces our two reopen transitions
    sync.drain()
    for ticket in (cx, ops):
        assert ticket.status == "10000" and ticket.resolution is None  # Backlog again
        (comment,) = _comment_text(ticket)
        assert "Double charges came back after the fix" in comment
        assert "Wrong amount AGAIN on this week's bill" in comment
        assert "My first bill charged me twice" not in comment  # old feedback is not new evidence
    transitions = jira_fake.calls("POST", r"/transitions$")
    assert {r.json()["transition"]["id"] for r in transitions} == {"41"}  # the configured Reopen
    # The vendor's webhooks bring the contributions back to open; the issue stays reopened (no echo).
    assert {c["state"] for c in sync.contributions(issue_id)} == {"open"}
    assert sync.status(issue_id) == "reopened"
    jira_fake.set_status(cx.id, "Doing")
    sync.drain()
    assert sync.status(issue_id) == "fixing"


def test_confirm_comments_and_closes_what_is_still_open(
    sync: Sync, jira_fake: JiraStandIn, live_url: str
) -> None:
    issue_id, cx, ops = _shipped(sync, jira_fake, live_url, it_required=False)
    assert ops.status == "10000"  # the optional contribution is still in the backlog
    sync.move(issue_id, "confirmed", "No double charges in 30 days; CSAT back to 4.5")
    sync.drain()
    for ticket in (cx, ops):
        (comment,) = _comment_text(ticket)
        assert "confirmed the fix" in comment and "CSAT back to 4.5" in comment
        assert ticket.status == "10002"
    # Only the open one needed a transition; the done one was read and left alone.
    posted = {r.path for r in jira_fake.calls("POST", r"/transitions$")}
    assert posted == {f"/rest/api/3/issue/{ops.id}/transitions"}
    assert sync.status(issue_id) == "confirmed"


def test_a_reopen_made_in_jira_is_not_echoed_back(sync: Sync, jira_fake: JiraStandIn, live_url: str) -> None:
    issue_id, cx, ops = _shipped(sync, jira_fake, live_url)
    before = len(jira_fake.calls("POST", r"/transitions$"))
    jira_fake.set_status(cx.id, "Backlog")  # the billing team reopens its own ticket
    sync.drain()
    assert sync.status(issue_id) == "reopened"
    billing = next(c for c in sync.contributions(issue_id) if c["team"] == "billing")
    events = sync.client.get(f"/api/v1/issues/{issue_id}/events", headers=sync.h).json()["items"]
    reopen = [e for e in events if e["kind"] == "transition" and e["after"]["status"] == "reopened"]
    assert reopen[0]["actor"] == f"sync:contribution:{billing['id']}"
    # The other team's ticket follows; the ticket the change came from gets nothing back.
    assert ops.status == "10000" and len(ops.comments) == 1
    assert cx.comments == []
    after = jira_fake.calls("POST", r"/transitions$")[before:]
    assert [r.path for r in after] == [f"/rest/api/3/issue/{ops.id}/transitions"]


def test_zendesk_ticket_is_noted_and_solved_on_a_confirm_made_by_hand(
    sync: Sync, zendesk_fake: ZendeskStandIn
) -> None:
    sync.zendesk_integration(zendesk_fake)
    issue_id = sync.issue()
    sync.contribute(issue_id, "support")
    sync.drain()
    (ticket,) = zendesk_fake.tickets.values()
    for to in ("acknowledged", "fixing", "fix_shipped"):  # moved by people, not by the ticket
        sync.move(issue_id, to, "by hand")
    sync.move(issue_id, "confirmed", "Refund complaints stopped")
    sync.drain()
    assert ticket.status == "solved"
    note = ticket.comments[-1]
    assert note["public"] is False and "Refund complaints stopped" in note["body"]
    assert all(m.state == "done" for m in sync.messages())
