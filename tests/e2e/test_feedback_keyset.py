"""Keyset pages of `GET /api/v1/feedback` in each sort: no page overlaps another and none skips an item,
even while items are stored between the pages; a cursor only works in the sort that gave it out."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import auth

# Several items share an instant, so the id must break the tie for a page boundary to fall between them.
OCCURRED = ["2026-11-05", "2026-11-02", "2026-11-05", "2026-11-09", "2026-11-02", "2026-11-05", "2026-11-01"]


def _item(n: int, day: str, hour: int = 10) -> dict[str, object]:
    return {
        "source": "typeform",
        "external_id": f"k-{n}",
        "text": "Payment page timed out",
        "score": 2,
        "scale": "csat",
        "touchpoint": "checkout-survey",
        "customer_ref": f"cust-{n}",
        "occurred_at": f"{day}T{hour:02d}:00:00Z",
    }


def _store(client: TestClient, key: str, items: list[dict[str, object]]) -> None:
    resp = client.post("/api/v1/feedback/batch", json={"items": items}, headers=auth(key))
    assert resp.status_code in (200, 201, 207), resp.text


def _walk(
    client: TestClient, key: str, sort: str, between: list[list[dict[str, object]]]
) -> list[dict[str, Any]]:
    """Every page of the listing, storing the next batch of `between` after each page."""
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 2, "sort": sort, "stage": "buy", **({"cursor": cursor} if cursor else {})}
        resp = client.get("/api/v1/feedback", params=params, headers=auth(key))
        assert resp.status_code == 200, resp.text
        page = resp.json()
        seen += page["items"]
        if between:
            _store(client, key, between.pop(0))
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def test_occurred_pages_neither_overlap_nor_skip_while_items_arrive(
    journey_client: TestClient, admin_key: str
) -> None:
    _store(journey_client, admin_key, [_item(n, day) for n, day in enumerate(OCCURRED)])
    h = auth(admin_key)
    before = journey_client.get("/api/v1/feedback", params={"limit": 500}, headers=h).json()["items"]
    assert len(before) == len(OCCURRED)
    # Newer than every page (never shown), and older than every cursor (shown on a later page).
    arriving = [[_item(100, "2026-11-30")], [_item(101, "2026-10-01"), _item(102, "2026-11-05", 10)]]
    seen = _walk(journey_client, admin_key, "occurred", arriving)
    ids = [i["id"] for i in seen]
    assert len(ids) == len(set(ids)), "a page repeated an item"
    assert {i["id"] for i in before} <= set(ids), "a page skipped an item"
    order = [(i["occurred_at"], i["id"]) for i in seen]
    assert order == sorted(order, reverse=True)
    assert "k-100" not in {i["external_id"] for i in seen}
    # Stored after the walk passed their place in the order: behind the cursor, so not shown.
    assert "k-102" not in {i["external_id"] for i in seen}
    assert "k-101" in {i["external_id"] for i in seen}


def test_newest_pages_neither_overlap_nor_skip_while_items_arrive(
    journey_client: TestClient, admin_key: str
) -> None:
    _store(journey_client, admin_key, [_item(n, day) for n, day in enumerate(OCCURRED)])
    h = auth(admin_key)
    before = {i["id"] for i in journey_client.get("/api/v1/feedback", headers=h).json()["items"]}
    arriving = [[_item(200 + n, "2026-11-0" + str(n + 1))] for n in range(3)]
    seen = _walk(journey_client, admin_key, "newest", arriving)
    ids = [i["id"] for i in seen]
    assert len(ids) == len(set(ids)) and set(ids) == before
    assert ids == sorted(ids, reverse=True)


def test_a_cursor_works_only_in_its_own_sort(journey_client: TestClient, admin_key: str) -> None:
    _store(journey_client, admin_key, [_item(n, day) for n, day in enumerate(OCCURRED)])
    h = auth(admin_key)
    for sort, other in (("occurred", "newest"), ("newest", "occurred")):
        cursor = journey_client.get("/api/v1/feedback", params={"limit": 2, "sort": sort}, headers=h).json()[
            "next_cursor"
        ]
        assert cursor
        resp = journey_client.get("/api/v1/feedback", params={"sort": other, "cursor": cursor}, headers=h)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in resp.json()["errors"]] == ["query.cursor"]
    resp = journey_client.get("/api/v1/feedback", params={"sort": "score"}, headers=h)
    assert resp.status_code == 422 and "sort" in resp.json()["errors"][0]["field"]


def test_a_window_pages_by_when_customers_spoke_unless_asked_otherwise(
    journey_client: TestClient, admin_key: str
) -> None:
    _store(journey_client, admin_key, [_item(n, day) for n, day in enumerate(OCCURRED)])
    h = auth(admin_key)
    window = {"since": "2026-11-02T00:00:00Z", "until": "2026-11-06T00:00:00Z"}
    got = journey_client.get("/api/v1/feedback", params=window, headers=h).json()["items"]
    order = [(i["occurred_at"], i["id"]) for i in got]
    assert len(got) == 5 and order == sorted(order, reverse=True)
    as_stored = journey_client.get("/api/v1/feedback", params={**window, "sort": "newest"}, headers=h).json()
    ids = [i["id"] for i in as_stored["items"]]
    assert sorted(ids, reverse=True) == ids and set(ids) == {i["id"] for i in got}
