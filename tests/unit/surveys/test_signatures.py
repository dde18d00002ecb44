"""Signature schemes of contracts.md §C, checked over the exact bytes of the vendors' example files."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import standardwebhooks

from integrations import signatures as sig
from integrations.signatures import WebhookSignatureError

from ._support import example_bytes

NOW = datetime(2026, 11, 22, 17, 52, 10, tzinfo=UTC)
TYPEFORM = example_bytes("typeform_form_response.json")
SURVEYMONKEY = example_bytes("surveymonkey_response_completed.json")
DELIGHTED = example_bytes("delighted_survey_response.json")
ZENDESK = example_bytes("zendesk_ticket_status_changed.json")
JIRA = example_bytes("jira_issue_updated_done.json")


def tamper(body: bytes) -> bytes:
    # One byte changed in the middle of the body: the smallest tampering there is.
    i = len(body) // 2
    return body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]


def reason_of(fn: Callable[[], None]) -> str:
    with pytest.raises(WebhookSignatureError) as info:
        fn()
    return info.value.reason


# --- independent computations of each vendor's header, written from contracts.md §C ----------


def test_typeform_header_is_base64_hmac_sha256_of_raw_body() -> None:
    expected = base64.b64encode(hmac.new(b"tf-secret", TYPEFORM, hashlib.sha256).digest()).decode()
    assert sig.sign_typeform(TYPEFORM, "tf-secret") == {"Typeform-Signature": f"sha256={expected}"}
    sig.verify_typeform(TYPEFORM, {"typeform-signature": f"sha256={expected}"}, "tf-secret")


def test_surveymonkey_header_is_base64_hmac_sha1_keyed_with_id_and_secret() -> None:
    digest = hmac.new(b"cid&csecret", SURVEYMONKEY, hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode()
    headers = {"SM-APIKEY": "cid", "sm-signature": expected}
    assert sig.sign_surveymonkey(SURVEYMONKEY, "cid", "csecret") == {
        "Sm-Apikey": "cid",
        "Sm-Signature": expected,
    }
    sig.verify_surveymonkey(SURVEYMONKEY, headers, "cid", "csecret")


def test_delighted_header_is_hex_hmac_sha256_keyed_with_api_key() -> None:
    expected = hmac.new(b"api-key", DELIGHTED, hashlib.sha256).hexdigest()
    assert sig.sign_delighted(DELIGHTED, "api-key") == {"X-Delighted-Webhook-Signature": f"sha256={expected}"}
    sig.verify_delighted(DELIGHTED, {"x-delighted-webhook-signature": f"sha256={expected}"}, "api-key")
    # Hex digits in upper case are the same signature.
    sig.verify_delighted(
        DELIGHTED, {"X-Delighted-Webhook-Signature": f"sha256={expected.upper()}"}, "api-key"
    )


def test_zendesk_header_signs_timestamp_then_body_without_separator() -> None:
    ts = "2026-11-22T17:52:10Z"
    expected = base64.b64encode(hmac.new(b"zd", ts.encode() + ZENDESK, hashlib.sha256).digest()).decode()
    headers = sig.sign_zendesk(ZENDESK, "zd", NOW)
    assert headers == {
        "X-Zendesk-Webhook-Signature": expected,
        "X-Zendesk-Webhook-Signature-Timestamp": ts,
    }
    sig.verify_zendesk(ZENDESK, {k.lower(): v for k, v in headers.items()}, "zd", NOW)


def test_zendesk_request_without_body_signs_timestamp_alone() -> None:
    ts = "2026-11-22T17:52:10Z"
    expected = base64.b64encode(hmac.new(b"zd", ts.encode(), hashlib.sha256).digest()).decode()
    headers = {"X-Zendesk-Webhook-Signature": expected, "X-Zendesk-Webhook-Signature-Timestamp": ts}
    sig.verify_zendesk(b"", headers, "zd", NOW)


def test_jira_header_is_hex_hmac_sha256_with_sha256_prefix() -> None:
    expected = hmac.new(b"jira", JIRA, hashlib.sha256).hexdigest()
    assert sig.sign_jira(JIRA, "jira") == {"X-Hub-Signature": f"sha256={expected}"}
    sig.verify_jira(JIRA, {"x-hub-signature": f"sha256={expected}"}, "jira")


# --- failures, per scheme --------------------------------------------------------------------

Case = tuple[str, Callable[[bytes, dict[str, str]], None], Callable[[bytes], dict[str, str]], bytes]

CASES: list[Case] = [
    (
        "typeform",
        lambda b, h: sig.verify_typeform(b, h, "s1"),
        lambda b: sig.sign_typeform(b, "s1"),
        TYPEFORM,
    ),
    (
        "surveymonkey",
        lambda b, h: sig.verify_surveymonkey(b, h, "cid", "s1"),
        lambda b: sig.sign_surveymonkey(b, "cid", "s1"),
        SURVEYMONKEY,
    ),
    (
        "delighted",
        lambda b, h: sig.verify_delighted(b, h, "s1"),
        lambda b: sig.sign_delighted(b, "s1"),
        DELIGHTED,
    ),
    (
        "zendesk",
        lambda b, h: sig.verify_zendesk(b, h, "s1", NOW),
        lambda b: sig.sign_zendesk(b, "s1", NOW),
        ZENDESK,
    ),
    ("jira", lambda b, h: sig.verify_jira(b, h, "s1"), lambda b: sig.sign_jira(b, "s1"), JIRA),
    (
        "standard",
        lambda b, h: sig.verify_standard_webhooks(b, h, "whsec_czE=", NOW),
        lambda b: sig.sign_standard_webhooks(b, "whsec_czE=", "msg_1", NOW),
        TYPEFORM,
    ),
]
WRONG_SIGNERS: dict[str, Callable[[bytes], dict[str, str]]] = {
    "typeform": lambda b: sig.sign_typeform(b, "s2"),
    "surveymonkey": lambda b: sig.sign_surveymonkey(b, "cid", "s2"),
    "delighted": lambda b: sig.sign_delighted(b, "s2"),
    "zendesk": lambda b: sig.sign_zendesk(b, "s2", NOW),
    "jira": lambda b: sig.sign_jira(b, "s2"),
    "standard": lambda b: sig.sign_standard_webhooks(b, "whsec_czI=", "msg_1", NOW),
}
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("name,verify,sign,body", CASES, ids=IDS)
def test_valid_delivery_verifies(name: str, verify: Callable, sign: Callable, body: bytes) -> None:
    verify(body, sign(body))


@pytest.mark.parametrize("name,verify,sign,body", CASES, ids=IDS)
def test_tampered_body_is_a_mismatch(name: str, verify: Callable, sign: Callable, body: bytes) -> None:
    assert reason_of(lambda: verify(tamper(body), sign(body))) == "mismatch"


@pytest.mark.parametrize("name,verify,sign,body", CASES, ids=IDS)
def test_reserialised_json_is_a_mismatch(name: str, verify: Callable, sign: Callable, body: bytes) -> None:
    import json

    reserialised = json.dumps(json.loads(body)).encode()
    assert reserialised != body
    assert reason_of(lambda: verify(reserialised, sign(body))) == "mismatch"


@pytest.mark.parametrize("name,verify,sign,body", CASES, ids=IDS)
def test_wrong_secret_is_a_mismatch(name: str, verify: Callable, sign: Callable, body: bytes) -> None:
    assert reason_of(lambda: verify(body, WRONG_SIGNERS[name](body))) == "mismatch"


@pytest.mark.parametrize("name,verify,sign,body", CASES, ids=IDS)
def test_each_missing_header_is_reported_missing(
    name: str, verify: Callable, sign: Callable, body: bytes
) -> None:
    headers = sign(body)
    for dropped in headers:
        partial = {k: v for k, v in headers.items() if k != dropped}
        assert reason_of(lambda p=partial: verify(body, p)) == "missing", dropped
    assert reason_of(lambda: verify(body, {k: "  " for k in headers})) == "missing"


def test_secret_never_appears_in_error_message_or_repr() -> None:
    secret = "very-secret-value-123"
    for fn in (
        lambda: sig.verify_typeform(TYPEFORM, sig.sign_typeform(TYPEFORM, "x"), secret),
        lambda: sig.verify_surveymonkey(SURVEYMONKEY, {"Sm-Apikey": "a", "Sm-Signature": "b"}, "cid", secret),
        lambda: sig.verify_zendesk(ZENDESK, sig.sign_zendesk(ZENDESK, "x", NOW), secret, NOW),
        lambda: sig.verify_shared_token("nope", secret),
    ):
        with pytest.raises(WebhookSignatureError) as info:
            fn()
        assert secret not in str(info.value) and secret not in repr(info.value)
    expected_digest = sig.sign_typeform(TYPEFORM, secret)["Typeform-Signature"]
    with pytest.raises(WebhookSignatureError) as info:
        sig.verify_typeform(TYPEFORM, {"Typeform-Signature": "sha256=AAAA"}, secret)
    assert expected_digest[7:] not in str(info.value)


def test_prefix_missing_is_malformed() -> None:
    good = sig.sign_typeform(TYPEFORM, "s")["Typeform-Signature"]
    assert (
        reason_of(lambda: sig.verify_typeform(TYPEFORM, {"Typeform-Signature": good[7:]}, "s")) == "malformed"
    )
    hexsig = sig.sign_jira(JIRA, "s")["X-Hub-Signature"]
    # GitHub-style "sha256=" is required; the bare hex is not accepted.
    assert reason_of(lambda: sig.verify_jira(JIRA, {"X-Hub-Signature": hexsig[7:]}, "s")) == "malformed"
    d = sig.sign_delighted(DELIGHTED, "s")["X-Delighted-Webhook-Signature"]
    delighted_headers = {"X-Delighted-Webhook-Signature": "sha1=" + d[7:]}
    assert reason_of(lambda: sig.verify_delighted(DELIGHTED, delighted_headers, "s")) == "malformed"


def test_surveymonkey_apikey_of_another_app_is_a_mismatch() -> None:
    headers = sig.sign_surveymonkey(SURVEYMONKEY, "other-app", "s1")
    assert reason_of(lambda: sig.verify_surveymonkey(SURVEYMONKEY, headers, "cid", "s1")) == "mismatch"


# --- replay windows --------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [301, -301, 3600])
def test_zendesk_outside_window_is_stale(offset: int) -> None:
    headers = sig.sign_zendesk(ZENDESK, "s", NOW - timedelta(seconds=offset))
    assert reason_of(lambda: sig.verify_zendesk(ZENDESK, headers, "s", NOW)) == "stale"


@pytest.mark.parametrize("offset", [0, 300, -300])
def test_zendesk_inside_window_verifies(offset: int) -> None:
    sig.verify_zendesk(ZENDESK, sig.sign_zendesk(ZENDESK, "s", NOW - timedelta(seconds=offset)), "s", NOW)


def test_zendesk_tolerance_is_configurable() -> None:
    headers = sig.sign_zendesk(ZENDESK, "s", NOW - timedelta(seconds=100))
    assert reason_of(lambda: sig.verify_zendesk(ZENDESK, headers, "s", NOW, tolerance_s=60)) == "stale"


def test_zendesk_bad_timestamp_is_malformed() -> None:
    headers = {"X-Zendesk-Webhook-Signature": "abc", "X-Zendesk-Webhook-Signature-Timestamp": "yesterday"}
    assert reason_of(lambda: sig.verify_zendesk(ZENDESK, headers, "s", NOW)) == "malformed"


def test_zendesk_signature_covers_the_timestamp() -> None:
    headers = sig.sign_zendesk(ZENDESK, "s", NOW)
    # A replayer moving the timestamp forward breaks the signature.
    headers["X-Zendesk-Webhook-Signature-Timestamp"] = "2026-11-22T17:52:11Z"
    assert reason_of(lambda: sig.verify_zendesk(ZENDESK, headers, "s", NOW)) == "mismatch"


@pytest.mark.parametrize("offset", [301, -301])
def test_standard_webhooks_outside_window_both_directions_is_stale(offset: int) -> None:
    headers = sig.sign_standard_webhooks(TYPEFORM, "whsec_czE=", "m", NOW - timedelta(seconds=offset))
    assert reason_of(lambda: sig.verify_standard_webhooks(TYPEFORM, headers, "whsec_czE=", NOW)) == "stale"


@pytest.mark.parametrize("offset", [300, -300])
def test_standard_webhooks_edge_of_window_verifies(offset: int) -> None:
    headers = sig.sign_standard_webhooks(TYPEFORM, "whsec_czE=", "m", NOW - timedelta(seconds=offset))
    sig.verify_standard_webhooks(TYPEFORM, headers, "whsec_czE=", NOW)


# --- Standard Webhooks details and interop with the reference library -------------------------

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the spec's own example secret


def test_standard_webhooks_signature_covers_id_and_timestamp() -> None:
    headers = sig.sign_standard_webhooks(TYPEFORM, SECRET, "msg_1", NOW)
    headers["webhook-id"] = "msg_2"
    assert reason_of(lambda: sig.verify_standard_webhooks(TYPEFORM, headers, SECRET, NOW)) == "mismatch"
    headers = sig.sign_standard_webhooks(TYPEFORM, SECRET, "msg_1", NOW)
    headers["webhook-timestamp"] = str(int(NOW.timestamp()) + 1)
    assert reason_of(lambda: sig.verify_standard_webhooks(TYPEFORM, headers, SECRET, NOW)) == "mismatch"


def test_standard_webhooks_accepts_any_matching_v1_among_several_and_ignores_other_versions() -> None:
    good = sig.sign_standard_webhooks(TYPEFORM, SECRET, "msg_1", NOW)
    other = sig.sign_standard_webhooks(TYPEFORM, "whsec_b2xkLXNlY3JldA==", "msg_1", NOW)
    good_sig = good["webhook-signature"].split(",", 1)[1]
    combined = f"v1a,{good_sig} {other['webhook-signature']} v1,{good_sig}"
    sig.verify_standard_webhooks(TYPEFORM, {**good, "webhook-signature": combined}, SECRET, NOW)
    # The right digest under another version name is not accepted as v1.
    only_v1a = {**good, "webhook-signature": f"v1a,{good_sig} v2,{good_sig}"}
    assert reason_of(lambda: sig.verify_standard_webhooks(TYPEFORM, only_v1a, SECRET, NOW)) == "mismatch"


@pytest.mark.parametrize(
    "header,value",
    [("webhook-timestamp", "not-a-number"), ("webhook-signature", "garbage-without-comma")],
)
def test_standard_webhooks_malformed_headers(header: str, value: str) -> None:
    headers = {**sig.sign_standard_webhooks(TYPEFORM, SECRET, "m", NOW), header: value}
    assert reason_of(lambda: sig.verify_standard_webhooks(TYPEFORM, headers, SECRET, NOW)) == "malformed"


def test_standard_webhooks_secret_prefix_is_optional_like_the_reference() -> None:
    headers = sig.sign_standard_webhooks(TYPEFORM, SECRET, "m", NOW)
    sig.verify_standard_webhooks(TYPEFORM, headers, SECRET.removeprefix("whsec_"), NOW)


def test_reference_library_signature_verifies_with_ours() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ref = standardwebhooks.Webhook(SECRET)
    body = TYPEFORM.decode()
    signature = ref.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", now, body)
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    sig.verify_standard_webhooks(TYPEFORM, headers, SECRET, now)
    assert (
        reason_of(lambda: sig.verify_standard_webhooks(tamper(TYPEFORM), headers, SECRET, now)) == "mismatch"
    )


def test_our_signature_verifies_with_the_reference_library() -> None:
    now = datetime.now(UTC)
    headers = sig.sign_standard_webhooks(TYPEFORM, SECRET, "msg_1", now)
    assert standardwebhooks.Webhook(SECRET).verify(TYPEFORM, headers) == standardwebhooks.Webhook(
        SECRET
    ).verify(TYPEFORM.decode(), headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRET).verify(tamper(TYPEFORM), headers)


def test_standard_webhooks_generated_secret_round_trips_with_reference() -> None:
    secret = sig.new_standard_webhooks_secret()
    assert secret.startswith("whsec_")
    now = datetime.now(UTC)
    headers = sig.sign_standard_webhooks(b"{}", secret, "msg_x", now)
    assert standardwebhooks.Webhook(secret).verify(b"{}", headers) == {}


# --- shared token (Qualtrics) ----------------------------------------------------------------


def test_shared_token() -> None:
    token = sig.new_shared_token()
    sig.verify_shared_token(token, token)
    assert reason_of(lambda: sig.verify_shared_token(token + "x", token)) == "mismatch"
    assert reason_of(lambda: sig.verify_shared_token(None, token)) == "missing"
    assert reason_of(lambda: sig.verify_shared_token("", token)) == "missing"
    with pytest.raises(ValueError):
        sig.verify_shared_token("anything", "")


def test_header_lookup_is_case_insensitive_on_any_mapping() -> None:
    from starlette.datastructures import Headers

    body = DELIGHTED
    raw = sig.sign_delighted(body, "k")
    sig.verify_delighted(body, Headers(raw), "k")
    sig.verify_delighted(body, {k.upper(): v for k, v in raw.items()}, "k")


def test_standard_webhooks_bad_configured_secret_is_a_value_error_without_the_secret() -> None:
    bad = "whsec_not base64!!"
    with pytest.raises(ValueError) as info:
        sig.check_standard_webhooks_secret(bad)
    assert "not base64" not in str(info.value)
    with pytest.raises(ValueError):
        sig.check_standard_webhooks_secret("whsec_")
    sig.check_standard_webhooks_secret(SECRET)
    with pytest.raises(ValueError):
        sig.verify_standard_webhooks(
            TYPEFORM, sig.sign_standard_webhooks(TYPEFORM, SECRET, "m", NOW), bad, NOW
        )
