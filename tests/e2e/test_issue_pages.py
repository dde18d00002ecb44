"""Issue listings page by keyset: a page boundary stays put while issues change between requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert

from app.core.clock import utcnow
from app.issues.models import ExperienceIssue
from tests.support.api import auth

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]


def _issues(engine: Engine, rows: list[tuple[int, float, int | None]]) -> None:
    """(id, impact, last seen minutes ago or None); created in id order, a minute apart."""
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(
            insert(ISSUES),
            [
                dict(id=i, title=f"issue {i}", stage="pay", fingerprint=f"f{i}", status="open", owner="maya",
                     impact=impact, created_at=now - timedelta(minutes=100 - i),
                     last_seen=None if seen is None else now - timedelta(minutes=seen), updated_at=now)
                for i, impact, seen in rows
            ],
        )  # fmt: skip


def _walk(client: TestClient, key: str, sort: str, limit: int) -> list[int]:
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"sort": sort, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/issues", params=params, headers=auth(key)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return seen


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("impact", [3, 5, 4, 2, 1, 6]),  # ties (2 and 4 at 5.0) newest id first
        ("age", [1, 2, 3, 4, 5, 6]),
        ("recent", [4, 1, 2, 3, 6, 5]),  # never seen (5, 6) last, newest id first
    ],
)
def test_every_sort_walks_each_issue_once_in_order(
    engine: Engine, client: TestClient, admin_key: str, sort: str, expected: list[int]
) -> None:
    _issues(engine, [(1, 1.0, 5), (2, 5.0, 10), (3, 9.0, 20), (4, 5.0, 1), (5, 7.0, None), (6, 0.5, None)])
    for limit in (1, 2, 4):
        assert _walk(client, admin_key, sort, limit) == expected


def test_a_new_issue_ahead_of_the_cursor_does_not_repeat_a_row(
    engine: Engine, client: TestClient, admin_key: str
) -> None:
    _issues(engine, [(1, 3.0, 1), (2, 2.0, 1), (3, 1.0, 1)])
    h = auth(admin_key)
    first = client.get("/api/v1/issues", params={"limit": 1}, headers=h).json()
    assert [i["id"] for i in first["items"]] == [1]
    _issues(engine, [(4, 10.0, 1)])  # ranks above the page already read
    second = client.get("/api/v1/issues", params={"limit": 1, "cursor": first["next_cursor"]}, headers=h)
    assert [i["id"] for i in second.json()["items"]] == [2]


@pytest.mark.parametrize("cursor", ["nonsense", "b2ZmOjE", "WyJhZ2UiLDEuMCwxXQ"])
def test_a_cursor_not_given_out_for_this_sort_is_refused_by_name(
    client: TestClient, admin_key: str, cursor: str
) -> None:
    resp = client.get("/api/v1/issues", params={"cursor": cursor}, headers=auth(admin_key))
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["errors"][0]["field"] == "query.cursor"
