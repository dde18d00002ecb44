from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import auth, make_key, settings_for


def item(n: int, **extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "source": "typeform",
        "external_id": f"resp-{n}",
        "text": "Payment page timed out",
        "score": 2,
        "scale": "csat",
        "touchpoint": "checkout-survey",
        "customer_ref": f"cust-{n % 3}",
        "occurred_at": "2026-11-01T10:00:00Z",
    }
    base.update(extra)
    return base


def test_item_with_mapped_touchpoint_is_placed(journey_client: TestClient, admin_key: str) -> None:
    resp = journey_client.post("/api/v1/feedback", json=item(1), headers=auth(admin_key))
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["state"] == "placed" and body["stage"] == "buy" and body["moment"] == "checkout"
    assert body["placement"]["method"] == "touchpoint"
    issue = journey_client.get(f"/api/v1/issues/{body['issue_id']}", headers=auth(admin_key)).json()
    assert issue["owner"] == "tom" and issue["teams"] == ["billing", "product", "web"]
    assert issue["item_count"] == 1 and issue["scores"] == [
        {"scale": "csat", "count": 1, "mean": 2.0, "detractors": 1, "promoters": 0}
    ]


def test_same_source_and_external_id_is_stored_once(journey_client: TestClient, admin_key: str) -> None:
    first = journey_client.post("/api/v1/feedback", json=item(1), headers=auth(admin_key))
    again = journey_client.post("/api/v1/feedback", json=item(1, text="changed"), headers=auth(admin_key))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and again.json()["text"] == "Payment page timed out"
    listed = journey_client.get("/api/v1/feedback", headers=auth(admin_key)).json()["items"]
    assert len(listed) == 1
    issue = journey_client.get(f"/api/v1/issues/{first.json()['issue_id']}", headers=auth(admin_key)).json()
    assert issue["item_count"] == 1


def test_idempotency_key_replays_and_refuses_other_body(journey_client: TestClient, admin_key: str) -> None:
    headers = {**auth(admin_key), "Idempotency-Key": "abc-123"}
    no_id = item(0)
    del no_id["external_id"]
    first = journey_client.post("/api/v1/feedback", json=no_id, headers=headers)
    again = journey_client.post("/api/v1/feedback", json=no_id, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = journey_client.post("/api/v1/feedback", json={**no_id, "text": "other"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert len(journey_client.get("/api/v1/feedback", headers=auth(admin_key)).json()["items"]) == 1


def test_bad_items_name_the_field(client: TestClient, admin_key: str) -> None:
    cases = [
        ({"source": "x", "text": "hi", "score": 11, "scale": "nps"}, "body", "from 0 to 10"),
        ({"source": "x", "text": "hi", "score": 3}, "body", "scale is missing"),
        ({"source": "x"}, "body", "text or a score"),
        ({"source": "x", "text": "a", "occurred_at": "2026-01-01T00:00:00"}, "occurred_at", "timezone"),
        ({"source": "", "text": "a"}, "source", "at least 1"),
        ({"source": "x", "text": "a", "colour": "red"}, "colour", "Extra inputs"),
    ]
    for body, field, words in cases:
        resp = client.post("/api/v1/feedback", json=body, headers=auth(admin_key))
        assert resp.status_code == 422, body
        assert resp.headers["content-type"].startswith("application/problem+json")
        errors = resp.json()["errors"]
        assert any(e["field"] == field and words.lower() in e["message"].lower() for e in errors), (
            body,
            errors,
        )


def test_unplaced_item_waits_in_triage_and_a_person_places_it(
    journey_client: TestClient, admin_key: str
) -> None:
    created = journey_client.post(
        "/api/v1/feedback",
        json=item(5, touchpoint=None, text="Got someone else's box"),
        headers=auth(admin_key),
    ).json()
    assert created["state"] == "triage" and created["issue_id"] is None
    queue = journey_client.get("/api/v1/triage", headers=auth(admin_key)).json()["items"]
    assert [q["id"] for q in queue] == [created["id"]]
    bad = journey_client.post(
        f"/api/v1/triage/{created['id']}", json={"stage": "nowhere"}, headers=auth(admin_key)
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "stage"
    placed = journey_client.post(
        f"/api/v1/triage/{created['id']}",
        json={"stage": "use", "moment": "delivery-day"},
        headers=auth(admin_key),
    )
    assert placed.status_code == 200, placed.text
    assert placed.json()["placement"]["method"] == "triage"
    assert journey_client.get("/api/v1/triage", headers=auth(admin_key)).json()["items"] == []
    issue = journey_client.get(f"/api/v1/issues/{placed.json()['issue_id']}", headers=auth(admin_key)).json()
    assert issue["stage"] == "use" and issue["item_count"] == 1


def test_batch_reports_each_item(journey_client: TestClient, admin_key: str) -> None:
    journey_client.post("/api/v1/feedback", json=item(1), headers=auth(admin_key))
    batch = [
        item(1),
        item(2),
        item(2),
        {"source": "typeform", "text": "x", "score": 99, "scale": "nps"},
        item(3),
    ]
    resp = journey_client.post("/api/v1/feedback/batch", json={"items": batch}, headers=auth(admin_key))
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["created"], out["duplicates"], out["rejected"]) == (2, 2, 1)
    statuses = [r["status"] for r in out["results"]]
    assert statuses == ["duplicate", "created", "duplicate", "rejected", "created"]
    assert out["results"][2]["id"] == out["results"][1]["id"]
    assert out["results"][3]["errors"][0]["field"].startswith("items[3]")
    issue_id = out["results"][1]["issue_id"]
    issue = journey_client.get(f"/api/v1/issues/{issue_id}", headers=auth(admin_key)).json()
    assert issue["item_count"] == 3 and issue["customer_count"] == 3


def test_batch_over_the_limit_is_refused(client: TestClient, admin_key: str) -> None:
    resp = client.post(
        "/api/v1/feedback/batch", json={"items": [item(i) for i in range(1001)]}, headers=auth(admin_key)
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "items"


def test_listing_filters_and_paginates(journey_client: TestClient, admin_key: str) -> None:
    items = [item(i, occurred_at=f"2026-11-{i + 1:02d}T10:00:00Z") for i in range(7)]
    items += [item(100, touchpoint="delivery-csat", source="delighted")]
    journey_client.post("/api/v1/feedback/batch", json={"items": items}, headers=auth(admin_key))
    h = auth(admin_key)
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, "stage": "buy", **({"cursor": cursor} if cursor else {})}
        page = journey_client.get("/api/v1/feedback", params=params, headers=h).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and len(set(seen)) == 7 and seen == sorted(seen, reverse=True)
    by_source = journey_client.get("/api/v1/feedback", params={"source": "delighted"}, headers=h).json()[
        "items"
    ]
    assert [i["stage"] for i in by_source] == ["use"]
    window = {"since": "2026-11-03T00:00:00Z", "until": "2026-11-05T00:00:00Z"}
    assert len(journey_client.get("/api/v1/feedback", params=window, headers=h).json()["items"]) == 2
    assert journey_client.get("/api/v1/feedback", params={"cursor": "garbage!"}, headers=h).status_code == 422


def test_oversized_body_is_413(engine: Engine) -> None:
    from app.main import create_app

    app = create_app(settings_for(engine, max_body_bytes=2000), engine)
    key = make_key(engine, ["admin"])
    with TestClient(app) as c:
        resp = c.post("/api/v1/feedback", json=item(1, text="x" * 5000), headers=auth(key))
        assert resp.status_code == 413
        assert resp.headers["content-type"].startswith("application/problem+json")
        # A chunked body carries no Content-Length: the limit must still hold.
        chunks = (b"x" * 1000 for _ in range(5))
        resp = c.post(
            "/api/v1/feedback", content=chunks, headers={**auth(key), "Content-Type": "application/json"}
        )
        assert resp.status_code == 413


def test_invalid_json_is_a_problem_not_a_500(client: TestClient, admin_key: str) -> None:
    resp = client.post(
        "/api/v1/feedback",
        content=b"{not json",
        headers={**auth(admin_key), "Content-Type": "application/json"},
    )
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_staff_checks_are_kept_apart_from_customers(journey_client: TestClient, admin_key: str) -> None:
    h = auth(admin_key)
    customer = journey_client.post("/api/v1/feedback", json=item(1, score=2), headers=h).json()
    staff = journey_client.post(
        "/api/v1/feedback", json=item(2, source="staff", score=1, customer_ref="employee-7"), headers=h
    ).json()
    assert staff["issue_id"] == customer["issue_id"]  # same problem, same issue: staff saw it too
    issue = journey_client.get(f"/api/v1/issues/{customer['issue_id']}", headers=h).json()
    assert issue["item_count"] == 2
    assert issue["customer_count"] == 1 and issue["detractor_count"] == 1
    summary = {"scale": "csat", "count": 1, "detractors": 1, "promoters": 0}
    assert issue["scores"] == [{**summary, "mean": 2.0}]
    assert issue["staff_scores"] == [{**summary, "mean": 1.0}]


def test_praise_is_placed_on_its_stage_and_joins_no_complaint_issue(
    journey_client: TestClient, admin_key: str
) -> None:
    h = auth(admin_key)
    complaint = journey_client.post("/api/v1/feedback", json=item(300), headers=h).json()
    praise = item(301, text="Checkout was quick and easy, loved it", score=5)
    body = journey_client.post("/api/v1/feedback", json=praise, headers=h).json()
    assert body["state"] == "placed" and (body["stage"], body["moment"]) == ("buy", "checkout")
    assert body["issue_id"] is None
    assert body["placement"]["grouping"]["method"] == "compliment"
    # A promoter who names a problem is a complaint, and joins the problem's issue.
    mixed = item(302, text="Loved the recipes but the payment page timed out", score=5)
    assert (
        journey_client.post("/api/v1/feedback", json=mixed, headers=h).json()["issue_id"]
        == complaint["issue_id"]
    )
    issue = journey_client.get(f"/api/v1/issues/{complaint['issue_id']}", headers=h).json()
    assert issue["item_count"] == 2  # the complaint and the mixed one; the praise is counted nowhere here
    placed = journey_client.get("/api/v1/feedback?stage=buy&state=placed", headers=h).json()["items"]
    assert body["id"] in [i["id"] for i in placed]
