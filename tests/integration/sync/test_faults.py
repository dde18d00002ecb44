"""Vendor faults during ticket creation: each ends with exactly one ticket per contribution."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.fakes.jira import JiraStandIn
from tests.fakes.server import Fault
from tests.fakes.zendesk import RATE_LIMITED_TEXT, ZendeskStandIn
from tests.integration.sync.conftest import Sync

JIRA_ERROR = {"errorMessages": ["Internal server error"], "errors": {}}
FAULTS = {
    "429": (Fault("status", 429, headers={"Retry-After": "120"}, body=RATE_LIMITED_TEXT), 1),
    "500s": (Fault("status", 500, body=JIRA_ERROR), 3),
    "timeout": (Fault("delay", seconds=1.6), 1),  # the client gives up after 1 s; the vendor goes on
    "reset": (Fault("reset"), 2),  # connection reset before the vendor acted
    "response_lost": (Fault("drop_response"), 1),  # the vendor created it, the 201 never arrived
}


def _wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("vendor", ["jira", "zendesk"])
def test_create_survives_fault(
    sync: Sync, jira_fake: JiraStandIn, zendesk_fake: ZendeskStandIn, vendor: str, fault: str
) -> None:
    planned, times = FAULTS[fault]
    if vendor == "jira":
        sync.jira_integration(jira_fake)
        fake: JiraStandIn | ZendeskStandIn = jira_fake
        team, path = "billing", r"^/rest/api/3/issue$"
    else:
        sync.zendesk_integration(zendesk_fake)
        fake, team, path = zendesk_fake, "support", r"^/api/v2/tickets$"
    issue_id = sync.issue()
    sync.drain()  # the issue's own outbound work first (its assessment), so only the ticket is left
    sync.contribute(issue_id, team)
    fake.fail(planned, method="POST", path=path, times=times)

    start = sync.clock
    assert sync.run_once() == 1
    (message,) = sync.messages()
    assert message.state == "pending" and message.attempts == 1 and message.last_error
    if fault == "429":
        assert "429" in message.last_error
        assert message.available_at >= start + timedelta(seconds=120)  # Retry-After honoured
        assert sync.run_once() == 0  # not before the vendor said so
    if fault == "timeout":
        # Real backoff outlasts the vendor's slow request; here the clock jumps, so wait for it.
        _wait_for(lambda: len(fake.issues if isinstance(fake, JiraStandIn) else fake.tickets) == 1)

    sync.drain()

    created = fake.issues if isinstance(fake, JiraStandIn) else fake.tickets
    assert len(created) == 1, f"{len(created)} tickets for one contribution"
    (ticket,) = created.values()
    (row,) = sync.contribution_rows()
    assert row.ticket_id == str(ticket.id) and row.state == "open"
    (message,) = sync.messages()
    assert message.state == "done" and message.attempts == 1 + times
    create_calls = fake.calls("POST", path)
    if fault in ("timeout", "response_lost"):
        # The retry found the ticket the lost request made instead of creating another.
        assert len(create_calls) == 1


def test_permanent_refusal_is_dead_and_visible(sync: Sync, jira_fake: JiraStandIn) -> None:
    sync.jira_integration(jira_fake, targets={"billing": {"project_key": "NOPE"}})
    issue_id = sync.issue()
    sync.contribute(issue_id, "billing")
    sync.drain()
    (message,) = sync.messages()
    assert message.state == "dead" and "project" in (message.last_error or "")
    dead = sync.client.get("/api/v1/outbox", params={"state": "dead"}, headers=sync.h).json()["items"]
    assert [d["kind"] for d in dead] == ["sync.create_ticket"]
    assert jira_fake.issues == {}
    # Fixed on the far side, then retried by hand: one ticket.
    jira_fake.projects["NOPE"] = "10009"
    assert sync.client.post(f"/api/v1/outbox/{dead[0]['id']}/retry", headers=sync.h).status_code == 200
    sync.drain()
    assert len(jira_fake.issues) == 1 and sync.contribution_rows()[0].state == "open"
