"""Delighted: the docs' example payload signed with the API key; created + updated upsert one item."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from integrations.signatures import WebhookSignatureError, sign_delighted
from integrations.surveys import MappingError, delighted

from ._support import example_bytes, payload_bytes

BODY = example_bytes("delighted_survey_response.json")
CREATED = payload_bytes("delighted_survey_response_created_ces.json")
API_KEY = "dl_private_api_key_93kd"
NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)


def test_signed_example_verifies_and_bad_signatures_fail() -> None:
    delighted.verify(BODY, sign_delighted(BODY, API_KEY), API_KEY, NOW)
    for body, headers, reason in [
        (BODY.replace(b'"score": 9', b'"score": 10'), sign_delighted(BODY, API_KEY), "mismatch"),
        (BODY, sign_delighted(BODY, "other-key"), "mismatch"),
        (BODY, {}, "missing"),
    ]:
        with pytest.raises(WebhookSignatureError) as info:
            delighted.verify(body, headers, API_KEY, NOW)
        assert info.value.reason == reason


def test_example_maps_to_one_nps_item() -> None:
    (d,) = delighted.to_drafts(delighted.parse_body(BODY))
    assert d.model_dump() == {
        "source": "delighted",
        "external_id": "5435",
        "text": "Your service is fast and flawless!",
        "score": 9.0,
        "scale": "nps",
        "touchpoint": None,
        "customer_ref": "5975",
        "customer_email": "charlie_gravis@example.com",
        "persona": None,
        "occurred_at": datetime.fromtimestamp(1516128528, tz=UTC),
        "metadata": {
            "survey_type": "nps",
            "permalink": "https://delighted.com/r/5pFDpmlyC8GUc5oxU6USto5VonSKAqOa",
            "tags": [],
            "updated_at": 1516129128,
        },
        "kind": "feedback",
    }


def test_created_then_updated_share_the_upsert_key_but_not_the_delivery_id() -> None:
    updated = json.loads(BODY)
    created = {
        **updated,
        "event_type": "survey_response.created",
        "event_id": "0" * 64,
        "event_data": {**updated["event_data"], "comment": None, "updated_at": 1516128528},
    }
    d_created = delighted.describe({}, b"", created)
    d_updated = delighted.describe({}, BODY, delighted.parse_body(BODY))
    assert d_created.delivery_id != d_updated.delivery_id
    assert d_created.external_id == d_updated.external_id == "5435"
    assert d_updated.delivery_id == "b8d057c59327541d7ec2104c0a9a255ad1997fb00831b9c6bbf09561e6d5cbd0"
    # The two drafts are the same item: same external id and occurred_at, the comment arrives later.
    (a,), (b,) = delighted.to_drafts(created), delighted.to_drafts(delighted.parse_body(BODY))
    assert (a.external_id, a.occurred_at, a.text) == (b.external_id, b.occurred_at, None)
    assert b.text == "Your service is fast and flawless!"


def test_ces_survey_with_person_properties() -> None:
    (d,) = delighted.to_drafts(delighted.parse_body(CREATED))
    assert (d.score, d.scale, d.text, d.persona, d.touchpoint, d.customer_ref) == (
        6.0,
        "ces",
        None,
        "enterprise",
        "returns",
        "7713",
    )


def test_untracked_survey_type_keeps_the_score_in_metadata() -> None:
    payload = delighted.parse_body(CREATED)
    payload["event_data"]["survey_type"] = "enps"
    (d,) = delighted.to_drafts(payload)
    assert (d.score, d.scale, d.metadata["unscaled_score"]) == (None, None, 6.0)


def test_unknown_survey_type_and_out_of_range_scores_are_mapping_errors() -> None:
    payload = delighted.parse_body(CREATED)
    payload["event_data"]["survey_type"] = "hexagon"
    with pytest.raises(MappingError) as info:
        delighted.to_drafts(payload)
    assert info.value.field_path == "event_data.survey_type" and info.value.reason.startswith("scale:")
    payload = delighted.parse_body(BODY)
    payload["event_data"]["score"] = 11
    with pytest.raises(MappingError) as info:
        delighted.to_drafts(payload)
    assert info.value.field_path == "event_data.score" and "outside the nps range" in info.value.reason


def test_unsubscribe_makes_nothing() -> None:
    payload = {"event_type": "unsubscribe.created", "event_id": "u1", "event_data": {"person": {"id": "1"}}}
    delivery = delighted.describe({}, b"", payload)
    assert (delivery.action, delivery.external_id, delivery.delivery_id) == ("ignore", None, "u1")


def test_override_reads_customer_from_a_person_property() -> None:
    mapping = delighted.DEFAULT_MAPPING.with_overrides(
        {"customer_ref": "event_data.person_properties.Customer ID"}
    )
    payload = delighted.parse_body(CREATED)
    payload["event_data"]["person_properties"]["Customer ID"] = "cus_314"
    assert delighted.to_drafts(payload, mapping)[0].customer_ref == "cus_314"
