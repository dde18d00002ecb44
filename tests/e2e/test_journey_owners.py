"""Owners that exist: a journey that drops a stage (or a person) with open issues is refused, naming the
issues; with `reassign` it moves them, each with an event."""

from __future__ import annotations

import copy
from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import auth, example_journey


def _issue(client: TestClient, key: str, n: int, touchpoint: str) -> int:
    body = {
        "source": "survey",
        "external_id": f"o-{n}",
        "text": "Charged twice on my first bill",
        "score": 1,
        "scale": "nps",
        "touchpoint": touchpoint,
        "customer_ref": f"c{n}",
    }
    resp = client.post("/api/v1/feedback", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["issue_id"])


def _without_stage(data: dict[str, Any], stage: str) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["stages"] = [s for s in out["stages"] if s["key"] != stage]
    out["touchpoints"] = [t for t in out.get("touchpoints", []) if t["stage"] != stage]
    out["rules"] = [r for r in out.get("rules", []) if r.get("stage") != stage]
    for metric in out.get("metrics", []):
        metric["stages"] = [s for s in metric.get("stages", []) if s != stage]
    out["metrics"] = [m for m in out.get("metrics", []) if m["stages"]]
    out["checks"] = [c for c in out.get("checks", []) if c.get("stage") != stage]
    return out


def test_dropping_a_stage_with_open_issues_is_refused_then_reassigned(
    journey_client: TestClient, admin_key: str
) -> None:
    h = auth(admin_key)
    issue_id = _issue(journey_client, admin_key, 1, "invoice-email")  # stage "pay"
    data = _without_stage(example_journey(), "pay")

    refused = journey_client.put("/api/v1/journey", json=data, headers=h)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["issues"] == [issue_id]
    assert any(e["field"] == "reassign" and f"EI-{issue_id}" in e["message"] for e in body["errors"])
    assert journey_client.get(f"/api/v1/issues/{issue_id}", headers=h).json()["stage"] == "pay"

    bad = journey_client.put("/api/v1/journey", json={**data, "reassign": {"pay": "nowhere"}}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "reassign.pay"

    moved = journey_client.put("/api/v1/journey", json={**data, "reassign": {"pay": "get-help"}}, headers=h)
    assert moved.status_code in (200, 201), moved.text
    issue = journey_client.get(f"/api/v1/issues/{issue_id}", headers=h).json()
    assert (issue["stage"], issue["owner"], issue["moment"]) == ("get-help", "amara", None)
    events = journey_client.get(f"/api/v1/issues/{issue_id}/events", headers=h).json()["items"]
    (event,) = [e for e in events if e["kind"] == "reassigned"]
    assert event["before"]["stage"] == "pay" and event["after"] == {
        "stage": "get-help",
        "moment": None,
        "owner": "amara",
    }
    assert "reassign" not in journey_client.get("/api/v1/journey", headers=h).json()


def test_dropping_an_issues_owner_needs_a_reassign(journey_client: TestClient, admin_key: str) -> None:
    h = auth(admin_key)
    issue_id = _issue(journey_client, admin_key, 2, "invoice-email")
    handed = journey_client.patch(f"/api/v1/issues/{issue_id}", json={"owner": "lee"}, headers=h)
    assert handed.status_code == 200, handed.text
    data = copy.deepcopy(example_journey())
    data["people"] = [p for p in data["people"] if p["id"] != "lee"]
    for team in data.get("teams", []):
        team["members"] = sorted({"tom" if m == "lee" else m for m in team.get("members", [])})
    for stage in data["stages"]:
        assert stage["owner"] != "lee" and stage.get("sponsor") != "lee"
    refused = journey_client.put("/api/v1/journey", json=data, headers=h)
    assert refused.status_code == 422 and refused.json()["issues"] == [issue_id]
    moved = journey_client.put("/api/v1/journey", json={**data, "reassign": {"lee": "ravi"}}, headers=h)
    assert moved.status_code in (200, 201), moved.text
    assert journey_client.get(f"/api/v1/issues/{issue_id}", headers=h).json()["owner"] == "ravi"
