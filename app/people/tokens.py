"""Signed tokens: one-time sign-in links, session cookies and one-click reminder actions.

Each kind is signed with its own salt, so a token of one kind is never accepted as another. Expiry is
part of the signed payload and checked against the caller's `now`, so tests can age a token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

SIGN_IN_TTL = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)
ACTION_TTL = timedelta(days=7)
KINDS = ("sign-in", "session", "action")


class TokenError(Exception):
    """The token is forged, of another kind, or expired; `reason` says which in words for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _serializer(secret: str, kind: str) -> URLSafeSerializer:
    # A key of our own, derived from SEAM_SECRET_KEY: never the raw secret that also encrypts credentials.
    key = hmac.new(secret.encode(), b"seam:people:v1", hashlib.sha256).hexdigest()
    return URLSafeSerializer(key, salt=f"seam.{kind}")


def issue(secret: str, kind: str, claims: dict[str, Any], now: datetime, ttl: timedelta) -> str:
    assert kind in KINDS
    body = {**claims, "exp": int((now + ttl).timestamp()), "jti": secrets.token_urlsafe(12)}
    return str(_serializer(secret, kind).dumps(body))


def read(secret: str, kind: str, token: str, now: datetime) -> dict[str, Any]:
    if not token or len(token) > 2000:
        raise TokenError("This link is not valid.")
    try:
        body = _serializer(secret, kind).loads(token)
    except BadSignature:
        raise TokenError("This link is not valid.") from None
    if not isinstance(body, dict) or not isinstance(body.get("exp"), int):
        raise TokenError("This link is not valid.")
    if body["exp"] < now.timestamp():
        raise TokenError("This link has expired.")
    return body


def expiry(body: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(body["exp"]), UTC)


@dataclass(frozen=True)
class SessionData:
    person: str
    csrf: str


def new_session(secret: str, person: str, now: datetime) -> str:
    return issue(secret, "session", {"p": person, "c": secrets.token_urlsafe(18)}, now, SESSION_TTL)


def read_session(secret: str, cookie: str | None, now: datetime) -> SessionData | None:
    if not cookie:
        return None
    try:
        body = read(secret, "session", cookie, now)
    except TokenError:
        return None
    person, csrf = body.get("p"), body.get("c")
    if not isinstance(person, str) or not isinstance(csrf, str):
        return None
    return SessionData(person=person, csrf=csrf)
