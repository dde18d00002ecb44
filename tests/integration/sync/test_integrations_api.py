"""/api/v1/integrations: validated, encrypted at rest, credentials never returned."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from tests.fakes.jira import JiraStandIn
from tests.integration.sync.conftest import JIRA_SECRET, Sync
from tests.support.api import auth, make_key, settings_for


def test_crud_and_write_only_credentials(sync: Sync, jira_fake: JiraStandIn) -> None:
    created = sync.jira_integration(jira_fake)
    assert created["has_webhook_secret"] is True
    assert created["webhook_url"].endswith(f"/webhooks/jira/{created['id']}")
    assert set(created) >= {"id", "name", "vendor", "base_url", "options", "targets", "enabled"}
    assert not {"api_token", "email", "webhook_secret"} & set(created)
    listed = sync.client.get("/api/v1/integrations", headers=sync.h).json()["items"]
    assert [i["id"] for i in listed] == [created["id"]]
    with sync.engine.connect() as conn:
        token_enc, secret_enc = conn.execute(
            text("SELECT api_token_enc, webhook_secret_enc FROM integrations")
        ).one()
    assert jira_fake.api_token not in token_enc and JIRA_SECRET not in secret_enc  # encrypted at rest

    url = f"/api/v1/integrations/{created['id']}"
    rotated = sync.client.patch(url, json={"api_token": "new-token-1", "enabled": False}, headers=sync.h)
    assert rotated.status_code == 200 and rotated.json()["enabled"] is False
    with sync.engine.connect() as conn:
        assert conn.execute(text("SELECT api_token_enc FROM integrations")).scalar_one() != token_enc
    bad_target = sync.client.patch(url, json={"targets": {"billing": {"group_id": 5}}}, headers=sync.h)
    assert (
        bad_target.status_code == 422
        and bad_target.json()["errors"][0]["field"] == "targets.billing.project_key"
    )
    unknown_team = sync.client.patch(url, json={"targets": {"nobody": {"project_key": "CX"}}}, headers=sync.h)
    assert unknown_team.status_code == 422
    reserved = sync.client.patch(url, json={"options": {"api_token": "x"}}, headers=sync.h)
    assert reserved.status_code == 422 and reserved.json()["errors"][0]["field"] == "options.api_token"
    bad_option = sync.client.patch(url, json={"options": {"timeout_seconds": -1}}, headers=sync.h)
    assert (
        bad_option.status_code == 422 and bad_option.json()["errors"][0]["field"] == "options.timeout_seconds"
    )
    dup = sync.client.post(
        "/api/v1/integrations",
        json={
            "name": "jira",
            "vendor": "zendesk",
            "base_url": jira_fake.base_url,
            "email": "a@b.c",
            "api_token": "t",
        },
        headers=sync.h,
    )
    assert dup.status_code == 409

    manage = make_key(sync.engine, ["manage"], "manager")
    assert sync.client.get(url, headers=auth(manage)).status_code == 200
    assert sync.client.delete(url, headers=auth(manage)).status_code == 403
    assert sync.client.delete(url, headers=sync.h).status_code == 204
    assert sync.client.get(url, headers=sync.h).status_code == 404


def test_in_use_integration_cannot_be_deleted(sync: Sync, jira_fake: JiraStandIn) -> None:
    created = sync.jira_integration(jira_fake)
    sync.contribute(sync.issue(), "billing")
    resp = sync.client.delete(f"/api/v1/integrations/{created['id']}", headers=sync.h)
    assert resp.status_code == 409


@pytest.fixture
def strict_client(engine: Engine) -> Iterator[TestClient]:
    """An app as deployed: no private or loopback vendors."""
    settings = settings_for(engine, allow_private_network=False)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    "base_url",
    [
        "http://jira.example.com",  # not https
        "https://127.0.0.1",  # loopback
        "https://10.1.2.3",  # private
        "https://169.254.169.254",  # link-local (cloud metadata)
        "https://[::1]:8443",
        "https://user:pw@example.com",  # credentials in the URL
    ],
)
def test_base_url_must_be_public_https(strict_client: TestClient, engine: Engine, base_url: str) -> None:
    key = make_key(engine, ["admin"], "strict")
    body = {
        "name": "x",
        "vendor": "jira",
        "base_url": base_url,
        "email": "bot@x.com",
        "api_token": "tok-123456",
    }
    resp = strict_client.post("/api/v1/integrations", json=body, headers=auth(key))
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "base_url"
    assert "tok-123456" not in resp.text
