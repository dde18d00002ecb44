"""Inbound status: signed webhooks -> inbox -> contribution state -> issue state."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.jira import JiraStandIn
from tests.fakes.jira_model import Issue
from tests.fakes.webhooks import jira_signed, zendesk_signed
from tests.fakes.zendesk import ZendeskStandIn
from tests.integration.sync.conftest import JIRA_SECRET, ZENDESK_SECRET, Sync


def _events(sync: Sync, issue_id: int) -> list[dict[str, Any]]:
    resp = sync.client.get(f"/api/v1/issues/{issue_id}/events", params={"limit": 500}, headers=sync.h)
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def _two_jira_tickets(sync: Sync, fake: JiraStandIn) -> tuple[dict[str, Any], int, Issue, Issue]:
    integration = sync.jira_integration(fake)
    issue_id = sync.issue()
    sync.contribute(issue_id, "billing")
    sync.contribute(issue_id, "it")
    sync.drain()
    by_project = {i.project: i for i in fake.issues.values()}
    return integration, issue_id, by_project["CX"], by_project["OPS"]


def _states(sync: Sync, issue_id: int) -> dict[str, str]:
    return {c["team"]: c["state"] for c in sync.contributions(issue_id)}


def _post_jira(sync: Sync, integration: dict[str, Any], payload: Any, **kw: Any) -> Any:
    headers, body = jira_signed(payload, kw.pop("secret", JIRA_SECRET), **kw)
    return sync.client.post(f"/webhooks/jira/{integration['id']}", content=body, headers=headers)


def test_status_change_in_jira_arrives_by_signed_webhook(
    sync: Sync, jira_fake: JiraStandIn, live_url: str
) -> None:
    integration, issue_id, cx, ops = _two_jira_tickets(sync, jira_fake)
    # Jira's admin webhook points at the served app; the stand-in signs every delivery.
    jira_fake.subscribe(f"{live_url}/webhooks/jira/{integration['id']}", JIRA_SECRET)

    jira_fake.set_status(cx.id, "Doing")
    assert len(sync.deliveries()) == 1  # stored at once, processed by the outbox
    assert _states(sync, issue_id)["billing"] == "open"
    sync.drain()
    assert _states(sync, issue_id) == {"billing": "in_progress", "it": "open"}
    assert sync.status(issue_id) == "fixing"  # a contribution started

    jira_fake.set_status(cx.id, "Shipped", resolution="Done")
    sync.drain()
    assert _states(sync, issue_id)["billing"] == "done"
    assert sync.status(issue_id) == "fixing"  # "it" is required too

    jira_fake.set_status(ops.id, "Shipped", resolution="Done")
    sync.drain()
    assert _states(sync, issue_id) == {"billing": "done", "it": "done"}
    assert sync.status(issue_id) == "fix_shipped"
    assert [d.state for d in sync.deliveries()] == ["processed"] * 3
    moves = [(e["after"]["status"], e["actor"]) for e in _events(sync, issue_id) if e["kind"] == "transition"]
    billing, it = (c["id"] for c in sync.contributions(issue_id))
    assert moves == [("fixing", f"sync:contribution:{billing}"), ("fix_shipped", f"sync:contribution:{it}")]
    (contribution,) = [c for c in sync.contributions(issue_id) if c["team"] == "billing"]
    assert contribution["vendor_status"] == "Shipped" and contribution["vendor_resolution"] == "Done"


def test_terminal_meanings_stay_distinct(sync: Sync, jira_fake: JiraStandIn) -> None:
    integration, issue_id, cx, ops = _two_jira_tickets(sync, jira_fake)
    assert (
        _post_jira(sync, integration, jira_fake.set_status(cx.id, "Shipped", "Won't Do")).status_code == 202
    )
    assert (
        _post_jira(sync, integration, jira_fake.set_status(ops.id, "Shipped", "Duplicate")).status_code == 202
    )
    sync.drain()
    assert _states(sync, issue_id) == {"billing": "wont_do", "it": "duplicate"}
    # Closed without a fix is not a shipped fix.
    assert sync.status(issue_id) == "open"


def test_not_required_contributions_do_not_hold_the_issue(sync: Sync, jira_fake: JiraStandIn) -> None:
    integration = sync.jira_integration(jira_fake)
    issue_id = sync.issue()
    sync.contribute(issue_id, "billing")
    sync.contribute(issue_id, "it", required=False)
    sync.drain()
    cx = next(i for i in jira_fake.issues.values() if i.project == "CX")
    _post_jira(sync, integration, jira_fake.set_status(cx.id, "Shipped", "Done"))
    sync.drain()
    assert sync.status(issue_id) == "fix_shipped"  # open -> fixing -> fix_shipped in one step


def test_bad_or_missing_signature_is_401_and_stores_nothing(
    sync: Sync, jira_fake: JiraStandIn, zendesk_fake: ZendeskStandIn
) -> None:
    integration, issue_id, cx, _ = _two_jira_tickets(sync, jira_fake)
    zendesk = sync.zendesk_integration(zendesk_fake)
    payload = jira_fake.set_status(cx.id, "Shipped", "Done")
    before = len(sync.messages())
    wrong = _post_jira(sync, integration, payload, secret="not-the-secret")
    assert wrong.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["status"] == 401 and "mismatch" in wrong.json()["detail"]
    headers, body = jira_signed(payload, JIRA_SECRET)
    tampered = body.replace(b'"Shipped"', b'"Backlog"')
    url = f"/webhooks/jira/{integration['id']}"
    assert sync.client.post(url, content=tampered, headers=headers).status_code == 401
    unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature"}
    assert sync.client.post(url, content=body, headers=unsigned).status_code == 401
    # Zendesk: a genuine signature over a timestamp ten minutes old is stale.
    ticket = zendesk_fake.add_ticket("x", external_id="seam-ei-1")
    old = datetime.now(UTC) - timedelta(minutes=10)
    zheaders, zbody = zendesk_signed(
        zendesk_fake.set_status(ticket.id, "solved"), ZENDESK_SECRET, timestamp=old
    )
    stale = sync.client.post(f"/webhooks/zendesk/{zendesk['id']}", content=zbody, headers=zheaders)
    assert stale.status_code == 401 and "stale" in stale.json()["detail"]
    # The Jira integration's URL does not take Zendesk deliveries: refused like a bad signature, so
    # that the answer does not tell which ids exist.
    assert (
        sync.client.post(
            f"/webhooks/zendesk/{integration['id']}", content=zbody, headers=zheaders
        ).status_code
        == 401
    )
    assert sync.deliveries() == [] and len(sync.messages()) == before
    sync.drain()
    assert _states(sync, issue_id)["billing"] == "open"


def test_duplicate_delivery_is_processed_once(sync: Sync, jira_fake: JiraStandIn) -> None:
    integration, issue_id, cx, _ = _two_jira_tickets(sync, jira_fake)
    payload = jira_fake.set_status(cx.id, "Doing")
    first = _post_jira(sync, integration, payload, delivery_id="d-1")
    again = _post_jira(sync, integration, payload, delivery_id="d-1", retry=1)
    assert first.json() == {"status": "accepted"} and again.json() == {"status": "duplicate"}
    assert again.status_code == 200  # already received: the same answer as survey sources give
    sync.drain()
    (delivery,) = sync.deliveries()
    assert delivery.state == "processed" and delivery.headers["x-hub-signature"].startswith("sha256=")
    synced = [e for e in _events(sync, issue_id) if e["kind"] == "contribution_synced"]
    assert len(synced) == 1 and len(sync.messages("sync.inbound")) == 1


def test_moved_issue_is_followed_by_id_and_stale_events_are_ignored(
    sync: Sync, jira_fake: JiraStandIn
) -> None:
    integration, issue_id, cx, _ = _two_jira_tickets(sync, jira_fake)
    older = jira_fake.set_status(cx.id, "Doing")
    time.sleep(0.01)
    new_key = jira_fake.move_issue(cx.id, "OPS")
    time.sleep(0.01)
    newer = jira_fake.set_status(cx.id, "Shipped", "Done")
    assert newer["issue"]["key"] == new_key != "CX-1"
    _post_jira(sync, integration, newer)
    _post_jira(sync, integration, older)  # Jira's order is not guaranteed; this one is late
    sync.drain()
    (billing,) = [c for c in sync.contributions(issue_id) if c["team"] == "billing"]
    assert billing["state"] == "done" and billing["ticket_id"] == cx.id
    assert billing["ticket_key"] == new_key and billing["ticket_url"].endswith(f"/browse/{new_key}")
    states = [(d.state, d.error) for d in sync.deliveries()]
    assert states == [("processed", None), ("ignored", "stale")]


def test_unrelated_events_are_acknowledged(
    sync: Sync, jira_fake: JiraStandIn, zendesk_fake: ZendeskStandIn
) -> None:
    integration = sync.jira_integration(jira_fake)
    resp = _post_jira(sync, integration, {"webhookEvent": "comment_created", "timestamp": 1, "comment": {}})
    assert resp.status_code == 202 and resp.json() == {"status": "ignored"}
    assert sync.deliveries() == []
    # A ticket Seam does not know (made by hand in Zendesk) is stored, then ignored.
    zendesk = sync.zendesk_integration(zendesk_fake)
    ticket = zendesk_fake.add_ticket("printer on fire")
    headers, body = zendesk_signed(zendesk_fake.set_status(ticket.id, "solved"), ZENDESK_SECRET)
    assert (
        sync.client.post(f"/webhooks/zendesk/{zendesk['id']}", content=body, headers=headers).status_code
        == 202
    )
    sync.drain()
    assert [(d.state, d.error) for d in sync.deliveries()] == [("ignored", "no contribution has this ticket")]


def test_zendesk_webhook_moves_contribution(sync: Sync, zendesk_fake: ZendeskStandIn, live_url: str) -> None:
    integration = sync.zendesk_integration(zendesk_fake)
    zendesk_fake.subscribe(f"{live_url}/webhooks/zendesk/{integration['id']}", ZENDESK_SECRET)
    issue_id = sync.issue()
    sync.contribute(issue_id, "support")
    sync.drain()
    (ticket,) = zendesk_fake.tickets.values()
    zendesk_fake.set_status(ticket.id, "open")
    sync.drain()
    assert _states(sync, issue_id) == {"support": "in_progress"} and sync.status(issue_id) == "fixing"
    zendesk_fake.set_status(ticket.id, "solved", add_tags=["seam_wont_do"])
    sync.drain()
    assert _states(sync, issue_id) == {"support": "wont_do"} and sync.status(issue_id) == "fixing"
    assert [d.state for d in sync.deliveries()] == ["processed", "processed"]
