"""Unknown query parameters on the API are refused with 422 naming them, not silently ignored."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.api import auth


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/api/v1/feedback", "customer_ref"),
        ("/api/v1/issues", "priority"),
        ("/api/v1/triage", "stag"),
        ("/api/v1/outbox", "kind"),
    ],
)
def test_an_unknown_filter_is_refused_by_name(
    journey_client: TestClient, admin_key: str, path: str, param: str
) -> None:
    resp = journey_client.get(path, params={param: "x"}, headers=auth(admin_key))
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in resp.json()["errors"]] == [param]


def test_known_filters_still_work(journey_client: TestClient, admin_key: str) -> None:
    resp = journey_client.get(
        "/api/v1/feedback", params={"stage": "pay", "limit": 5}, headers=auth(admin_key)
    )
    assert resp.status_code == 200, resp.text
