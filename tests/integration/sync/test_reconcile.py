"""Reconciliation pulls the status of contributions, so a lost webhook is caught."""

from __future__ import annotations

from datetime import timedelta

from app import wiring
from app.sync import reconcile
from tests.fakes.jira import JiraStandIn
from tests.fakes.zendesk import ZendeskStandIn
from tests.integration.sync.conftest import Sync


def test_lost_webhook_is_caught_by_reconciliation(
    sync: Sync, jira_fake: JiraStandIn, zendesk_fake: ZendeskStandIn
) -> None:
    sync.jira_integration(jira_fake)  # nobody subscribed: every webhook is lost
    sync.zendesk_integration(zendesk_fake)
    issue_id = sync.issue()
    sync.contribute(issue_id, "billing")
    sync.contribute(issue_id, "support")
    sync.drain()
    (cx,) = jira_fake.issues.values()
    (ticket,) = zendesk_fake.tickets.values()
    jira_fake.move_issue(cx.id, "OPS")  # and moved: the pull goes by numeric id
    jira_fake.set_status(cx.id, "Shipped", "Done")
    zendesk_fake.set_status(ticket.id, "solved")

    now = sync.clock
    assert reconcile.tick(sync.engine, now=now) == 2
    assert reconcile.tick(sync.engine, now=now + timedelta(seconds=1)) == 0  # same window: no double pull
    sync.drain()
    rows = {c["team"]: c for c in sync.contributions(issue_id)}
    assert rows["billing"]["state"] == "done" and rows["billing"]["ticket_key"] == "OPS-1"
    assert rows["support"]["state"] == "done"
    assert sync.status(issue_id) == "fix_shipped"
    assert [m.state for m in sync.messages("sync.pull")] == ["done", "done"]
    # The next window pulls again (a team may reopen after the fix shipped); nothing changes.
    assert reconcile.tick(sync.engine, now=now + timedelta(seconds=reconcile.DEFAULT_WINDOW_S)) == 2
    sync.drain()
    assert sync.status(issue_id) == "fix_shipped"
    assert jira_fake.calls("GET", rf"^/rest/api/3/issue/{cx.id}$")


def test_closed_issues_are_not_pulled_and_the_job_is_scheduled(sync: Sync, jira_fake: JiraStandIn) -> None:
    sync.jira_integration(jira_fake)
    issue_id = sync.issue()
    sync.contribute(issue_id, "billing")
    assert reconcile.tick(sync.engine) == 0  # no ticket yet
    sync.drain()
    sync.move(issue_id, "declined", "not ours")
    assert reconcile.tick(sync.engine) == 0
    assert wiring.job("sync.reconcile").fn is not None
