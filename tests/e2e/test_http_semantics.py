"""HTTP semantics that schemathesis' full run found wanting: `Allow` on every 405, and 401 (or 403)
before any 422 about the input of an operation that needs a key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import auth, make_key


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        # Two routes share the path: Starlette alone named only the first one's method.
        ("OPTIONS", "/api/v1/keys", "GET, POST"),
        ("DELETE", "/api/v1/issues/1", "GET, PATCH"),
        ("PUT", "/api/v1/sources/1", "GET, PATCH, DELETE"),
        ("POST", "/api/v1/journey", "GET, PUT"),
        # Not the feedback item "batch": a 405 naming the one method served there, not a 422 about an id.
        ("GET", "/api/v1/feedback/batch", "POST"),
        ("GET", "/api/v1/triage/bulk", "POST"),
        ("PUT", "/healthz", "GET"),
    ],
)
def test_a_405_names_every_method_of_the_path(client: TestClient, method: str, path: str, allow: str) -> None:
    resp = client.request(method, path)
    assert resp.status_code == 405, resp.text
    assert resp.headers["allow"] == allow
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.json()["status"] == 405


def test_a_feedback_id_that_is_not_a_number_names_nothing(client: TestClient, admin_key: str) -> None:
    resp = client.get("/api/v1/feedback/abc", headers=auth(admin_key))
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")


BAD_INPUT = [
    # A body FastAPI cannot parse, before any dependency runs.
    ("POST", "/api/v1/feedback", {"content": "{not json", "headers": {"content-type": "application/json"}}),
    ("PUT", "/api/v1/routing/rules", {"content": "[", "headers": {"content-type": "application/json"}}),
    # A body of the wrong shape.
    ("POST", "/api/v1/feedback/batch", {"json": {"items": "none"}}),
    # An unknown query parameter, refused by an app-wide dependency that runs before `require`.
    ("GET", "/api/v1/issues", {"params": {"priority": "high"}}),
    # A malformed header the operation declares.
    ("POST", "/api/v1/feedback", {"json": {}, "headers": {"Idempotency-Key": "k" * 300}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), BAD_INPUT)
def test_bad_input_without_a_key_is_401_first(
    client: TestClient, method: str, path: str, kwargs: dict
) -> None:
    resp = client.request(method, path, **kwargs)
    assert resp.status_code == 401, resp.text
    assert resp.headers["www-authenticate"] == "Bearer"
    assert resp.json()["errors"] == []


@pytest.mark.parametrize(("method", "path", "kwargs"), BAD_INPUT)
def test_bad_input_with_a_wrong_key_is_401_first(
    client: TestClient, method: str, path: str, kwargs: dict
) -> None:
    headers = {**kwargs.get("headers", {}), **auth("seam_notarealkeyatall_000000000000")}
    resp = client.request(method, path, **{**kwargs, "headers": headers})
    assert resp.status_code == 401, resp.text


def test_bad_input_with_a_key_lacking_the_scope_is_403_first(client: TestClient, engine: Engine) -> None:
    key = make_key(engine, ["ingest"])
    resp = client.get("/api/v1/issues", params={"priority": "high"}, headers=auth(key))
    assert resp.status_code == 403, resp.text


@pytest.mark.parametrize(("method", "path", "kwargs"), BAD_INPUT)
def test_bad_input_with_a_valid_key_is_still_422_naming_the_field(
    client: TestClient, admin_key: str, method: str, path: str, kwargs: dict
) -> None:
    headers = {**kwargs.get("headers", {}), **auth(admin_key)}
    resp = client.request(method, path, **{**kwargs, "headers": headers})
    assert resp.status_code == 422, resp.text
    assert resp.json()["errors"], resp.text
