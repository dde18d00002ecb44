"""Values JSON allows but Seam cannot store or answer with: each is refused for its own item, naming the
field, and nothing is stored half-way.

Before: NaN, Infinity, 1e400 or a lone surrogate in metadata gave 500 on SQLite with the item stored
(and every retry 500); on PostgreSQL one such item failed its whole batch; dates near year 1 or 9999 with
an offset gave 500; metadata nested ~255 deep gave 500; a NUL in one item's text rejected its batch."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import auth

GOOD = {"source": "survey", "text": "The box arrived late", "score": 3, "scale": "nps"}


def _deep(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"d": value}
    return value


# Raw JSON bodies: the standard library writes NaN and Infinity, but a surrogate must be written escaped.
HOSTILE_RAW = {
    "nan": ('"metadata": {"x": NaN}', "metadata"),
    "infinity": ('"metadata": {"x": Infinity}', "metadata"),
    "minus infinity": ('"metadata": {"x": [1, -Infinity]}', "metadata"),
    "1e400": ('"metadata": {"x": 1e400}', "metadata"),
    "lone surrogate in metadata": ('"metadata": {"x": "\\ud800"}', "metadata"),
    "lone surrogate in a key": ('"metadata": {"\\udfff": 1}', "metadata"),
    "lone surrogate in text": ('"text": "late \\ud83d box"', "text"),
    "NUL in text": ('"text": "late\\u0000box"', "text"),
    "year 1 with an offset": ('"occurred_at": "0001-01-01T00:30:00+01:00"', "occurred_at"),
    "year 9999 with an offset": ('"occurred_at": "9999-12-31T23:30:00-01:00"', "occurred_at"),
}


def _raw_item(n: int, fragment: str) -> str:
    head = f'"source": "survey", "external_id": "h-{n}", "text": "The box arrived late"'
    return "{" + head + ', "score": 3, "scale": "nps", ' + fragment + "}"


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM feedback_items").scalar() or 0)


@pytest.mark.parametrize("case", sorted(HOSTILE_RAW))
def test_a_single_post_is_refused_naming_the_field_and_nothing_is_stored(
    journey_client: TestClient, admin_key: str, engine: Engine, case: str
) -> None:
    fragment, field = HOSTILE_RAW[case]
    body = _raw_item(1, fragment).replace(', "text": "The box arrived late"', "") if field == "text" else None
    raw = body or _raw_item(1, fragment)
    headers = {**auth(admin_key), "Content-Type": "application/json"}
    for _ in range(2):  # a retry gets the same answer
        resp = journey_client.post("/api/v1/feedback", content=raw.encode(), headers=headers)
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"] == "application/problem+json"
        assert any(e["field"].startswith(field) for e in resp.json()["errors"]), resp.json()
    assert _count(engine) == 0


def test_one_bad_item_in_a_batch_is_rejected_alone(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    cases = sorted(HOSTILE_RAW)
    items = [_raw_item(i, HOSTILE_RAW[c][0]) for i, c in enumerate(cases)]
    items.insert(3, _raw_item(100, '"metadata": {"fine": 1.5}'))
    items.append(_raw_item(101, '"metadata": {"fine": "ok"}'))
    raw = '{"items": [' + ", ".join(items) + "]}"
    headers = {**auth(admin_key), "Content-Type": "application/json"}
    resp = journey_client.post("/api/v1/feedback/batch", content=raw.encode(), headers=headers)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["created"], out["rejected"]) == (2, len(cases))
    statuses = [r["status"] for r in out["results"]]
    assert statuses.count("created") == 2
    for r in out["results"]:
        if r["status"] == "rejected":
            assert r["errors"] and r["errors"][0]["field"].startswith(f"items[{r['index']}]")
    assert _count(engine) == 2


@pytest.mark.parametrize("levels", [40, 300, 2000, 100_000])
def test_metadata_nested_past_the_limit_is_refused(
    journey_client: TestClient, admin_key: str, engine: Engine, levels: int
) -> None:
    # Written by hand: the standard library's encoder itself refuses to go this deep.
    deep = '{"d": ' * levels + "{}" + "}" * levels
    raw = '{"source": "survey", "text": "The box arrived late", "metadata": ' + deep + "}"
    headers = {**auth(admin_key), "Content-Type": "application/json"}
    resp = journey_client.post("/api/v1/feedback", content=raw.encode(), headers=headers)
    assert resp.status_code in (400, 422), resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    assert _count(engine) == 0


def test_metadata_within_the_limit_is_stored(journey_client: TestClient, admin_key: str) -> None:
    resp = journey_client.post(
        "/api/v1/feedback", json={**GOOD, "metadata": _deep(10)}, headers=auth(admin_key)
    )
    assert resp.status_code == 201, resp.text


@pytest.mark.parametrize(
    "since", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"], ids=["year-1", "year-9999"]
)
def test_extreme_dates_in_filters_are_refused(journey_client: TestClient, admin_key: str, since: str) -> None:
    resp = journey_client.get("/api/v1/feedback", params={"since": since}, headers=auth(admin_key))
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"][0]["field"] == "query.since"


def test_dates_at_the_edges_that_fit_are_stored(journey_client: TestClient, admin_key: str) -> None:
    for n, when in enumerate(["0001-01-01T01:00:00+01:00", "9999-12-31T22:00:00-01:00"]):
        body = {**GOOD, "external_id": f"edge-{n}", "occurred_at": when}
        resp = journey_client.post("/api/v1/feedback", json=body, headers=auth(admin_key))
        assert resp.status_code == 201, resp.text


@pytest.mark.parametrize("name", ["\\u0000x", "\\ud800x"], ids=["NUL", "surrogate"])
def test_an_unknown_field_whose_name_cannot_be_stored_is_rejected_alone(
    journey_client: TestClient, admin_key: str, engine: Engine, name: str
) -> None:
    bad = _raw_item(1, f'"{name}": 1')
    raw = '{"items": [' + bad + ", " + _raw_item(2, '"metadata": {}') + "]}"
    headers = {**auth(admin_key), "Content-Type": "application/json", "Idempotency-Key": "k"}
    for _ in range(2):
        resp = journey_client.post("/api/v1/feedback/batch", content=raw.encode(), headers=headers)
        assert resp.status_code == 200, resp.text
        assert [r["status"] for r in resp.json()["results"]] == ["rejected", "created"]
    assert _count(engine) == 1
