"""SurveyMonkey: the docs' thin event signed with HMAC-SHA1, then a real HTTP fetch of the answers."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from integrations.signatures import WebhookSignatureError, sign_surveymonkey
from integrations.surveys import FETCHERS, FetchError, FetchRef, MappingError, surveymonkey

from ._support import LoopbackServer, example_bytes, payload_bytes

EVENT = example_bytes("surveymonkey_response_completed.json")
DETAILS = payload_bytes("surveymonkey_response_details.json")
CLIENT_ID, CLIENT_SECRET = "sm_client_Yq8", "sm_secret_4hv2"
SECRET = f"{CLIENT_ID}&{CLIENT_SECRET}"
NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
DETAILS_PATH = "/v3/surveys/123456789/responses/123456/details?simple=true"


def test_signed_event_verifies_whatever_the_content_type() -> None:
    headers = {
        **sign_surveymonkey(EVENT, CLIENT_ID, CLIENT_SECRET),
        "Content-Type": surveymonkey.CONTENT_TYPE,
    }
    surveymonkey.verify(EVENT, headers, SECRET, NOW)
    assert surveymonkey.parse_body(EVENT)["event_id"] == "123456789"


@pytest.mark.parametrize(
    "body,headers,reason",
    [
        (
            EVENT.replace(b"123456", b"123457", 1),
            sign_surveymonkey(EVENT, CLIENT_ID, CLIENT_SECRET),
            "mismatch",
        ),
        (EVENT, sign_surveymonkey(EVENT, CLIENT_ID, "wrong"), "mismatch"),
        (EVENT, sign_surveymonkey(EVENT, "someone_else", CLIENT_SECRET), "mismatch"),
        (EVENT, {"Sm-Apikey": CLIENT_ID}, "missing"),
    ],
)
def test_bad_signatures(body: bytes, headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookSignatureError) as info:
        surveymonkey.verify(body, headers, SECRET, NOW)
    assert info.value.reason == reason


def test_secret_must_hold_client_id_and_secret() -> None:
    with pytest.raises(ValueError, match="client_id"):
        surveymonkey.verify(EVENT, sign_surveymonkey(EVENT, CLIENT_ID, CLIENT_SECRET), CLIENT_SECRET, NOW)


def test_thin_event_asks_for_a_fetch() -> None:
    delivery = surveymonkey.describe({}, EVENT, surveymonkey.parse_body(EVENT))
    assert delivery.model_dump() == {
        "kind": "surveymonkey",
        "delivery_id": "123456789",
        "event_type": "response_completed",
        "external_id": "123456",
        "action": "fetch",
        "fetch": {"survey_id": "123456789", "response_id": "123456"},
    }


def test_other_events_are_ignored_and_missing_ids_are_mapping_errors() -> None:
    payload = surveymonkey.parse_body(EVENT)
    assert (
        surveymonkey.describe({}, EVENT, {**payload, "event_type": "response_disqualified"}).action
        == "ignore"
    )
    assert surveymonkey.describe({}, EVENT, {**payload, "object_type": "survey"}).action == "ignore"
    with pytest.raises(MappingError) as info:
        surveymonkey.describe({}, EVENT, {**payload, "resources": {}})
    assert info.value.field_path == "resources.survey_id"


def serve_details(
    status: int = 200, headers: dict[str, str] | None = None, body: bytes = DETAILS
) -> LoopbackServer:
    return LoopbackServer({DETAILS_PATH: (status, headers or {}, body)})


def fetch(
    server: LoopbackServer, survey_id: str = "123456789", token: str | None = "sm-token"
) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as client:
            return await surveymonkey.fetch_surveymonkey_response(
                client, survey_id, "123456", access_token=token
            )

    return asyncio.run(go())


def test_fetch_gets_details_with_bearer_token_and_maps_them() -> None:
    with serve_details() as server:
        response = fetch(server)
    ((path, headers),) = server.requests
    assert path == DETAILS_PATH and headers["authorization"] == "Bearer sm-token"
    (d,) = surveymonkey.to_drafts(response)
    assert d.model_dump() == {
        "source": "surveymonkey",
        "external_id": "123456",
        "text": "Checkout kept timing out when I paid by card.",
        "score": 3.0,
        "scale": "nps",
        "touchpoint": "checkout",
        "customer_ref": "cus_4821",
        "customer_email": None,  # "" in the response means no email
        "persona": "small-business",
        "occurred_at": datetime(2016, 1, 1, 21, 56, 31, tzinfo=UTC),
        "metadata": {
            "survey_id": "123456789",
            "collector_id": "123456789",
            "response_status": "completed",
            "custom_variables": {
                "customer_id": "cus_4821",
                "persona": "small-business",
                "touchpoint": "checkout",
            },
            "analyze_url": "https://www.surveymonkey.com/analyze/browse/abc123?respondent_id=123456",
        },
        "kind": "feedback",
    }


def test_registry_fetcher_uses_the_credential() -> None:
    async def go(server: LoopbackServer) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            return await FETCHERS["surveymonkey"](
                client, FetchRef(survey_id="123456789", response_id="123456"), "t2"
            )

    with serve_details() as server:
        assert asyncio.run(go(server))["id"] == "123456"
    assert server.requests[0][1]["authorization"] == "Bearer t2"


def test_ids_from_the_body_cannot_change_the_request_path() -> None:
    with serve_details() as server, pytest.raises(FetchError) as info:
        fetch(server, survey_id="../../v3/users/me?x=")
    assert server.requests[0][0].startswith("/v3/surveys/..%2F..%2Fv3%2Fusers%2Fme%3Fx%3D/responses/")
    assert info.value.status == 404 and not info.value.retryable


@pytest.mark.parametrize(
    "status,headers,retryable,retry_after",
    [
        (429, {"Retry-After": "7"}, True, 7.0),
        (503, {}, True, None),
        (401, {}, False, None),
        (404, {}, False, None),
    ],
)
def test_fetch_failures_say_whether_to_retry(
    status: int, headers: dict[str, str], retryable: bool, retry_after: float | None
) -> None:
    with (
        serve_details(status, headers, b'{"error": {"message": "no"}}') as server,
        pytest.raises(FetchError) as info,
    ):
        fetch(server)
    assert (info.value.status, info.value.retryable, info.value.retry_after) == (
        status,
        retryable,
        retry_after,
    )
    assert "sm-token" not in str(info.value)


def test_unreachable_server_is_retryable() -> None:
    with serve_details() as server:
        url = server.base_url

    async def go() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=2) as client:
            await surveymonkey.fetch_surveymonkey_response(client, "1", "2")

    with pytest.raises(FetchError) as info:
        asyncio.run(go())
    assert info.value.retryable


def test_override_with_question_ids() -> None:
    mapping = surveymonkey.DEFAULT_MAPPING.with_overrides(
        {"score": "questions[id=664242362].number", "scale": "ces", "text": "questions[id=664242360].value"}
    )
    (d,) = surveymonkey.to_drafts(json.loads(DETAILS), mapping)
    assert (d.score, d.scale, d.text) == (2.0, "ces", "3")


def test_nps_answer_outside_the_scale_is_a_mapping_error() -> None:
    details = json.loads(DETAILS)
    details["pages"][0]["questions"][0]["answers"][0]["simple_text"] = "12"
    with pytest.raises(MappingError) as info:
        surveymonkey.to_drafts(details)
    assert info.value.field_path == "questions[kind=matrix/rating].number"
    assert "outside the nps range" in info.value.reason
