"""Webhook signature schemes, verified over the exact raw request bytes.

Every scheme is in ``shared/specs/contracts.md`` section C; this module follows it to the byte.
Pure functions only: no I/O, no clock (callers pass ``now``), no database.

Rules kept by every ``verify_*`` function:

* The body is the raw bytes as received. Re-serialised JSON changes whitespace and key order,
  which breaks every vendor's signature.
* Digests are compared with :func:`hmac.compare_digest` so timing does not leak how many bytes
  of a forged signature were right.
* Headers may be any ``Mapping[str, str]`` (a dict, Starlette ``Headers``...); names are matched
  case-insensitively because proxies and ASGI servers lower-case them.
* Where the scheme carries a timestamp, the signature is checked *before* the replay window, so
  ``reason="stale"`` always means "genuine but too old/new" and an unauthenticated caller learns
  nothing beyond "mismatch".
* Secrets and expected digests never appear in exception messages.

Each ``sign_*`` function returns the headers the vendor would send, so tests, the benchmark and
local stand-ins sign exactly as the vendor does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

# The one signature error, raised by every scheme here and by the ticket adapters alike.
from integrations.base import WebhookSignatureError as WebhookSignatureError

DEFAULT_TOLERANCE_S = 300

TYPEFORM_HEADER = "Typeform-Signature"
SURVEYMONKEY_APIKEY_HEADER = "Sm-Apikey"
SURVEYMONKEY_SIGNATURE_HEADER = "Sm-Signature"
DELIGHTED_HEADER = "X-Delighted-Webhook-Signature"
ZENDESK_SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
JIRA_HEADER = "X-Hub-Signature"
SW_ID_HEADER = "webhook-id"
SW_TIMESTAMP_HEADER = "webhook-timestamp"
SW_SIGNATURE_HEADER = "webhook-signature"
SW_SECRET_PREFIX = "whsec_"


# --- helpers -------------------------------------------------------------------------------


def _key(secret: str | bytes) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup that works on plain dicts as well as Starlette Headers."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, val in headers.items():
        if key.lower() == wanted:
            return val
    return None


def _require(headers: Mapping[str, str], name: str) -> str:
    value = get_header(headers, name)
    if value is None or not value.strip():
        raise WebhookSignatureError(f"header {name} is missing", reason="missing")
    return value.strip()


def _strip_prefix(value: str, prefix: str, header: str) -> str:
    if not value.startswith(prefix):
        raise WebhookSignatureError(f"header {header} does not start with {prefix!r}", reason="malformed")
    return value[len(prefix) :]


def _hmac(key: bytes, msg: bytes, algo: str = "sha256") -> bytes:
    return hmac.new(key, msg, getattr(hashlib, algo)).digest()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _equal(presented: str, expected: str, header: str) -> None:
    # compare_digest on str only accepts ASCII; encode so odd input is a mismatch, not a TypeError.
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise WebhookSignatureError(f"header {header} does not match the body", reason="mismatch")


def _check_window(ts: datetime, now: datetime, tolerance_s: int, header: str) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    skew = (now - ts).total_seconds()
    if abs(skew) > tolerance_s:
        direction = "old" if skew > 0 else "far in the future"
        raise WebhookSignatureError(
            f"header {header} is {direction}: {abs(int(skew))}s outside ±{tolerance_s}s", reason="stale"
        )


# --- Typeform: Typeform-Signature: sha256=<base64 HMAC-SHA256(secret, body)> ----------------


def sign_typeform(body: bytes, secret: str | bytes) -> dict[str, str]:
    return {TYPEFORM_HEADER: "sha256=" + _b64(_hmac(_key(secret), body))}


def verify_typeform(body: bytes, headers: Mapping[str, str], secret: str | bytes) -> None:
    presented = _strip_prefix(_require(headers, TYPEFORM_HEADER), "sha256=", TYPEFORM_HEADER)
    _equal(presented, _b64(_hmac(_key(secret), body)), TYPEFORM_HEADER)


# --- SurveyMonkey: Sm-Apikey + Sm-Signature: base64 HMAC-SHA1("{client_id}&{client_secret}") --


def _surveymonkey_digest(body: bytes, client_id: str, client_secret: str) -> str:
    return _b64(_hmac(f"{client_id}&{client_secret}".encode(), body, "sha1"))


def sign_surveymonkey(body: bytes, client_id: str, client_secret: str) -> dict[str, str]:
    return {
        SURVEYMONKEY_APIKEY_HEADER: client_id,
        SURVEYMONKEY_SIGNATURE_HEADER: _surveymonkey_digest(body, client_id, client_secret),
    }


def verify_surveymonkey(body: bytes, headers: Mapping[str, str], client_id: str, client_secret: str) -> None:
    api_key = _require(headers, SURVEYMONKEY_APIKEY_HEADER)
    presented = _require(headers, SURVEYMONKEY_SIGNATURE_HEADER)
    # The api key names the app; a different one means the delivery is for someone else.
    if not hmac.compare_digest(api_key.encode("utf-8"), client_id.encode("utf-8")):
        raise WebhookSignatureError(f"header {SURVEYMONKEY_APIKEY_HEADER} is not our app", reason="mismatch")
    _equal(presented, _surveymonkey_digest(body, client_id, client_secret), SURVEYMONKEY_SIGNATURE_HEADER)


# --- Delighted: X-Delighted-Webhook-Signature: sha256=<hex HMAC-SHA256(api_key, body)> -------


def sign_delighted(body: bytes, api_key: str | bytes) -> dict[str, str]:
    return {DELIGHTED_HEADER: "sha256=" + _hmac(_key(api_key), body).hex()}


def verify_delighted(body: bytes, headers: Mapping[str, str], api_key: str | bytes) -> None:
    presented = _strip_prefix(_require(headers, DELIGHTED_HEADER), "sha256=", DELIGHTED_HEADER)
    # Hex is case-insensitive; normalise so an upper-case sender is not rejected.
    _equal(presented.lower(), _hmac(_key(api_key), body).hex(), DELIGHTED_HEADER)


# --- Zendesk: base64 HMAC-SHA256(secret, TIMESTAMP + BODY), ISO-8601 timestamp --------------


def format_zendesk_timestamp(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zendesk_digest(body: bytes, timestamp: str, secret: str | bytes) -> str:
    return _b64(_hmac(_key(secret), timestamp.encode("utf-8") + body))


def sign_zendesk(body: bytes, secret: str | bytes, timestamp: datetime) -> dict[str, str]:
    ts = format_zendesk_timestamp(timestamp)
    return {ZENDESK_SIGNATURE_HEADER: _zendesk_digest(body, ts, secret), ZENDESK_TIMESTAMP_HEADER: ts}


def verify_zendesk(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | bytes,
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    presented = _require(headers, ZENDESK_SIGNATURE_HEADER)
    ts_raw = _require(headers, ZENDESK_TIMESTAMP_HEADER)
    try:
        ts = datetime.fromisoformat(ts_raw)
    except ValueError:
        raise WebhookSignatureError(
            f"header {ZENDESK_TIMESTAMP_HEADER} is not an ISO-8601 time", reason="malformed"
        ) from None
    if ts.tzinfo is None:  # Zendesk documents UTC; a bare time is read as such.
        ts = ts.replace(tzinfo=UTC)
    # The raw header text is what Zendesk signed, not our re-formatting of the parsed time.
    _equal(presented, _zendesk_digest(body, ts_raw, secret), ZENDESK_SIGNATURE_HEADER)
    _check_window(ts, now, tolerance_s, ZENDESK_TIMESTAMP_HEADER)


# --- Jira admin webhooks: X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)> -----------


def sign_jira(body: bytes, secret: str | bytes) -> dict[str, str]:
    return {JIRA_HEADER: "sha256=" + _hmac(_key(secret), body).hex()}


def verify_jira(body: bytes, headers: Mapping[str, str], secret: str | bytes) -> None:
    presented = _strip_prefix(_require(headers, JIRA_HEADER), "sha256=", JIRA_HEADER)
    _equal(presented.lower(), _hmac(_key(secret), body).hex(), JIRA_HEADER)


# --- Standard Webhooks: v1,<base64 HMAC-SHA256(key, "{id}.{ts}.{body}")> --------------------


def _sw_key(secret: str | bytes) -> bytes:
    # Like the reference libraries: "whsec_" is an optional prefix before the base64 key.
    raw = secret.decode("utf-8") if isinstance(secret, bytes) else secret
    if raw.startswith(SW_SECRET_PREFIX):
        raw = raw[len(SW_SECRET_PREFIX) :]
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        # A bad configured secret is our bug, not the sender's: say so without echoing it.
        raise ValueError("Standard Webhooks secret is not whsec_<base64>") from None


def check_standard_webhooks_secret(secret: str | bytes) -> None:
    """Raise ValueError if ``secret`` is not ``whsec_<base64>``: call it when a source is configured."""
    if not _sw_key(secret):
        raise ValueError("Standard Webhooks secret is empty")


def _sw_digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    return _b64(_hmac(key, f"{msg_id}.{timestamp}.".encode() + body))


def new_standard_webhooks_secret() -> str:
    return SW_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def sign_standard_webhooks(
    body: bytes, secret: str | bytes, msg_id: str, timestamp: datetime
) -> dict[str, str]:
    ts = str(int(timestamp.timestamp()))
    sig = _sw_digest(_sw_key(secret), msg_id, ts, body)
    return {SW_ID_HEADER: msg_id, SW_TIMESTAMP_HEADER: ts, SW_SIGNATURE_HEADER: f"v1,{sig}"}


def verify_standard_webhooks(
    body: bytes,
    headers: Mapping[str, str],
    secret: str | bytes,
    now: datetime,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    msg_id = _require(headers, SW_ID_HEADER)
    ts_raw = _require(headers, SW_TIMESTAMP_HEADER)
    sig_header = _require(headers, SW_SIGNATURE_HEADER)
    try:
        ts = datetime.fromtimestamp(int(ts_raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookSignatureError(
            f"header {SW_TIMESTAMP_HEADER} is not unix seconds", reason="malformed"
        ) from None
    tokens = [tok.split(",", 1) for tok in sig_header.split(" ") if "," in tok]
    if not tokens:
        raise WebhookSignatureError(
            f"header {SW_SIGNATURE_HEADER} has no version,signature", reason="malformed"
        )
    expected = _sw_digest(_sw_key(secret), msg_id, ts_raw, body).encode("ascii")
    # Several signatures allow secret rotation; other versions (v1a = ed25519) are not ours to check.
    matched = False
    for version, sig in tokens:
        if version == "v1" and hmac.compare_digest(sig.encode("utf-8"), expected):
            matched = True
    if not matched:
        raise WebhookSignatureError(f"no v1 signature in {SW_SIGNATURE_HEADER} matches", reason="mismatch")
    _check_window(ts, now, tolerance_s, SW_TIMESTAMP_HEADER)


# --- Qualtrics: no documented HMAC, so a secret token in the URL path -----------------------


def new_shared_token() -> str:
    return secrets.token_urlsafe(32)


def verify_shared_token(presented: str | None, expected: str) -> None:
    if not presented:
        raise WebhookSignatureError("shared token is missing", reason="missing")
    if not expected:
        raise ValueError("expected shared token is empty")  # never accept everyone by mistake
    if not hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8")):
        raise WebhookSignatureError("shared token does not match", reason="mismatch")
