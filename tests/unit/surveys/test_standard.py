"""Generic Standard Webhooks receiver, signed by the reference library (standardwebhooks)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

from integrations.signatures import WebhookSignatureError, sign_standard_webhooks
from integrations.surveys import MappingError, standard

from ._support import payload_bytes

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
FEEDBACK = payload_bytes("standard_feedback_created.json")
CONTACT = payload_bytes("standard_contact_created.json")
NOW = datetime(2026, 11, 22, 17, 52, 12, tzinfo=UTC)
Change = Callable[[dict[str, str], bytes], tuple[dict[str, str], bytes]]


def reference_headers(body: bytes, msg_id: str, when: datetime) -> dict[str, str]:
    signature = standardwebhooks.Webhook(SECRET).sign(msg_id, when, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def test_delivery_signed_by_the_reference_library_verifies() -> None:
    headers = reference_headers(FEEDBACK, "msg_2kWxN7", NOW - timedelta(seconds=2))
    standard.verify(FEEDBACK, headers, SECRET, NOW)
    assert standard.describe(headers, FEEDBACK, standard.parse_body(FEEDBACK)).model_dump() == {
        "kind": "standard",
        "delivery_id": "msg_2kWxN7",
        "event_type": "feedback.created",
        "external_id": "hj-resp-8842",
        "action": "map",
        "fetch": None,
    }


@pytest.mark.parametrize(
    "change,reason",
    [
        (lambda h, b: (h, b.replace(b"old address", b"new address")), "mismatch"),
        (lambda h, b: ({**h, "webhook-id": "msg_other"}, b), "mismatch"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b), "missing"),
        (
            lambda h, b: (
                sign_standard_webhooks(b, "whsec_b3RoZXI=", "msg_2kWxN7", NOW - timedelta(minutes=1)),
                b,
            ),
            "mismatch",
        ),
        (lambda h, b: (reference_headers(b, "msg_2kWxN7", NOW - timedelta(minutes=6)), b), "stale"),
        (lambda h, b: (reference_headers(b, "msg_2kWxN7", NOW + timedelta(minutes=6)), b), "stale"),
    ],
)
def test_bad_deliveries_are_refused(change: Change, reason: str) -> None:
    headers, body = change(reference_headers(FEEDBACK, "msg_2kWxN7", NOW - timedelta(minutes=1)), FEEDBACK)
    with pytest.raises(WebhookSignatureError) as info:
        standard.verify(body, headers, SECRET, NOW)
    assert info.value.reason == reason


def test_feedback_payload_maps_exactly() -> None:
    (d,) = standard.to_drafts(standard.parse_body(FEEDBACK))
    assert d.model_dump() == {
        "source": "standard",
        "external_id": "hj-resp-8842",
        "text": "The invoice PDF lists the old address.",
        "score": 2.0,
        "scale": "csat",
        "touchpoint": "invoice-email",
        "customer_ref": "cus_123",
        "customer_email": "ana@example.com",
        "persona": "small-business",
        "occurred_at": datetime(2026, 11, 22, 17, 52, 10, tzinfo=UTC),  # from the envelope timestamp
        "metadata": {"tool": "hotjar", "page": "/billing/invoices"},
        "kind": "feedback",
    }


def test_contact_payload_maps_to_a_contact() -> None:
    (d,) = standard.to_drafts(standard.parse_body(CONTACT))
    assert (d.kind, d.external_id, d.customer_ref, d.touchpoint, d.text, d.score) == (
        "contact",
        "call-55120",
        "cus_123",
        "phone-support",
        None,
        None,
    )
    assert d.occurred_at == datetime(2026, 11, 22, 17, 59, 30, tzinfo=UTC)


def test_other_types_are_ignored() -> None:
    payload = {"type": "ping", "timestamp": "2026-11-22T17:52:10Z", "data": {}}
    assert standard.describe({"webhook-id": "m"}, b"{}", payload).action == "ignore"
    assert standard.to_drafts(payload) == []


@pytest.mark.parametrize(
    "data,field_path,words",
    [
        ({"text": "x"}, "data.external_id", "external_id: missing"),
        ({"external_id": "1", "score": 4}, "data.scale", "scale: missing"),
        ({"external_id": "1", "score": 4, "scale": "stars"}, "data.scale", "expected nps, csat or ces"),
        ({"external_id": "1", "score": "four", "scale": "csat"}, "data.score", "expected a number"),
        ({"external_id": "1"}, "data.text | data.score", "neither found"),
        ({"external_id": "1", "text": "x", "metadata": "oops"}, "data.metadata", "expected an object"),
    ],
)
def test_unreadable_payloads(data: dict[str, object], field_path: str, words: str) -> None:
    payload = {"type": "feedback.created", "timestamp": "2026-11-22T17:52:10Z", "data": data}
    with pytest.raises(MappingError) as info:
        standard.to_drafts(json.loads(json.dumps(payload)))
    assert info.value.field_path == field_path and words in info.value.reason
