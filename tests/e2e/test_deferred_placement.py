"""`SEAM_PLACEMENT=deferred`: the request stores, the worker places; the outcome is the one inline
ingest reaches, each item placed once, and nothing a person did meanwhile is undone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session, col

from app.intake import deferred
from app.intake.ingest import PLACE_KIND
from app.main import create_app
from app.outbox.models import OutboxMessage
from tests.support import databases
from tests.support.api import apply_example_journey, auth, make_key, settings_for
from tests.support.outbox import drain

ITEMS: list[dict[str, Any]] = [
    {"source": "survey", "external_id": "d1", "touchpoint": "delivery-csat", "score": 1, "scale": "csat",
     "text": "The box arrived two days late and the chicken was warm", "customer_ref": "c1",
     "persona": "family"},
    {"source": "survey", "external_id": "d2", "touchpoint": "delivery-csat", "score": 2, "scale": "csat",
     "text": "Late delivery again, the ice packs had melted", "customer_ref": "c2", "persona": "single"},
    {"source": "survey", "external_id": "d3", "touchpoint": "checkout-survey", "score": 2, "scale": "csat",
     "text": "Checkout refused my card three times", "customer_ref": "c3"},
    {"source": "survey", "external_id": "d4", "touchpoint": "delivery-csat", "score": 5, "scale": "csat",
     "text": "Lovely fresh vegetables, thank you", "customer_ref": "c4"},
    {"source": "survey", "external_id": "d5", "text": "zzz qqq", "customer_ref": "c5"},
]  # fmt: skip


@pytest.fixture
def deferred_client(engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings_for(engine, placement="deferred"), engine)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _placed(engine: Engine) -> dict[str, tuple[str, str | None, str | None]]:
    """Each item's state, stage and method, and which items share an issue (issues named by their
    smallest member, so two databases' ids compare)."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT external_id, state, stage, issue_id FROM feedback_items ORDER BY external_id")
        ).all()
    first: dict[int, str] = {}
    for r in rows:
        if r.issue_id is not None:
            first.setdefault(r.issue_id, r.external_id)
    return {r.external_id: (r.state, r.stage, first.get(r.issue_id)) for r in rows}


def _rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _facets(engine: Engine) -> list[tuple[str, bool, int]]:
    """The issues' kept facets, summed by persona and source (the board's filters read them)."""
    sql = "SELECT persona, staff, sum(item_count) FROM issue_facets GROUP BY persona, staff ORDER BY 1, 2"
    return [(p, bool(staff), int(n)) for p, staff, n in _rows(engine, sql)]


def _issue_counts(engine: Engine) -> list[tuple[str, int, int]]:
    """Each issue's stage, kept item count, and the count of its items."""
    real = "(SELECT count(*) FROM feedback_items f WHERE f.issue_id = i.id)"
    sql = f"SELECT i.stage, i.item_count, {real} FROM experience_issues i ORDER BY i.stage, i.item_count"
    return [(stage, int(kept), int(n)) for stage, kept, n in _rows(engine, sql)]


def test_deferred_items_are_stored_pending_then_placed_as_inline_ingest_places_them(
    engine: Engine, deferred_client: TestClient
) -> None:
    key = make_key(engine, ["admin"])
    apply_example_journey(deferred_client, key)
    resp = deferred_client.post("/api/v1/feedback/batch", json={"items": ITEMS}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["created"] == len(ITEMS)
    assert {(r["state"], r["issue_id"]) for r in body["results"]} == {("pending", None)}
    with Session(engine) as s:
        queued = select(func.count()).where(col(OutboxMessage.kind) == PLACE_KIND)
        assert s.execute(queued).scalar_one() == 1
    assert _issue_counts(engine) == []
    pending = deferred_client.get("/api/v1/feedback?state=pending", headers=auth(key))
    assert pending.status_code == 200 and len(pending.json()["items"]) == len(ITEMS)
    # A retry of the same batch is a duplicate of the pending items, not a second placement.
    again = deferred_client.post("/api/v1/feedback/batch", json={"items": ITEMS}, headers=auth(key))
    assert again.json()["duplicates"] == len(ITEMS)
    assert {r["state"] for r in again.json()["results"]} == {"pending"}

    drain(engine)
    later = _placed(engine)
    assert "pending" not in {state for state, _, _ in later.values()}
    counts = _issue_counts(engine)
    assert counts and all(kept == real for _, kept, real in counts)
    facets = _facets(engine)
    assert ("family", False, 1) in facets and ("single", False, 1) in facets

    # The same items, inline, into the same database emptied again: the same places and groups.
    databases.truncate_all(engine)
    with TestClient(create_app(settings_for(engine), engine)) as inline:
        key = make_key(engine, ["admin"])
        apply_example_journey(inline, key)
        assert (
            inline.post("/api/v1/feedback/batch", json={"items": ITEMS}, headers=auth(key)).status_code == 200
        )
    assert _placed(engine) == later
    assert _issue_counts(engine) == counts
    assert _facets(engine) == facets


def test_a_placement_delivered_twice_places_once_and_a_persons_routing_stands(
    engine: Engine, deferred_client: TestClient
) -> None:
    key = make_key(engine, ["admin"])
    apply_example_journey(deferred_client, key)
    one = deferred_client.post("/api/v1/feedback", json=ITEMS[0], headers=auth(key))
    assert one.status_code == 201, one.text
    assert (one.json()["state"], one.json()["issue_id"]) == ("pending", None)
    two = deferred_client.post("/api/v1/feedback", json=ITEMS[1], headers=auth(key)).json()
    # A person routes the second item before the worker gets to it.
    routed = deferred_client.post(
        f"/api/v1/feedback/{two['id']}/route",
        json={"stage": "get-help", "reason": "support"},
        headers=auth(key),
    )
    assert routed.status_code == 200, routed.text
    ids = [one.json()["id"], two["id"]]
    assert deferred.place_items(engine, ids) == 1
    assert deferred.place_items(engine, ids) == 0  # delivered again: nothing left pending
    drain(engine)  # the queued messages find nothing to do
    placed = _placed(engine)
    assert placed["d1"][0] == "placed" and placed["d1"][1] is not None and placed["d1"][2] == "d1"
    assert placed["d2"][1] == "get-help"
    counts = _issue_counts(engine)
    assert sum(kept for _, kept, _ in counts) == 2 and all(kept == real for _, kept, real in counts)
