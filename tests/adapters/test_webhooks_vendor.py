"""Inbound Jira/Zendesk webhooks: the vendors' real signing schemes over the exact bytes of the saved
examples, refusal of tampered/wrong/stale deliveries, status mapping, and deliveries sent by the stand-ins."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from integrations.base import (
    TicketDraft,
    UnsupportedWebhookEvent,
    WebhookSignatureError,
)
from integrations.jira import JiraConfig, JiraTracker
from integrations.zendesk import ZendeskConfig, ZendeskTracker
from tests.fakes import webhooks
from tests.fakes.fixtures import WebhookReceiver
from tests.fakes.jira import JiraStandIn
from tests.fakes.openapi import SPECS_DIR
from tests.fakes.zendesk import ZendeskStandIn

pytestmark = pytest.mark.anyio
EXAMPLES = SPECS_DIR / "examples"
SECRET = "whsec-test-0f9a"
NOW = datetime(2026, 11, 22, 17, 52, 30, tzinfo=UTC)


def _bytes(name: str) -> bytes:
    return Path(EXAMPLES / name).read_bytes()


@pytest.fixture
def jira() -> JiraTracker:
    config = JiraConfig(base_url="https://acme.atlassian.net", email="bot@acme.test", api_token="t0k3n")
    return JiraTracker(config)


@pytest.fixture
def zendesk() -> ZendeskTracker:
    config = ZendeskConfig(base_url="https://acme.zendesk.com", email="bot@acme.test", api_token="t0k3n")
    return ZendeskTracker(config)


# The configs above use public hostnames; resolution is stubbed so the tests need no DNS.
@pytest.fixture(autouse=True)
def _public_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integrations.url_guard._system_resolver", lambda host: ["93.184.215.14"])


# --- Jira -------------------------------------------------------------------------------------


async def test_jira_example_parses_with_real_scheme(jira: JiraTracker) -> None:
    body = _bytes("jira_issue_updated_done.json")
    headers, _ = webhooks.jira_signed(body, SECRET, delivery_id="b7c6a3e0-delivery")
    event = jira.parse_webhook(headers, body, SecretStr(SECRET), NOW)
    assert event.delivery_id == "b7c6a3e0-delivery"
    assert (event.vendor, event.event_type, event.ticket_id) == ("jira", "jira:issue_updated", "10042")
    assert event.state.ref.key == "CX-42" and event.state.ref.url == "https://acme.atlassian.net/browse/CX-42"
    assert (event.state.status, event.state.category, event.state.resolution) == ("Done", "done", "Done")
    assert event.occurred_at == datetime.fromtimestamp(1795689000.123, tz=UTC)
    assert event.state.updated_at == datetime(2026, 11, 22, 17, 50, 0, 120000, tzinfo=UTC)
    await jira.aclose()


@pytest.mark.parametrize(
    ("resolution", "category"),
    [("Won't Do", "wont_do"), ("Duplicate", "duplicate"), ("Cannot Reproduce", "cannot_reproduce")],
)
async def test_jira_terminal_resolutions_stay_distinct(
    jira: JiraTracker, resolution: str, category: str
) -> None:
    payload = json.loads(_bytes("jira_issue_updated_done.json"))
    payload["issue"]["fields"]["resolution"]["name"] = resolution
    headers, body = webhooks.jira_signed(payload, SECRET)
    assert jira.parse_webhook(headers, body, SECRET, NOW).state.category == category
    await jira.aclose()


@pytest.mark.parametrize("tamper", ["body", "secret", "missing", "algorithm"])
async def test_jira_refuses_bad_signatures(jira: JiraTracker, tamper: str) -> None:
    body = _bytes("jira_issue_updated_done.json")
    headers, _ = webhooks.jira_signed(body, SECRET)
    if tamper == "body":
        body = body.replace(b'"Done"', b'"Open"', 1)
    elif tamper == "secret":
        headers, _ = webhooks.jira_signed(body, "someone-else")
    elif tamper == "missing":
        del headers["X-Hub-Signature"]
    else:
        headers["X-Hub-Signature"] = headers["X-Hub-Signature"].replace("sha256=", "sha1=")
    with pytest.raises(WebhookSignatureError):
        jira.parse_webhook(headers, body, SECRET, NOW)
    await jira.aclose()


async def test_jira_empty_secret_is_refused(jira: JiraTracker) -> None:
    headers, body = webhooks.jira_signed(_bytes("jira_issue_updated_done.json"), "")
    with pytest.raises(WebhookSignatureError, match="no webhook secret"):
        jira.parse_webhook(headers, body, "", NOW)
    await jira.aclose()


async def test_jira_comment_event_is_signed_but_unsupported(jira: JiraTracker) -> None:
    headers, body = webhooks.jira_signed({"webhookEvent": "comment_created", "comment": {"id": "1"}}, SECRET)
    with pytest.raises(UnsupportedWebhookEvent):
        jira.parse_webhook(headers, body, SECRET, NOW)
    await jira.aclose()


# --- Zendesk ----------------------------------------------------------------------------------


async def test_zendesk_example_parses_with_real_scheme(zendesk: ZendeskTracker) -> None:
    body = _bytes("zendesk_ticket_status_changed.json")
    headers, _ = webhooks.zendesk_signed(body, SECRET, timestamp="2026-11-22T17:52:10Z")
    event = zendesk.parse_webhook(headers, body, SecretStr(SECRET), NOW)
    assert event.delivery_id == "2b24ef10-19d4-4740-93cf-8f98ec4776c0"
    assert (event.vendor, event.ticket_id, event.seam_label) == ("zendesk", "35436", "seam-ei-118")
    # SOLVED in the event, solved in REST: normalised.
    assert (event.state.status, event.state.category) == ("solved", "done")
    assert event.occurred_at == datetime(2026, 11, 22, 17, 52, 10, tzinfo=UTC)
    await zendesk.aclose()


async def test_zendesk_closed_and_merged_tickets(zendesk: ZendeskTracker) -> None:
    payload = json.loads(_bytes("zendesk_ticket_status_changed.json"))
    payload["event"]["current"] = payload["detail"]["status"] = "CLOSED"
    headers, body = webhooks.zendesk_signed(payload, SECRET, timestamp=NOW)
    assert zendesk.parse_webhook(headers, body, SECRET, NOW).state.category == "done"
    payload["detail"]["tags"].append("closed_by_merge")
    headers, body = webhooks.zendesk_signed(payload, SECRET, timestamp=NOW)
    state = zendesk.parse_webhook(headers, body, SECRET, NOW).state
    assert (state.status, state.category, state.resolution) == ("closed", "duplicate", "closed_by_merge")
    await zendesk.aclose()


@pytest.mark.parametrize("skew", [-299, 299])
async def test_zendesk_accepts_inside_window(zendesk: ZendeskTracker, skew: int) -> None:
    body = _bytes("zendesk_ticket_status_changed.json")
    headers, _ = webhooks.zendesk_signed(body, SECRET, timestamp=NOW - timedelta(seconds=skew))
    assert zendesk.parse_webhook(headers, body, SECRET, NOW).ticket_id == "35436"
    await zendesk.aclose()


@pytest.mark.parametrize("tamper", ["body", "secret", "stale", "future", "no-timestamp", "timestamp-swapped"])
async def test_zendesk_refuses_bad_signatures(zendesk: ZendeskTracker, tamper: str) -> None:
    body = _bytes("zendesk_ticket_status_changed.json")
    stamp = {"stale": NOW - timedelta(seconds=301), "future": NOW + timedelta(seconds=301)}.get(tamper, NOW)
    headers, _ = webhooks.zendesk_signed(
        body, "someone-else" if tamper == "secret" else SECRET, timestamp=stamp
    )
    if tamper == "body":
        body = body.replace(b"SOLVED", b"OPEN", 1)
    elif tamper == "no-timestamp":
        del headers["X-Zendesk-Webhook-Signature-Timestamp"]
    elif tamper == "timestamp-swapped":
        # A replayer cannot refresh the timestamp: it is part of the signed bytes.
        headers["X-Zendesk-Webhook-Signature-Timestamp"] = "2026-11-22T17:52:29Z"
    with pytest.raises(WebhookSignatureError) as caught:
        zendesk.parse_webhook(headers, body, SECRET, NOW)
    if tamper in ("stale", "future"):
        assert caught.value.reason == "stale"
    await zendesk.aclose()


async def test_zendesk_trigger_body_uses_invocation_id(zendesk: ZendeskTracker) -> None:
    payload = {
        "ticket_id": "77",
        "status": "solved",
        "tags": "seam-ei-7 seam_wont_do",
        "external_id": "seam-ei-7",
    }
    headers, body = webhooks.zendesk_signed(payload, SECRET, timestamp=NOW)
    event = zendesk.parse_webhook(headers, body, SECRET, NOW)
    assert event.delivery_id == headers["X-Zendesk-Webhook-Invocation-Id"]
    assert (event.ticket_id, event.state.category) == ("77", "wont_do")
    await zendesk.aclose()


# --- deliveries sent by the stand-ins ---------------------------------------------------------


async def test_jira_stand_in_sends_signed_webhooks_on_status_change(
    jira_fake: JiraStandIn,
    jira_config: JiraConfig,
    webhook_receiver: WebhookReceiver,
    make_draft: Callable[..., TicketDraft],
) -> None:
    jira_fake.subscribe(webhook_receiver.url, SECRET)
    async with JiraTracker(jira_config) as tracker:
        ref = await tracker.create(make_draft(), "outbox-1")
        await tracker.transition(ref, "done")  # through the API
        first = webhook_receiver.wait_for(1)[0]
        jira_fake.set_status(ref.id, "Backlog")  # a person reopens it in Jira
        second = webhook_receiver.wait_for(2)[1]
        done = tracker.parse_webhook(first.headers, first.body, SECRET, datetime.now(UTC))
        reopened = tracker.parse_webhook(second.headers, second.body, SECRET, datetime.now(UTC))
    assert (done.ticket_id, done.state.category, done.seam_label) == (ref.id, "done", "seam-ei-118")
    assert reopened.state.category == "open" and reopened.delivery_id != done.delivery_id


async def test_zendesk_stand_in_sends_signed_webhooks_on_status_change(
    zendesk_fake: ZendeskStandIn,
    zendesk_config: ZendeskConfig,
    webhook_receiver: WebhookReceiver,
    make_draft: Callable[..., TicketDraft],
) -> None:
    zendesk_fake.subscribe(webhook_receiver.url, SECRET)
    async with ZendeskTracker(zendesk_config) as tracker:
        ref = await tracker.create(make_draft(), "outbox-1")
        zendesk_fake.set_status(int(ref.id), "solved", add_tags=["seam_duplicate"])
        (delivery,) = webhook_receiver.wait_for(1)
        event = tracker.parse_webhook(delivery.headers, delivery.body, SECRET, datetime.now(UTC))
    assert (event.ticket_id, event.state.status, event.state.category) == (ref.id, "solved", "duplicate")
