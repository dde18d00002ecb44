"""Keyed names for an erased customer: the same reference always gives the same pseudonym, so a second
erasure finds nothing new and an issue still counts that customer once; without SEAM_SECRET_KEY nobody
can test a guessed reference against it."""

from __future__ import annotations

import hashlib
import hmac

from app.core.crypto import keys_of

PREFIX = "erased:"


def _digest(purpose: bytes, value: str, secret: str) -> str:
    # The newest key only: after a rotation the old reference is gone from the items anyway.
    key = keys_of(secret)[0].encode()
    return hmac.new(key, purpose + b"\0" + value.encode(), hashlib.sha256).hexdigest()


def pseudonym(customer_ref: str, secret: str) -> str:
    """What an erased customer's items carry instead of their reference."""
    return PREFIX + _digest(b"customer-pseudonym-v1", customer_ref, secret)[:40]


def audit_digest(customer_ref: str, secret: str) -> str:
    """Names the erasure in the audit log: whoever holds the reference and the key can show it was erased,
    and the log alone does not link it to the pseudonymous items."""
    return "customer:" + _digest(b"customer-audit-v1", customer_ref, secret)[:40]


def is_pseudonym(value: str) -> bool:
    return value.startswith(PREFIX)
