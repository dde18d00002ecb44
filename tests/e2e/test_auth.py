from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import auth, make_key

ITEM = {"source": "survey", "external_id": "r-1", "text": "Checkout timed out", "score": 2, "scale": "csat"}


def test_no_key_is_401_problem(client: TestClient) -> None:
    resp = client.get("/api/v1/feedback")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["status"] == 401


def test_wrong_key_is_401(client: TestClient) -> None:
    resp = client.get("/api/v1/issues", headers=auth("seam_notarealkeyatall_000000000000"))
    assert resp.status_code == 401


def test_ingest_only_key_cannot_read_back(client: TestClient, engine: Engine) -> None:
    key = make_key(engine, ["ingest"])
    assert client.post("/api/v1/feedback", json=ITEM, headers=auth(key)).status_code == 201
    for path in ("/api/v1/feedback", "/api/v1/issues", "/api/v1/triage", "/api/v1/feedback/1"):
        resp = client.get(path, headers=auth(key))
        assert resp.status_code == 403, path
        assert "read" in resp.json()["detail"]


def test_read_key_cannot_ingest_or_manage(client: TestClient, engine: Engine) -> None:
    key = make_key(engine, ["read"])
    assert client.post("/api/v1/feedback", json=ITEM, headers=auth(key)).status_code == 403
    assert client.put("/api/v1/journey", json={}, headers=auth(key)).status_code == 403
    assert client.get("/api/v1/feedback", headers=auth(key)).status_code == 200


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    # The default install groups on the sentence encoder, and the body says which files it checked.
    assert ready["grouping"]["index"] == "vectors", ready
    assert ready["grouping"]["encoder"]["loaded"] is True
    assert len(ready["grouping"]["encoder"]["model_sha256"]) == 64


def test_changes_record_the_key(client: TestClient, engine: Engine) -> None:
    key = make_key(engine, ["admin"], "survey-bot")
    created = client.post("/api/v1/feedback", json=ITEM, headers=auth(key)).json()
    from sqlmodel import Session

    from app.auth.models import ApiKey
    from app.feedback.models import FeedbackItem

    with Session(engine) as s:
        item = s.get(FeedbackItem, created["id"])
        assert item is not None and item.created_by_key_id is not None
        holder = s.get(ApiKey, item.created_by_key_id)
        assert holder is not None and holder.name == "survey-bot"
