"""Each process keeps its own grouping index; it follows the database, so replicas see each other's issues."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.journey import service as journeys
from app.routing import index as routing
from app.routing import placement
from tests.support.api import example_journey

_ids = itertools.count(1)


class Replicas:
    """Switches the process-wide index cache, as if requests reached different processes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.caches: dict[str, dict[str, Any]] = {"a": {}, "b": {}}
        self.monkeypatch = monkeypatch

    def use(self, name: str) -> None:
        self.monkeypatch.setattr(routing, "PROCESS_INDEXES", self.caches[name])


def post(client: TestClient, key: str, text: str) -> dict[str, Any]:
    body = {"source": "app", "external_id": f"r-{next(_ids)}", "text": text, "touchpoint": "box-review"}
    resp = client.post("/api/v1/feedback", json=body, headers={"Authorization": f"Bearer {key}"})
    assert resp.status_code == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def test_replicas_see_each_others_issues_merges_and_moves(
    journey_client: TestClient, admin_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = {"Authorization": f"Bearer {admin_key}"}
    journey = example_journey()
    journey["routing"]["touchpoint_grouping"] = "similarity"
    assert journey_client.put("/api/v1/journey", json=journey, headers=h).status_code == 200
    replicas = Replicas(monkeypatch)
    replicas.use("a")
    avocado = post(journey_client, admin_key, "Avocados were rock hard, could not use them")
    replicas.use("b")  # b builds its index now, from the database
    fish = post(journey_client, admin_key, "The fish smelled bad when I opened it")
    assert fish["issue_id"] != avocado["issue_id"]
    replicas.use("a")  # a built its index before b's issue existed: it reads it incrementally
    assert post(journey_client, admin_key, "Fish smelled bad again")["issue_id"] == fish["issue_id"]
    replicas.use("b")
    assert post(journey_client, admin_key, "Avocados rock hard again")["issue_id"] == avocado["issue_id"]

    # a merges; b must send fish complaints to the surviving issue, not reopen the merged one.
    replicas.use("a")
    merged = journey_client.post(
        f"/api/v1/issues/{fish['issue_id']}/merge", json={"into": avocado["issue_id"]}, headers=h
    )
    assert merged.status_code == 200, merged.text
    replicas.use("b")
    assert (
        post(journey_client, admin_key, "Fish smelled bad, third week running")["issue_id"]
        == avocado["issue_id"]
    )

    # a declines the issue; b stops offering it and opens a fresh one.
    replicas.use("a")
    declined = journey_client.post(
        f"/api/v1/issues/{avocado['issue_id']}/transitions",
        json={"to": "declined", "reason": "supplier changed"},
        headers=h,
    )
    assert declined.status_code == 200, declined.text
    replicas.use("b")
    fresh = post(journey_client, admin_key, "The fish smelled bad")
    assert fresh["issue_id"] not in (avocado["issue_id"], fish["issue_id"])
    issue = journey_client.get(f"/api/v1/issues/{fresh['issue_id']}", headers=h).json()
    assert issue["status"] == "open" and issue["item_count"] == 1


def test_ids_committed_out_of_order_are_not_missed() -> None:
    tail = routing.Tail()
    tail.saw([1, 2, 5], now=0.0)  # 3 and 4 belong to transactions still open
    assert tail.top == 5 and set(tail.gaps) == {3, 4} and not tail.seen(3) and tail.seen(2)
    tail.saw([4], now=1.0)
    assert set(tail.gaps) == {3} and tail.seen(4)
    tail.expire(now=1000.0)  # 3 was rolled back: it stops being asked for
    assert tail.gaps == {} and tail.seen(3)


def test_an_issue_profile_stops_growing_at_the_cap(
    journey_client: TestClient, admin_key: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = {"Authorization": f"Bearer {admin_key}"}
    journey = example_journey()
    journey["routing"]["touchpoint_grouping"] = "similarity"
    assert journey_client.put("/api/v1/journey", json=journey, headers=h).status_code == 200
    monkeypatch.setattr(routing, "MAX_ITEMS_PER_ISSUE", 2)
    first = post(journey_client, admin_key, "The fish smelled bad when I opened it")
    for n in range(3):
        assert (
            post(journey_client, admin_key, f"Fish smelled bad again, week {n}")["issue_id"]
            == first["issue_id"]
        )
    with Session(engine) as session, routing.grouping(session, journeys.current(session)) as grouper:
        key = placement.index_key(first["stage"], first["placement"]["fingerprint"])
        assert key in grouper.index
        assert grouper.index.size(key) == 2
    issue = journey_client.get(f"/api/v1/issues/{first['issue_id']}", headers=h).json()
    assert issue["item_count"] == 4
