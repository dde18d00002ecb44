"""Unauthenticated requests to the ticket trackers' webhook receivers and to the API.

Before: `/webhooks/jira|zendesk/{id}` rebuilt the integration's client config (with a blocking DNS
lookup of its base URL) before checking the signature, so an unsigned request could cost a lookup and,
for a base URL the guard now refuses, got a 500; an unknown id got 404 while a known one got 401 naming
the vendor's header (source enumeration); invalid JSON with no key got 422 before 401."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from integrations.signatures import sign_jira
from tests.support.api import auth, make_key, settings_for

SECRET = "webhook-secret-for-probing"
HOST = "jira-probe.seam-test.invalid"


@pytest.fixture
def strict(engine: Engine) -> Iterator[tuple[TestClient, dict[str, int]]]:
    """Integrations made while private addresses were allowed; the receiver now runs without that
    allowance, so rebuilding their client config would look their host up (and refuse it)."""
    admin = make_key(engine, ["admin"])
    ids: dict[str, int] = {}
    with TestClient(create_app(settings_for(engine), engine)) as lax:
        for vendor, base in (("jira", f"https://{HOST}"), ("zendesk", "https://127.0.0.1:9")):
            body = {
                "name": f"{vendor}-probe",
                "vendor": vendor,
                "base_url": base,
                "email": "bot@example.com",
                "api_token": "token-xyz",
                "webhook_secret": SECRET,
            }
            resp = lax.post("/api/v1/integrations", json=body, headers=auth(admin))
            assert resp.status_code == 201, resp.text
            ids[vendor] = resp.json()["id"]
    app = create_app(settings_for(engine, allow_private_network=False), engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, ids


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host name this process resolves, recorded (and still resolved)."""
    seen: list[str] = []
    real = socket.getaddrinfo

    def spy(host: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", spy)
    return seen


PAYLOAD = json.dumps({"webhookEvent": "jira:issue_updated", "issue": {"id": "1", "fields": {}}}).encode()


@pytest.mark.parametrize("vendor", ["jira", "zendesk"])
@pytest.mark.parametrize("signed", ["unsigned", "forged"])
def test_an_unsigned_or_forged_delivery_gets_401_and_causes_no_lookup(
    strict: tuple[TestClient, dict[str, int]], lookups: list[str], vendor: str, signed: str
) -> None:
    client, ids = strict
    headers = {"Content-Type": "application/json"}
    if signed == "forged":
        headers |= sign_jira(PAYLOAD, "not-the-secret") | {
            "X-Zendesk-Webhook-Signature": "Zm9yZ2Vk",
            "X-Zendesk-Webhook-Signature-Timestamp": "2026-12-02T00:00:00Z",
        }
    resp = client.post(f"/webhooks/{vendor}/{ids[vendor]}", content=PAYLOAD, headers=headers)
    assert resp.status_code == 401, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert HOST not in lookups


@pytest.mark.parametrize("vendor", ["jira", "zendesk"])
@pytest.mark.parametrize("signed", ["unsigned", "forged"])
def test_unknown_and_known_ids_answer_alike(
    strict: tuple[TestClient, dict[str, int]], vendor: str, signed: str
) -> None:
    client, ids = strict
    headers = {"Content-Type": "application/json"}
    if signed == "forged":
        headers |= sign_jira(PAYLOAD, "not-the-secret")
    other = "zendesk" if vendor == "jira" else "jira"

    def answer(integration_id: int) -> tuple[int, dict[str, str], dict[str, Any]]:
        resp = client.post(f"/webhooks/{vendor}/{integration_id}", content=PAYLOAD, headers=headers)
        body = resp.json()
        body.pop("instance", None)
        return resp.status_code, {"www-authenticate": resp.headers.get("www-authenticate", "")}, body

    known = answer(ids[vendor])
    assert known[0] == 401
    assert answer(999_999) == known  # no such integration
    assert answer(ids[other]) == known  # an integration of the other vendor


def test_a_genuine_delivery_is_still_accepted(strict: tuple[TestClient, dict[str, int]]) -> None:
    client, ids = strict
    body = json.dumps(
        {
            "webhookEvent": "jira:issue_updated",
            "timestamp": 1,
            "issue": {"id": "10001", "key": "OPS-1", "fields": {"status": {"name": "Done"}}},
        }
    ).encode()
    headers = {"Content-Type": "application/json", **sign_jira(body, SECRET)}
    resp = client.post(f"/webhooks/jira/{ids['jira']}", content=body, headers=headers)
    assert resp.status_code in (200, 202), resp.text


@pytest.mark.parametrize(
    "path", ["/api/v1/feedback", "/api/v1/feedback/batch", "/api/v1/triage/bulk", "/api/v1/integrations"]
)
@pytest.mark.parametrize("key", ["none", "wrong"])
def test_invalid_json_without_a_valid_key_gets_401_not_422(client: TestClient, path: str, key: str) -> None:
    headers = {"Content-Type": "application/json"}
    if key == "wrong":
        headers |= auth("seam_" + "x" * 40)
    resp = client.post(path, content=b'{"source": ', headers=headers)
    assert resp.status_code == 401, resp.text


def test_invalid_json_with_a_valid_key_is_still_422(client: TestClient, engine: Engine) -> None:
    key = make_key(engine, ["ingest"])
    headers = {"Content-Type": "application/json", **auth(key)}
    resp = client.post("/api/v1/feedback", content=b'{"source": ', headers=headers)
    assert resp.status_code == 422
