"""API keys: made once, shown once, stored as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.models import ApiKey
from app.core.actor import Actor
from app.core.errors import InvalidInput, field_error

SCOPES = ("ingest", "read", "manage", "admin")
# What each scope also grants. Ingest stands alone: a survey tool's key must not read feedback back.
IMPLIED = {
    "ingest": {"ingest"},
    "read": {"read"},
    "manage": {"manage", "read"},
    "admin": {"admin", "manage", "read", "ingest"},
}
PREFIX_LEN = 12


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        return f"key:{self.name}"

    def as_actor(self) -> Actor:
        return Actor(self.actor, self.key_id)

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


def _hash(secret: str) -> str:
    # Keys are 190+ bits of randomness, so a fast hash is safe; a slow KDF would only tax every request.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise InvalidInput(
            "Unknown or missing scopes.",
            errors=[
                field_error("scopes", f"choose from {', '.join(SCOPES)}; got {', '.join(scopes) or 'none'}")
            ],
        )
    if not name.strip():
        raise InvalidInput("A key needs a name.", errors=[field_error("name", "must not be empty")])
    token = "seam_" + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name.strip(), prefix=token[:PREFIX_LEN], key_hash=_hash(token), scopes=sorted(set(scopes))
    )
    session.add(row)
    session.flush()
    return row, token


def authenticate(session: Session, token: str) -> Principal | None:
    if not token.startswith("seam_") or len(token) < PREFIX_LEN + 8:
        return None
    row = session.execute(select(ApiKey).where(col(ApiKey.prefix) == token[:PREFIX_LEN])).scalars().first()
    if row is None or row.revoked_at is not None or row.id is None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(token)):
        return None
    granted: set[str] = set()
    for scope in row.scopes:
        granted |= IMPLIED.get(scope, set())
    return Principal(key_id=row.id, name=row.name, scopes=frozenset(granted))
