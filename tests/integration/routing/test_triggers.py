"""Moment-of-truth triggers: "3 contacts with support in 30 days" opens one issue per customer, exactly."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.main import create_app
from tests.support.api import auth, example_journey, make_key, settings_for
from tests.support.live import serve


def contact(n: int, customer: str, day: int, **extra: Any) -> dict[str, Any]:
    return {
        "source": "zendesk-csat",
        "external_id": f"t-{n}",
        "text": f"Still waiting on ticket {n}",
        "score": 1,
        "scale": "csat",
        "touchpoint": "support-csat",
        "customer_ref": customer,
        "occurred_at": f"2026-10-{day:02d}T12:00:00Z",
        **extra,
    }


def _trigger_issues(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT fingerprint, stage, moment, item_count, customer_count FROM experience_issues "
            "WHERE substr(fingerprint, 1, 8) = 'trigger:' ORDER BY fingerprint"
        ).all()
    return [tuple(r) for r in rows]


def test_third_contact_in_a_window_opens_the_moment_issue(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    h = auth(admin_key)

    def post(body: dict[str, Any]) -> dict[str, Any]:
        resp = journey_client.post("/api/v1/feedback", json=body, headers=h)
        assert resp.status_code == 201, resp.text
        out: dict[str, Any] = resp.json()
        return out

    first, second = post(contact(1, "alice", 1)), post(contact(2, "alice", 10))
    assert first["moment"] is None and second["moment"] is None
    # Another customer's contacts and alice's contact in another stage do not count.
    post(contact(3, "bob", 11))
    post(contact(4, "alice", 11, touchpoint="delivery-csat"))
    third = post(contact(5, "alice", 20))
    assert (third["stage"], third["moment"]) == ("get-help", "third-contact")
    why = third["placement"]["grouping"]
    assert why["method"] == "trigger" and why["count"] == 3 and why["fired"] is True
    assert sorted(why["evidence"]) == sorted([str(first["id"]), str(second["id"])])
    fourth = post(contact(6, "alice", 21))
    assert fourth["issue_id"] == third["issue_id"] and fourth["placement"]["grouping"]["fired"] is False
    moment_issue = journey_client.get(f"/api/v1/issues/{third['issue_id']}", headers=h).json()
    assert moment_issue["moment"] == "third-contact" and moment_issue["item_count"] == 2
    events = journey_client.get(f"/api/v1/issues/{third['issue_id']}/events", headers=h).json()["items"]
    assert [e["kind"] for e in events] == ["created", "trigger_fired"]
    assert events[1]["after"]["customer_ref"] == "alice" and events[1]["after"]["item_id"] == third["id"]
    # Outside the window: the 1st of October is more than 30 days before the 5th of November.
    late = post(contact(7, "bob", 28) | {"occurred_at": "2026-11-20T12:00:00Z"})
    assert late["moment"] is None
    assert _trigger_issues(engine) == [("trigger:third-contact:alice", "get-help", "third-contact", 2, 1)]


def test_concurrent_contacts_open_exactly_one_moment_issue_per_customer(pg_engine: Engine) -> None:
    key = make_key(pg_engine, ["admin"])
    app = create_app(settings_for(pg_engine), pg_engine)
    customers = [f"cust-{c}" for c in range(4)]
    # Six contacts each at the same time, so every one counts the others that committed before it.
    bodies = [contact(n, customers[n % 4], 5) for n in range(24)]
    with serve(app) as base, httpx.Client(base_url=base, headers=auth(key), timeout=60) as http:
        assert http.put("/api/v1/journey", json=example_journey()).status_code == 200
        with ThreadPoolExecutor(max_workers=24) as pool:
            responses = list(pool.map(lambda b: http.post("/api/v1/feedback", json=b), bodies))
    assert [r.status_code for r in responses] == [201] * 24, {
        r.text for r in responses if r.status_code != 201
    }
    # Whatever order they committed in, each customer's 3rd to 6th contacts are in its moment issue: counting
    # under the per-customer lock sees every earlier commit (without it, two could both count two).
    assert _trigger_issues(pg_engine) == [
        (f"trigger:third-contact:{c}", "get-help", "third-contact", 4, 1) for c in customers
    ]
    fired = [r.json() for r in responses if r.json()["moment"] == "third-contact"]
    assert len(fired) == 16
    with pg_engine.connect() as conn:
        n_fired = conn.exec_driver_sql(
            "SELECT count(*) FROM issue_events WHERE kind = 'trigger_fired'"
        ).scalar()
    assert n_fired == 4
