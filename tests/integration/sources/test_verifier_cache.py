"""The decrypted secret is cached per stored value: a changed secret, or a disabled source, takes effect
on the very next delivery."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from app.sources import receiver
from tests.support.api import auth

from .helpers import create_source, deliver, example_bytes, sign

BODY = example_bytes("typeform_form_response.json")
NEW_SECRET = "tf_rotated_secret_91c0"


def _body(event_id: str) -> bytes:
    doc = json.loads(BODY)
    doc["event_id"] = event_id
    return json.dumps(doc).encode()


def _patch(client: TestClient, key: str, source_id: int, **fields: object) -> None:
    resp = client.patch(f"/api/v1/sources/{source_id}", json=fields, headers=auth(key))
    assert resp.status_code == 200, resp.text


def test_a_changed_secret_takes_effect_on_the_next_delivery(
    journey_client: TestClient, admin_key: str
) -> None:
    source = create_source(journey_client, admin_key, "typeform")
    assert deliver(journey_client, source, _body("e1")).status_code == 202
    _patch(journey_client, admin_key, source["id"], secret=NEW_SECRET)
    old = _body("e2")
    assert deliver(journey_client, source, old, sign("typeform", old)).status_code == 401
    new = _body("e3")
    assert deliver(journey_client, source, new, sign("typeform", new, secret=NEW_SECRET)).status_code == 202


def test_a_disabled_source_refuses_at_once_though_its_secret_is_cached(
    journey_client: TestClient, admin_key: str
) -> None:
    source = create_source(journey_client, admin_key, "typeform")
    assert deliver(journey_client, source, _body("e1")).status_code == 202
    _patch(journey_client, admin_key, source["id"], enabled=False)
    # Refused like any bad delivery: a disabled source's URL tells nothing more than an unknown one's.
    assert deliver(journey_client, source, _body("e2")).status_code == 401


def test_deliveries_reuse_the_decrypted_secret(journey_client: TestClient, admin_key: str) -> None:
    source = create_source(journey_client, admin_key, "typeform")
    before = receiver._opened.cache_info()
    for i in range(3):
        assert deliver(journey_client, source, _body(f"e{i}")).status_code == 202
    after = receiver._opened.cache_info()
    assert after.misses - before.misses == 1 and after.hits - before.hits == 2
