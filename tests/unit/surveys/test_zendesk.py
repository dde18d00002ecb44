"""Zendesk: ticket events become contacts, CSAT (trigger body or REST shape) becomes feedback."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from integrations.signatures import WebhookSignatureError, sign_zendesk
from integrations.surveys import MappingError, zendesk

from ._support import example_bytes, payload_bytes

TICKET_EVENT = example_bytes("zendesk_ticket_status_changed.json")
RATINGS = example_bytes("zendesk_satisfaction_ratings_response.json")
TRIGGER = payload_bytes("zendesk_csat_trigger.json")
SECRET = "dGhpc19pc19hX3plbmRlc2tfc2lnbmluZ19zZWNyZXQ="
NOW = datetime(2026, 11, 22, 17, 52, 40, tzinfo=UTC)


@pytest.mark.parametrize("body", [TICKET_EVENT, TRIGGER], ids=["event", "trigger"])
def test_signed_deliveries_verify_and_bad_ones_fail(body: bytes) -> None:
    headers = sign_zendesk(body, SECRET, NOW - timedelta(seconds=30))
    zendesk.verify(body, headers, SECRET, NOW)
    cases = [
        (body[:-3] + b" }\n", headers, "mismatch"),
        (body, sign_zendesk(body, "b3RoZXI=", NOW), "mismatch"),
        (body, sign_zendesk(body, SECRET, NOW - timedelta(minutes=10)), "stale"),
        (body, {"X-Zendesk-Webhook-Signature": headers["X-Zendesk-Webhook-Signature"]}, "missing"),
    ]
    for tampered, bad_headers, reason in cases:
        with pytest.raises(WebhookSignatureError) as info:
            zendesk.verify(tampered, bad_headers, SECRET, NOW)
        assert info.value.reason == reason


def test_ticket_event_is_one_contact_per_ticket() -> None:
    payload = zendesk.parse_body(TICKET_EVENT)
    delivery = zendesk.describe({}, TICKET_EVENT, payload)
    assert (delivery.delivery_id, delivery.external_id, delivery.action, delivery.event_type) == (
        "2b24ef10-19d4-4740-93cf-8f98ec4776c0",
        "ticket:35436",
        "map",
        "zen:event-type:ticket.status_changed",
    )
    (d,) = zendesk.to_drafts(payload)
    assert d.model_dump() == {
        "source": "zendesk",
        "external_id": "ticket:35436",
        "text": None,
        "score": None,
        "scale": None,
        "touchpoint": None,
        "customer_ref": "20978392",
        "customer_email": None,
        "persona": None,
        "occurred_at": datetime(2026, 11, 20, 9, 15, 2, tzinfo=UTC),
        "metadata": {
            "event_type": "zen:event-type:ticket.status_changed",
            "ticket_id": "35436",
            "subject": "Checkout: payment page times out on 3rd attempt",
            "priority": "HIGH",
            "tags": ["seam", "journey_checkout"],
            "group_id": "98738",
            "channel": "web_service",
            "ticket_external_id": "seam-ei-118",
            "event": {"current": "SOLVED", "previous": "OPEN"},
            "status": "solved",
        },
        "kind": "contact",
    }


def test_a_second_event_on_the_same_ticket_upserts_the_same_contact() -> None:
    payload = zendesk.parse_body(TICKET_EVENT)
    later = {**payload, "id": "9f1c", "type": "zen:event-type:ticket.priority_changed"}
    first, second = zendesk.describe({}, b"", payload), zendesk.describe({}, b"", later)
    assert first.delivery_id != second.delivery_id and first.external_id == second.external_id


def test_non_ticket_events_make_nothing() -> None:
    payload = {**zendesk.parse_body(TICKET_EVENT), "type": "zen:event-type:user.created"}
    assert zendesk.describe({}, b"", payload).action == "ignore"
    assert zendesk.to_drafts(payload) == []


def test_csat_trigger_body_maps_bad_to_one() -> None:
    headers = {"X-Zendesk-Webhook-Invocation-Id": "inv-81723"}
    payload = zendesk.parse_body(TRIGGER)
    delivery = zendesk.describe(headers, TRIGGER, payload)
    assert (delivery.delivery_id, delivery.external_id, delivery.action) == ("inv-81723", "csat:35436", "map")
    (d,) = zendesk.to_drafts(payload)
    assert d.model_dump() == {
        "source": "zendesk",
        "external_id": "csat:35436",
        "text": "Third time I had to explain the same billing problem.",
        "score": 1.0,
        "scale": "csat",
        "touchpoint": "support-csat",
        "customer_ref": "20978392",
        "customer_email": "mara.lind@example.com",
        "persona": None,
        "occurred_at": datetime(2026, 11, 22, 17, 55, 41, tzinfo=UTC),
        "metadata": {
            "binary_scale": True,
            "ticket_id": "35436",
            "zendesk_rating": "bad",
            "group_id": "98738",
            "assignee_id": "235323",
        },
        "kind": "feedback",
    }


def test_rest_ratings_list_maps_each_answered_rating_and_skips_offered() -> None:
    payload = zendesk.parse_body(RATINGS)
    drafts = zendesk.to_drafts(payload)
    assert [(d.external_id, d.score, d.scale, d.text, d.customer_ref) for d in drafts] == [
        ("csat:208", 5.0, "csat", "Awesome support!", "7881"),
        ("csat:209", 5.0, "csat", "Awesome support!", "7881"),
    ]
    assert drafts[1].occurred_at == datetime(2012, 2, 2, 10, 32, 59, tzinfo=UTC)  # updated_at
    payload["satisfaction_ratings"][0]["score"] = "offered"
    assert [d.external_id for d in zendesk.to_drafts(payload)] == ["csat:209"]


def test_trigger_and_rest_shapes_of_one_rating_are_the_same_item() -> None:
    rating = json.loads(RATINGS)["satisfaction_ratings"][0]
    from_rest = zendesk.to_drafts({"satisfaction_rating": rating})[0]
    trigger = {"satisfaction_rating": {**rating, "ticket_id": str(rating["ticket_id"]), "score": "Good"}}
    from_trigger = zendesk.to_drafts(trigger)[0]
    assert (from_rest.external_id, from_rest.score) == (from_trigger.external_id, from_trigger.score)


def test_unknown_rating_word_is_a_mapping_error() -> None:
    payload = zendesk.parse_body(TRIGGER)
    payload["satisfaction_rating"]["score"] = "{{satisfaction.current_rating}}"  # placeholder not rendered
    with pytest.raises(MappingError) as info:
        zendesk.to_drafts(payload)
    assert info.value.field_path == "satisfaction_rating.score"
    assert "known words" in info.value.reason


def test_unknown_shape_is_a_mapping_error_not_silence() -> None:
    body = b'{"ticket": {"id": 1}}'
    assert zendesk.describe({}, body, zendesk.parse_body(body)).action == "map"
    with pytest.raises(MappingError) as info:
        zendesk.to_drafts(zendesk.parse_body(body))
    assert info.value.reason.startswith("external_id: missing")


def test_override_changes_the_csat_mapping() -> None:
    mapping = zendesk.DEFAULT_MAPPING.with_overrides(
        {"touchpoint": "satisfaction_rating.group_id", "defaults": {"persona": "support-customer"}}
    )
    (d,) = zendesk.to_drafts(zendesk.parse_body(TRIGGER), mapping)
    assert (d.touchpoint, d.persona) == ("98738", "support-customer")


def test_trigger_without_invocation_header_dedupes_on_the_body() -> None:
    payload = zendesk.parse_body(TRIGGER)
    first = zendesk.delivery_id({}, TRIGGER, payload)
    assert first == zendesk.delivery_id({"x-zendesk-webhook-invocation-id": " "}, TRIGGER, payload)
    assert first.startswith("sha256:") and first != zendesk.delivery_id({}, TRIGGER + b" ", payload)
