"""Typeform: the official example payload, signed as Typeform signs, mapped by the default and an override."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest

from integrations.signatures import WebhookSignatureError, sign_typeform
from integrations.surveys import MappingError, typeform

from ._support import example_bytes

BODY = example_bytes("typeform_form_response.json")
SECRET = "tf_webhook_secret_7f3a"
NOW = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
COMMENT = (
    "It's cold right now! I live in an older medium-sized city with a university. "
    "Geographically, the area is hilly."
)


def test_signed_example_verifies_and_tampering_or_wrong_secret_fails() -> None:
    headers = sign_typeform(BODY, SECRET)
    typeform.verify(BODY, headers, SECRET, NOW)
    with pytest.raises(WebhookSignatureError) as info:
        typeform.verify(BODY.replace(b"Laura", b"Laure"), headers, SECRET, NOW)
    assert info.value.reason == "mismatch"
    with pytest.raises(WebhookSignatureError) as info:
        typeform.verify(BODY, sign_typeform(BODY, "another"), SECRET, NOW)
    assert info.value.reason == "mismatch"
    with pytest.raises(WebhookSignatureError) as info:
        typeform.verify(BODY, {}, SECRET, NOW)
    assert info.value.reason == "missing"


def test_describe_gives_event_id_for_dedupe_and_token_for_upsert() -> None:
    payload = typeform.parse_body(BODY)
    delivery = typeform.describe({}, BODY, payload)
    assert delivery.model_dump() == {
        "kind": "typeform",
        "delivery_id": "LtWXD3crgy",
        "event_type": "form_response",
        "external_id": "a3a12ec67a1365927098a606107fac15",
        "action": "map",
        "fetch": None,
    }
    assert typeform.delivery_id({}, BODY, payload) == "LtWXD3crgy"


def test_delivery_id_falls_back_to_token_then_body_digest() -> None:
    payload = typeform.parse_body(BODY)
    del payload["event_id"]
    assert typeform.delivery_id({}, BODY, payload) == "a3a12ec67a1365927098a606107fac15"
    assert typeform.delivery_id({}, b"{}", {}).startswith("sha256:")


def test_partial_responses_are_ignored() -> None:
    payload = {**typeform.parse_body(BODY), "event_type": "form_response_partial"}
    assert typeform.describe({}, BODY, payload).action == "ignore"


def test_default_mapping_of_the_official_example() -> None:
    drafts = typeform.to_drafts(typeform.parse_body(BODY))
    assert [d.model_dump() for d in drafts] == [
        {
            "source": "typeform",
            "external_id": "a3a12ec67a1365927098a606107fac15",
            "text": COMMENT,  # the only long-text answer
            "score": None,  # the example form has no NPS question
            "scale": None,
            "touchpoint": None,
            "customer_ref": None,
            "customer_email": "laura@example.com",
            "persona": None,
            "occurred_at": datetime(2018, 1, 18, 18, 17, 2, tzinfo=UTC),
            "metadata": {
                "form_id": "lT4Z3j",
                "form_title": "Webhooks example",
                "landed_at": "2018-01-18T18:07:02Z",
            },
            "kind": "feedback",
        }
    ]


def test_refs_come_from_the_definition_when_answers_lack_them() -> None:
    view = typeform.normalise(typeform.parse_body(BODY))
    rating = view["form_response"]["answers"][10]
    assert (rating["ref"], rating["value"]) == ("readable_ref_rating", 3)
    choice = view["form_response"]["answers"][7]
    assert (choice["ref"], choice["value"]) == ("readable_ref_multiple_choice", "London")


def test_override_with_another_question_ref_changes_the_draft() -> None:
    mapping = typeform.DEFAULT_MAPPING.with_overrides(
        {
            "score": "form_response.answers[ref=readable_ref_number1].number",
            "scale": "csat",
            "text": "form_response.answers[ref=readable_ref_short_text].value",
            "touchpoint": "form_response.definition.id",
        }
    )
    (d,) = typeform.to_drafts(typeform.parse_body(BODY), mapping)
    assert (d.score, d.scale, d.text, d.touchpoint) == (5.0, "csat", "Laura", "lT4Z3j")
    mapping = mapping.with_overrides({"score": "form_response.answers[ref=readable_ref_number2].number"})
    assert typeform.to_drafts(typeform.parse_body(BODY), mapping)[0].score == 4.0


def test_nps_form_with_hidden_fields() -> None:
    payload = typeform.parse_body(BODY)
    form = payload["form_response"]
    form["hidden"] = {"customer_id": "cus_77", "persona": "student", "touchpoint": "relocation-guide"}
    form["definition"]["fields"].append(
        {"id": "npsQ1", "type": "nps", "ref": "nps_score", "title": "Recommend?"}
    )
    form["answers"].append({"type": "number", "number": 6, "field": {"id": "npsQ1", "type": "nps"}})
    (d,) = typeform.to_drafts(payload)
    assert (d.score, d.scale, d.customer_ref, d.persona, d.touchpoint) == (
        6.0,
        "nps",
        "cus_77",
        "student",
        "relocation-guide",
    )
    assert d.metadata["hidden"] == form["hidden"]


def test_answer_of_the_wrong_type_is_a_mapping_error_naming_the_field() -> None:
    payload = typeform.parse_body(BODY)
    mapping = typeform.DEFAULT_MAPPING.with_overrides(
        {"score": "form_response.answers[ref=readable_ref_short_text].value", "scale": "nps"}
    )
    with pytest.raises(MappingError) as info:
        typeform.to_drafts(payload, mapping)
    assert info.value.field_path == "form_response.answers[ref=readable_ref_short_text].value"
    assert info.value.reason.startswith("score: expected a number")


def test_renamed_question_lands_in_quarantine_then_maps_once_fixed() -> None:
    # The CX team points the score at "nps_score", but the form's question ref is different.
    payload = typeform.parse_body(BODY)
    strict = typeform.DEFAULT_MAPPING.with_overrides({"require": ["score"]})
    with pytest.raises(MappingError) as info:
        typeform.to_drafts(payload, strict)
    assert "nps_score" in info.value.field_path and "score: required" in info.value.reason
    fixed = strict.with_overrides({"score": "form_response.answers[ref=readable_ref_opinion_scale].number"})
    assert typeform.to_drafts(payload, fixed)[0].score == 2.0


def test_hidden_not_an_object_is_a_mapping_error() -> None:
    payload = copy.deepcopy(typeform.parse_body(BODY))
    payload["form_response"]["hidden"] = "cus_77"
    with pytest.raises(MappingError) as info:
        typeform.to_drafts(payload)
    assert info.value.field_path == "form_response.hidden.customer_id"


def test_body_that_is_not_json_is_a_mapping_error() -> None:
    with pytest.raises(MappingError) as info:
        typeform.parse_body(BODY[:-20])
    assert info.value.field_path == "$" and "not valid JSON" in info.value.reason
    with pytest.raises(MappingError, match="expected a JSON object, got list"):
        typeform.parse_body(json.dumps([1]).encode())
