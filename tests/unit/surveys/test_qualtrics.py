"""Qualtrics: form-urlencoded notice, URL token check, then a real HTTP fetch of the response."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from integrations.signatures import WebhookSignatureError
from integrations.surveys import MappingError, qualtrics

from ._support import LoopbackServer, payload_bytes

NOTICE = payload_bytes("qualtrics_completed_response.txt")
RESPONSE = payload_bytes("qualtrics_response.json")
TOKEN = "q-url-token-Jd93kLw0"
NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
PATH = "/API/v3/surveys/SV_cMdTnBaLbRvV4gu/responses/R_1FqBxZvXr4E9sXa"


def test_url_token_is_checked() -> None:
    qualtrics.verify(NOTICE, {}, TOKEN, NOW, token=TOKEN)
    for presented, reason in [(TOKEN[:-1], "mismatch"), (None, "missing"), ("", "missing")]:
        with pytest.raises(WebhookSignatureError) as info:
            qualtrics.verify(NOTICE, {}, TOKEN, NOW, token=presented)
        assert info.value.reason == reason


def test_form_notice_is_parsed_and_asks_for_a_fetch() -> None:
    payload = qualtrics.parse_body(NOTICE)
    assert payload["CompletedDate"] == "2026-11-22 17:42:56"  # '+' and %3A decoded
    delivery = qualtrics.describe({}, NOTICE, payload)
    assert delivery.model_dump() == {
        "kind": "qualtrics",
        "delivery_id": "R_1FqBxZvXr4E9sXa",
        "event_type": "surveyengine.completedResponse.SV_cMdTnBaLbRvV4gu",
        "external_id": "R_1FqBxZvXr4E9sXa",
        "action": "fetch",
        "fetch": {"survey_id": "SV_cMdTnBaLbRvV4gu", "response_id": "R_1FqBxZvXr4E9sXa"},
    }


def test_bad_notices() -> None:
    with pytest.raises(MappingError) as info:
        qualtrics.parse_body(b"\xff\xfe")
    assert info.value.field_path == "$"
    with pytest.raises(MappingError) as info:
        qualtrics.parse_body(b"just some text")
    assert info.value.field_path == "$"
    payload = qualtrics.parse_body(NOTICE)
    del payload["ResponseID"]
    with pytest.raises(MappingError) as info:
        qualtrics.describe({}, NOTICE, payload)
    assert info.value.field_path == "ResponseID"
    other = {**qualtrics.parse_body(NOTICE), "Topic": "surveyengine.partialResponse.SV_x"}
    assert qualtrics.describe({}, NOTICE, other).action == "ignore"


def fetch(server: LoopbackServer, token: str | None = "q-api-token") -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as client:
            return await qualtrics.fetch_qualtrics_response(
                client, "SV_cMdTnBaLbRvV4gu", "R_1FqBxZvXr4E9sXa", api_token=token
            )

    return asyncio.run(go())


def test_fetch_with_api_token_and_map() -> None:
    with LoopbackServer({PATH: (200, {}, RESPONSE)}) as server:
        response = fetch(server)
    ((path, headers),) = server.requests
    assert path == PATH and headers["x-api-token"] == "q-api-token"
    (d,) = qualtrics.to_drafts(response)
    assert d.model_dump() == {
        "source": "qualtrics",
        "external_id": "R_1FqBxZvXr4E9sXa",
        "text": "Delivery was two days late and nobody told me.",
        "score": 4.0,
        "scale": "nps",
        "touchpoint": "delivery",
        "customer_ref": "cus_99127",
        "customer_email": "jo.doe@example.com",
        "persona": "frequent-buyer",
        "occurred_at": datetime(2026, 11, 22, 17, 42, 56, 307000, tzinfo=UTC),
        "metadata": {
            "nps_question": "QID1",
            "distribution_channel": "email",
            "language": "EN",
            "finished": 1,
            "labels": json.loads(RESPONSE)["result"]["labels"],
        },
        "kind": "feedback",
    }


def test_fetch_failure_is_retryable_on_429() -> None:
    from integrations.surveys import FetchError

    with (
        LoopbackServer({PATH: (429, {"Retry-After": "30"}, b"{}")}) as server,
        pytest.raises(FetchError) as info,
    ):
        fetch(server)
    assert info.value.retryable and info.value.retry_after == 30.0
    assert "q-api-token" not in str(info.value)


def test_override_with_question_ids() -> None:
    mapping = qualtrics.DEFAULT_MAPPING.with_overrides(
        {"score": "result.values.QID3", "scale": "ces", "customer_ref": "result.values.externalDataReference"}
    )
    (d,) = qualtrics.to_drafts(json.loads(RESPONSE), mapping)
    assert (d.score, d.scale, d.customer_ref) == (6.0, "ces", "cus_99127")


def test_response_without_result_is_a_mapping_error() -> None:
    with pytest.raises(MappingError) as info:
        qualtrics.to_drafts({"meta": {"httpStatus": "200 - OK"}})
    assert info.value.field_path == "result.responseId | result.values._recordId"
