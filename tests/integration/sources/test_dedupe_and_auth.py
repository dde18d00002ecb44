"""Retries are one item; forged, tampered or stale deliveries get 401 and store nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.outbox import drain

from .helpers import (
    SECRETS,
    counts,
    create_source,
    deliver,
    example_bytes,
    items,
    now,
    payload_bytes,
    sign,
)

SAMPLES = {
    "typeform": example_bytes("typeform_form_response.json"),
    "surveymonkey": example_bytes("surveymonkey_response_completed.json"),
    "delighted": example_bytes("delighted_survey_response.json"),
    "zendesk": example_bytes("zendesk_ticket_status_changed.json"),
    "standard": payload_bytes("standard_feedback_created.json"),
    "qualtrics": payload_bytes("qualtrics_completed_response.txt"),
}
EXTRA = {
    "surveymonkey": {"api_token": "t", "api_base_url": "http://127.0.0.1:9"},
    "qualtrics": {"api_token": "t", "api_base_url": "http://127.0.0.1:9"},
}
WRONG = {
    "typeform": "another-secret",
    "surveymonkey": "sm_client_Yq8&not-the-secret",
    "delighted": "another-key",
    "zendesk": "b3RoZXI=",
    "standard": "whsec_b3RoZXJvdGhlcm90aGVy",
}


def _tamper(body: bytes) -> bytes:
    # One changed byte inside the payload, so the body still parses.
    i = body.index(b'"', body.index(b":")) + 1
    return body[:i] + bytes([body[i] ^ 1]) + body[i + 1 :]


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_same_delivery_twice_is_one_item(
    kind: str, journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(journey_client, admin_key, kind, **EXTRA.get(kind, {}))
    body = SAMPLES[kind]
    headers = sign(kind, body)
    first = deliver(journey_client, source, body, headers)
    again = deliver(journey_client, source, body, headers)  # the vendor's retry, byte for byte
    assert (first.status_code, again.status_code) == (202, 200), again.text
    assert first.json() == {"status": "accepted"} and again.json() == {"status": "duplicate"}
    assert counts(engine)[:2] == (1, 1)


@pytest.mark.parametrize("kind", ["typeform", "delighted", "zendesk", "standard"])
def test_redelivery_after_processing_makes_no_second_item(
    kind: str, journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(journey_client, admin_key, kind)
    body = SAMPLES[kind]
    assert deliver(journey_client, source, body).status_code == 202
    drain(engine)
    # A retry signed afresh (new timestamp for Zendesk and Standard Webhooks) is still the same delivery.
    assert deliver(journey_client, source, body).status_code == 200
    drain(engine)
    assert len(items(journey_client, admin_key)) == 1 and counts(engine) == (1, 1, 1)


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_tampered_or_unsigned_deliveries_get_401_and_store_nothing(
    kind: str, client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(client, admin_key, kind, **EXTRA.get(kind, {}))
    body = SAMPLES[kind]
    good = sign(kind, body)
    if kind == "qualtrics":  # the token is the proof: a wrong token, or none at all
        attempts = [
            deliver(client, source, body, token=SECRETS["qualtrics"][:-1] + "X"),
            client.post(f"/webhooks/{source['id']}", content=body, headers=good),
        ]
    else:
        attempts = [
            deliver(client, source, body, headers={"Content-Type": "application/json"}),
            deliver(client, source, _tamper(body), good),
            deliver(client, source, body, secret=WRONG[kind]),
        ]
    for resp in attempts:
        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["status"] == 401
        assert SECRETS[kind] not in resp.text
    assert counts(engine) == (0, 0, 0)


@pytest.mark.parametrize("kind", ["zendesk", "standard"])
@pytest.mark.parametrize("skew", [timedelta(minutes=-6), timedelta(minutes=6)], ids=["old", "future"])
def test_stale_timestamps_get_401(
    kind: str, skew: timedelta, client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(client, admin_key, kind)
    resp = deliver(client, source, SAMPLES[kind], at=now() + skew)
    # The reason (stale) is logged; the answer is the same for every refusal (tests/hostile).
    assert resp.status_code == 401
    assert counts(engine) == (0, 0, 0)
    # Inside the window (4 minutes) the same body passes.
    assert deliver(client, source, SAMPLES[kind], at=now() - timedelta(minutes=4)).status_code == 202


def test_unknown_or_disabled_source_is_refused(client: TestClient, admin_key: str, engine: Engine) -> None:
    body = SAMPLES["typeform"]
    # 401 as for a bad signature, so the URLs do not tell which sources exist (tests/hostile).
    assert client.post("/webhooks/999", content=body, headers=sign("typeform", body)).status_code == 401
    source = create_source(client, admin_key, "typeform", enabled=False)
    assert deliver(client, source, body).status_code == 401
    # A token URL only exists for Qualtrics sources.
    assert client.post(f"/webhooks/{source['id']}/sometoken", content=body).status_code == 401
    assert counts(engine) == (0, 0, 0)


def test_delighted_created_then_updated_is_one_item_updated(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(journey_client, admin_key, "delighted", default_touchpoint="first-box-nps")
    updated = json.loads(SAMPLES["delighted"])
    created = json.loads(SAMPLES["delighted"])
    created.update(event_type="survey_response.created", event_id="evt-created-5435")
    created["event_data"].update(comment=None, score=6, updated_at=created["event_data"]["created_at"])
    created_body = json.dumps(created).encode()
    # Delighted does not promise order: the update arrives, then the older "created" event.
    for body in (json.dumps(updated).encode(), created_body):
        assert deliver(journey_client, source, body).status_code == 202
        drain(engine)
    (item,) = items(journey_client, admin_key)
    assert (item["score"], item["text"]) == (9.0, "Your service is fast and flawless!")
    # A promoter's praise is a compliment on its stage: placed, in no issue, and no issue was opened.
    assert item["state"] == "placed" and item["issue_id"] is None
    assert item["placement"]["grouping"]["method"] == "compliment"
    listed = journey_client.get("/api/v1/issues", headers={"Authorization": f"Bearer {admin_key}"})
    assert listed.json()["items"] == []

    # In order this time, for another response: created (score 3, no comment), then updated.
    created["event_data"].update(id="5436", score=3)
    created["event_id"] = "evt-created-5436"
    updated["event_data"].update(id="5436", score=3, comment="Box arrived warm")
    updated["event_id"] = "evt-updated-5436"
    for payload in (created, updated):
        assert deliver(journey_client, source, json.dumps(payload).encode()).status_code == 202
        drain(engine)
    found = {i["external_id"]: i for i in items(journey_client, admin_key)}
    assert set(found) == {"5435", "5436"}
    assert (found["5436"]["score"], found["5436"]["text"]) == (3.0, "Box arrived warm")
    issue = journey_client.get(
        f"/api/v1/issues/{found['5436']['issue_id']}", headers={"Authorization": f"Bearer {admin_key}"}
    ).json()
    assert issue["item_count"] == 1 and issue["detractor_count"] == 1  # the compliment is not in it


def test_zendesk_rating_changed_from_bad_to_good_updates_the_item(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(journey_client, admin_key, "zendesk")
    bad = SAMPLES_CSAT = payload_bytes("zendesk_csat_trigger.json")
    good = json.loads(SAMPLES_CSAT)
    good["satisfaction_rating"].update(
        score="Good", comment="Sorted in the end", updated_at="2026-11-22T18:30:00Z"
    )
    for n, body in enumerate((bad, json.dumps(good).encode())):
        assert deliver(journey_client, source, body, msg_id=f"m{n}").status_code == 202
        drain(engine)
    (item,) = items(journey_client, admin_key)
    assert (item["score"], item["text"], item["metadata"]["zendesk_rating"]) == (
        5.0,
        "Sorted in the end",
        "good",
    )
    issue = journey_client.get(
        f"/api/v1/issues/{item['issue_id']}", headers={"Authorization": f"Bearer {admin_key}"}
    ).json()
    assert issue["item_count"] == 1 and issue["detractor_count"] == 0
