"""An ingest-only key (a survey tool's) re-posts a known (source, external_id) to read the stored item back.

Before: the duplicate answer carried the stored item whole (text, customer reference, metadata), though
ingest keys cannot read."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import auth, make_key

STORED = {
    "source": "typeform",
    "external_id": "resp-secret",
    "text": "My card number was shown to another customer",
    "score": 1,
    "scale": "csat",
    "customer_ref": "alice@example.com",
    "metadata": {"order": "A-991"},
}
PROBE = {"source": "typeform", "external_id": "resp-secret", "text": "probe"}
PRIVATE = ("card number", "alice@example.com", "A-991")


def test_a_duplicate_answer_to_an_ingest_key_says_only_id_and_status(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    stored = journey_client.post("/api/v1/feedback", json=STORED, headers=auth(admin_key))
    assert stored.status_code == 201
    ingest_key = make_key(engine, ["ingest"], "survey-tool")
    again = journey_client.post("/api/v1/feedback", json=PROBE, headers=auth(ingest_key))
    assert again.status_code == 200
    assert again.json() == {"id": stored.json()["id"], "status": "duplicate"}
    assert not any(secret in again.text for secret in PRIVATE)


def test_an_idempotent_retry_does_not_leak_either(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    journey_client.post("/api/v1/feedback", json=STORED, headers=auth(admin_key))
    ingest_key = make_key(engine, ["ingest"], "survey-tool")
    headers = {**auth(ingest_key), "Idempotency-Key": "k-1"}
    for _ in range(2):
        resp = journey_client.post("/api/v1/feedback", json=PROBE, headers=headers)
        assert resp.status_code == 200
        assert not any(secret in resp.text for secret in PRIVATE)


def test_a_key_that_reads_still_gets_the_stored_item(journey_client: TestClient, admin_key: str) -> None:
    journey_client.post("/api/v1/feedback", json=STORED, headers=auth(admin_key))
    again = journey_client.post("/api/v1/feedback", json=PROBE, headers=auth(admin_key))
    assert again.status_code == 200
    assert again.json()["text"] == STORED["text"]


def test_a_batch_answer_names_no_stored_content(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    journey_client.post("/api/v1/feedback", json=STORED, headers=auth(admin_key))
    ingest_key = make_key(engine, ["ingest"], "survey-tool")
    resp = journey_client.post("/api/v1/feedback/batch", json={"items": [PROBE]}, headers=auth(ingest_key))
    assert resp.status_code == 200
    assert resp.json()["results"][0]["status"] == "duplicate"
    assert not any(secret in resp.text for secret in PRIVATE)
