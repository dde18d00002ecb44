"""Credentials never appear in any API response or log line, whatever happens."""

from __future__ import annotations

import logging

import pytest

from tests.fakes.jira import JiraStandIn
from tests.fakes.server import Fault
from tests.fakes.webhooks import jira_signed
from tests.fakes.zendesk import ZendeskStandIn
from tests.integration.sync.conftest import JIRA_SECRET, ZENDESK_SECRET, Sync


def test_credentials_never_leak(
    sync: Sync, jira_fake: JiraStandIn, zendesk_fake: ZendeskStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    jira = sync.jira_integration(jira_fake)
    zendesk = sync.zendesk_integration(zendesk_fake)
    c = sync.client
    for path in (
        "/api/v1/integrations",
        f"/api/v1/integrations/{jira['id']}",
        f"/api/v1/integrations/{zendesk['id']}",
    ):
        bodies.append(c.get(path, headers=sync.h).text)
    bodies.append(c.patch(f"/api/v1/integrations/{jira['id']}", json={"enabled": True}, headers=sync.h).text)
    # Refusals must not echo what was sent either.
    bad = {
        "name": "x",
        "vendor": "jira",
        "base_url": "ftp://x",
        "email": "e@x.io",
        "api_token": jira_fake.api_token,
    }
    bodies.append(c.post("/api/v1/integrations", json=bad, headers=sync.h).text)
    short = {**bad, "base_url": jira_fake.base_url, "webhook_secret": "short"}
    bodies.append(c.post("/api/v1/integrations", json=short, headers=sync.h).text)
    # Work through faults (their messages end up in logs and in the outbox's last_error).
    issue_id = sync.issue()
    sync.contribute(issue_id, "billing")
    sync.contribute(issue_id, "support")
    jira_fake.fail(Fault("status", 500, body={"errorMessages": ["boom"], "errors": {}}), method="POST")
    zendesk_fake.fail(Fault("reset"), method="POST")
    sync.drain()
    # A wrong token at the vendor: 401, parked as dead with the vendor's message.
    c.patch(f"/api/v1/integrations/{jira['id']}", json={"api_token": "wrong-token-xyz"}, headers=sync.h)
    sync.contribute(issue_id, "it")
    sync.drain()
    headers, body = jira_signed({"webhookEvent": "jira:issue_updated"}, "guess")
    bodies.append(c.post(f"/webhooks/jira/{jira['id']}", content=body, headers=headers).text)
    bodies.append(c.get(f"/api/v1/issues/{issue_id}/contributions", headers=sync.h).text)
    bodies.append(c.get(f"/api/v1/issues/{issue_id}/events", headers=sync.h).text)
    bodies.append(c.get("/api/v1/outbox", params={"state": "dead"}, headers=sync.h).text)
    bodies.append(c.get("/openapi.json").text)

    dead = [m for m in sync.messages() if m.state == "dead"]
    assert len(dead) == 1 and "401" in (dead[0].last_error or "")  # the test saw the failure path
    secrets = [jira_fake.api_token, zendesk_fake.api_token, "wrong-token-xyz", JIRA_SECRET, ZENDESK_SECRET]
    everything = "\n".join(bodies) + "\n".join(m.last_error or "" for m in sync.messages())
    logs = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert caplog.records, "nothing was logged: the check would be vacuous"
    for secret in secrets:
        assert secret not in everything, "a credential was returned by the API"
        assert secret not in logs, "a credential was logged"
    assert jira_fake.email not in everything  # the account is write-only too
