from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api import auth


def _post(client: TestClient, key: str, n: int, touchpoint: str, customer: str, score: int = 1) -> dict:
    body = {
        "source": "survey",
        "external_id": f"r{n}",
        "text": f"problem {n}",
        "score": score,
        "scale": "csat",
        "touchpoint": touchpoint,
        "customer_ref": customer,
    }
    resp = client.post("/api/v1/feedback", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_lifecycle_moves_and_refusals(journey_client: TestClient, admin_key: str) -> None:
    issue_id = _post(journey_client, admin_key, 1, "delivery-csat", "c1")["issue_id"]
    h = auth(admin_key)
    url = f"/api/v1/issues/{issue_id}/transitions"
    bad = journey_client.post(url, json={"to": "confirmed"}, headers=h)
    assert bad.status_code == 409
    assert bad.json()["allowed"] == ["acknowledged", "declined", "fixing"]
    assert bad.json()["errors"][0]["field"] == "to"
    for to in ("acknowledged", "fixing", "fix_shipped"):
        resp = journey_client.post(url, json={"to": to, "reason": f"moving to {to}"}, headers=h)
        assert resp.status_code == 200, resp.text
        assert resp.json()["status"] == to
    no_reason = journey_client.post(url, json={"to": "reopened"}, headers=h)
    assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
    assert (
        journey_client.post(url, json={"to": "reopened", "reason": "came back"}, headers=h).status_code == 200
    )
    assert journey_client.post(url, json={"to": "nonsense"}, headers=h).status_code == 422
    events = journey_client.get(f"/api/v1/issues/{issue_id}/events", headers=h).json()["items"]
    assert [e["kind"] for e in events] == ["created"] + ["transition"] * 4
    last = events[-1]
    assert last["before"] == {"status": "fix_shipped"} and last["after"] == {"status": "reopened"}
    assert last["reason"] == "came back" and last["actor"] == "key:test-admin"


def test_closed_issue_frees_its_fingerprint(journey_client: TestClient, admin_key: str) -> None:
    h = auth(admin_key)
    first = _post(journey_client, admin_key, 1, "delivery-csat", "c1")["issue_id"]
    journey_client.post(
        f"/api/v1/issues/{first}/transitions", json={"to": "declined", "reason": "by design"}, headers=h
    )
    second = _post(journey_client, admin_key, 2, "delivery-csat", "c2")["issue_id"]
    assert second != first


def test_merge_moves_items_and_keeps_counts_exact(journey_client: TestClient, admin_key: str) -> None:
    h = auth(admin_key)
    a_items = [_post(journey_client, admin_key, n, "delivery-csat", f"c{n % 2}") for n in range(3)]
    b_items = [_post(journey_client, admin_key, n, "box-review", f"c{n % 3}", score=5) for n in range(10, 14)]
    a, b = a_items[0]["issue_id"], b_items[0]["issue_id"]
    resp = journey_client.post(
        f"/api/v1/issues/{b}/merge", json={"into": a, "reason": "same courier"}, headers=h
    )
    assert resp.status_code == 200, resp.text
    merged = resp.json()
    assert merged["id"] == a and merged["item_count"] == 7
    # customers c0, c1 (from a) and c0, c1, c2 (from b): three distinct
    assert merged["customer_count"] == 3 and merged["detractor_count"] == 3
    gone = journey_client.get(f"/api/v1/issues/{b}", headers=h).json()
    assert gone["status"] == "merged" and gone["merged_into_id"] == a and gone["item_count"] == 0
    items = journey_client.get("/api/v1/feedback", params={"issue": a}, headers=h).json()["items"]
    assert len(items) == 7
    again = journey_client.post(f"/api/v1/issues/{b}/merge", json={"into": a}, headers=h)
    assert again.status_code == 409
    self_merge = journey_client.post(f"/api/v1/issues/{a}/merge", json={"into": a}, headers=h)
    assert self_merge.status_code == 422
    kinds = [e["kind"] for e in journey_client.get(f"/api/v1/issues/{a}/events", headers=h).json()["items"]]
    # Priority is weighed as evidence arrives, so a rise may sit between them.
    assert [k for k in kinds if k != "priority_raised"] == ["created", "absorbed"]
    # New feedback of b's kind now opens a fresh issue: the merged one takes no more items.
    assert _post(journey_client, admin_key, 99, "box-review", "c9")["issue_id"] not in (a, b)


def test_list_filters_and_sorts(journey_client: TestClient, admin_key: str) -> None:
    h = auth(admin_key)
    for n in range(3):
        _post(journey_client, admin_key, n, "invoice-email", f"c{n}")
    _post(journey_client, admin_key, 10, "recipe-rating", "c1", score=4)
    issues = journey_client.get("/api/v1/issues", headers=h).json()["items"]
    assert [i["stage"] for i in issues] == ["pay", "use"]  # by impact
    assert [
        i["stage"]
        for i in journey_client.get("/api/v1/issues", params={"team": "billing"}, headers=h).json()["items"]
    ] == ["pay"]
    assert [
        i["owner"]
        for i in journey_client.get("/api/v1/issues", params={"owner": "maya"}, headers=h).json()["items"]
    ] == ["maya"]
    assert journey_client.get("/api/v1/issues", params={"status": "fixing"}, headers=h).json()["items"] == []
    page = journey_client.get("/api/v1/issues", params={"limit": 1, "sort": "age"}, headers=h).json()
    assert page["next_cursor"] and len(page["items"]) == 1
    rest = journey_client.get(
        "/api/v1/issues", params={"limit": 1, "sort": "age", "cursor": page["next_cursor"]}, headers=h
    )
    assert rest.json()["items"][0]["id"] != page["items"][0]["id"]
    assert journey_client.get("/api/v1/issues/999999", headers=h).status_code == 404
