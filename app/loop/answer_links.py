"""The customer's one-click "did this fix it for you?" link: signed for its purpose and its notice, and
valid until an expiry that is part of what is signed (`SEAM_CUSTOMER_LINK_DAYS` after the notice).

A token is `{notice}.{expiry}.{signature}`. The purpose is signed but not written in the token, so a
token made for anything else (or in the old form, without an expiry) fails like a forged one: the
page answers 404 and says nothing about why. An expired token with a good signature is 410: the
customer learns plainly that the link is too old, and the notice id in it tells nobody anything new."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Final

from app.core.settings import Settings

ANSWER: Final = "answer"
EXPIRED: Final = "expired"
_MAX_DIGITS = 18


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"seam:customer-followup:v2", hashlib.sha256).digest()


def _sign(secret: str, purpose: str, notice_id: int, exp: int) -> str:
    msg = f"{purpose}\n{notice_id}\n{exp}".encode()
    sig = hmac.new(_key(secret), msg, hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(sig).decode().rstrip("=")


def expiry(settings: Settings, now: datetime) -> datetime:
    return now + timedelta(days=settings.customer_link_days)


def token_for(notice_id: int, secret: str, expires: datetime, *, purpose: str = ANSWER) -> str:
    exp = int(expires.timestamp())
    return f"{notice_id}.{exp}.{_sign(secret, purpose, notice_id, exp)}"


def read(token: str, secret: str, now: datetime, *, purpose: str = ANSWER) -> int | str | None:
    """The notice id the token names; `EXPIRED` when it is genuine but too old; None when it is
    forged, altered, of another purpose or of the old form."""
    head, exp_text, sig = [*token.split("."), "", ""][:3]
    if not (head.isdigit() and exp_text.isdigit()) or max(len(head), len(exp_text)) > _MAX_DIGITS:
        return None
    notice_id, exp = int(head), int(exp_text)
    if not hmac.compare_digest(_sign(secret, purpose, notice_id, exp), sig):
        return None
    if datetime.fromtimestamp(exp, UTC) <= now:
        return EXPIRED
    return notice_id
