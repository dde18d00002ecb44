"""Requests the OpenAPI document called valid and the API rightly refused: the document now says so,
and the API's answer is unchanged; or the API was wrong, and now accepts them (or says not found)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from app.core.openapi_strings import NO_NUL
from tests.support.api import auth

ISSUE_ITEM = {"source": "s", "external_id": "i-1", "text": "late box", "touchpoint": "first-box-nps"}


def _body_schema(client: TestClient, path: str, method: str) -> Draft202012Validator:
    document = client.get("/openapi.json").json()
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": document["components"]})


@pytest.mark.parametrize(
    ("path", "body", "valid"),
    [
        ("/api/v1/keys", {"name": "k", "scopes": [""]}, False),
        ("/api/v1/keys", {"name": "k", "scopes": ["read"]}, True),
        ("/api/v1/triage/bulk", {"items": [1]}, False),
        ("/api/v1/triage/bulk", {"items": [1], "stage": "buy", "issue": 1}, False),
        ("/api/v1/triage/bulk", {"items": [1], "stage": None, "issue": 1}, True),
        ("/api/v1/issues/{issue_id}/transitions", {"to": "declined"}, False),
        ("/api/v1/issues/{issue_id}/transitions", {"to": "declined", "reason": "  "}, False),
        ("/api/v1/issues/{issue_id}/transitions", {"to": "declined", "reason": "dupe"}, True),
        ("/api/v1/issues/{issue_id}/transitions", {"to": "acknowledged"}, True),
        ("/api/v1/sources", {"kind": "typeform", "name": "t", "secret": " "}, False),
        # A secret holds no NUL, like every other string.
        ("/api/v1/sources", {"kind": "typeform", "name": "t", "secret": "s\x00"}, False),
        # Letters beyond ASCII are not URL-safe characters, though str.isalnum calls them letters.
        (
            "/api/v1/sources",
            {
                "kind": "qualtrics",
                "name": "q",
                "secret": "é" * 24,
                "api_token": "t",
                "api_base_url": "https://a",
            },
            False,
        ),
        ("/api/v1/sources", {"kind": "standard", "name": "t", "secret": "whsec_!!"}, False),
        ("/api/v1/sources", {"kind": "standard", "name": "t", "secret": "whsec_c2VjcmV0"}, True),
        ("/api/v1/sources", {"kind": "qualtrics", "name": "q", "secret": "x" * 24, "api_token": "t"}, False),
        (
            "/api/v1/sources",
            {"kind": "typeform", "name": "t", "secret": "s", "api_base_url": "https://a"},
            False,
        ),
        (
            "/api/v1/integrations",
            {"name": "j", "vendor": "jira", "base_url": "jira", "email": "a@b", "api_token": "t"},
            False,
        ),
        (
            "/api/v1/integrations",
            {
                "name": "j",
                "vendor": "jira",
                "base_url": "https://x.atlassian.net",
                "email": "a@b",
                "api_token": "t",
                "enabled": 0,
            },
            False,
        ),
        (
            "/api/v1/integrations",
            {
                "name": "j",
                "vendor": "jira",
                "base_url": "https://x.atlassian.net",
                "email": "a@b",
                "api_token": "t",
            },
            True,
        ),
    ],
)
def test_the_document_says_what_the_api_accepts(
    journey_client: TestClient, admin_key: str, path: str, body: dict[str, Any], valid: bool
) -> None:
    method = "post"
    validator = _body_schema(journey_client, path, method)
    assert validator.is_valid(body) is valid
    if not valid:
        # The API's refusal stands: 422 naming a field.
        url = path.replace("{issue_id}", str(_issue(journey_client, admin_key)))
        resp = journey_client.post(url, json=body, headers=auth(admin_key))
        assert resp.status_code == 422, resp.text
        assert resp.json()["errors"], resp.text


def _issue(client: TestClient, key: str) -> int:
    resp = client.post("/api/v1/feedback", json=ISSUE_ITEM, headers=auth(key))
    assert resp.status_code in (200, 201), resp.text
    issue_id: int = resp.json()["issue_id"]
    return issue_id


def test_the_idempotency_key_header_states_its_bounds(journey_client: TestClient, admin_key: str) -> None:
    document = journey_client.get("/openapi.json").json()
    (header,) = [
        p
        for p in document["paths"]["/api/v1/feedback"]["post"]["parameters"]
        if p["name"] == "Idempotency-Key"
    ]
    bounds = [s for s in header["schema"].get("anyOf", [header["schema"]]) if s.get("type") == "string"]
    assert bounds == [{"type": "string", "minLength": 1, "maxLength": 255, "pattern": NO_NUL}]
    resp = journey_client.post(
        "/api/v1/feedback", json=ISSUE_ITEM, headers={**auth(admin_key), "Idempotency-Key": "k" * 256}
    )
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["header.Idempotency-Key"]


def test_a_stage_the_journey_lacks_is_not_found(journey_client: TestClient, admin_key: str) -> None:
    resp = journey_client.get("/api/v1/insights/stages/no-such-stage/metrics", headers=auth(admin_key))
    assert resp.status_code == 404, resp.text
    assert resp.json()["errors"] == [{"field": "path.stage", "message": "not a stage of the journey"}]
    known = journey_client.get("/api/v1/insights/stages/onboard/metrics", headers=auth(admin_key))
    assert known.status_code == 200, known.text


def test_create_operations_link_to_what_they_made(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    created = document["paths"]["/api/v1/feedback"]["post"]["responses"]["201"]["links"]
    assert created["GetFeedback"] == {
        "operationRef": "#/paths/~1api~1v1~1feedback~1{feedback_id}/get",
        "parameters": {"feedback_id": "$response.body#/id"},
        "description": "The stored item.",
    }
    for link in created.values():
        pointer = link["operationRef"].removeprefix("#/paths/")
        path, method = pointer.rsplit("/", 1)
        assert method in document["paths"][path.replace("~1", "/").replace("~0", "~")], link


def test_no_string_holds_a_nul_in_the_document_or_the_api(journey_client: TestClient, admin_key: str) -> None:
    document = journey_client.get("/openapi.json").json()
    (source,) = [p for p in document["paths"]["/api/v1/triage"]["get"]["parameters"] if p["name"] == "source"]
    assert {"type": "string", "pattern": NO_NUL} in source["schema"]["anyOf"]
    assert document["components"]["schemas"]["CommentIn"]["properties"]["text"]["pattern"] == NO_NUL
    resp = journey_client.get("/api/v1/triage?source=%00", headers=auth(admin_key))
    assert resp.status_code == 400
