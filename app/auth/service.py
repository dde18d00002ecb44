"""API keys: made once, shown once, stored as a hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from app.auth.models import ApiKey, ApiKeyEvent
from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.errors import InvalidInput, NotFound, field_error

Scope = Literal["ingest", "read", "manage", "admin"]
SCOPES: tuple[str, ...] = get_args(Scope)
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
    last_used_at: datetime | None = None

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


def create_key(
    session: Session,
    name: str,
    scopes: list[str],
    *,
    expires_at: datetime | None = None,
    actor: str = "cli",
    action: str = "created",
) -> tuple[ApiKey, str]:
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
        name=name.strip(),
        prefix=token[:PREFIX_LEN],
        key_hash=_hash(token),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    _event(session, row.id, action, actor)
    return row, token


def _event(session: Session, key_id: int, action: str, actor: str, detail: str | None = None) -> None:
    session.add(ApiKeyEvent(key_id=key_id, action=action, actor=actor[:200], detail=detail))


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.execute(select(ApiKey).order_by(col(ApiKey.id))).scalars())


def events(session: Session, key_id: int) -> list[ApiKeyEvent]:
    stmt = select(ApiKeyEvent).where(col(ApiKeyEvent.key_id) == key_id).order_by(col(ApiKeyEvent.id))
    return list(session.execute(stmt).scalars())


def find(session: Session, ref: int | str) -> ApiKey:
    """A key by id, or by its prefix (as `seam keys list` shows it)."""
    if isinstance(ref, int) or ref.isdigit():
        row = session.get(ApiKey, int(ref))
    else:
        row = session.execute(select(ApiKey).where(col(ApiKey.prefix) == ref)).scalars().first()
    if row is None:
        raise NotFound(f"No API key {ref}.")
    return row


def revoke(session: Session, row: ApiKey, actor: str, now: datetime | None = None) -> ApiKey:
    """Refused from now on. Revoking a revoked key changes nothing."""
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.add(row)
        assert row.id is not None
        _event(session, row.id, "revoked", actor)
        session.flush()
    return row


def rotate(session: Session, row: ApiKey, actor: str) -> tuple[ApiKey, str]:
    """A new key with the same name, scopes and expiry; the old one is revoked in the same transaction."""
    if row.revoked_at is not None:
        raise InvalidInput("A revoked key cannot be rotated.", errors=[field_error("key", "revoked")])
    assert row.id is not None
    _event(session, row.id, "rotated", actor)
    new, token = create_key(
        session, row.name, list(row.scopes), expires_at=row.expires_at, actor=actor, action="created"
    )
    revoked_at = utcnow()
    row.revoked_at = revoked_at
    session.add(row)
    session.flush()
    return new, token


# How stale `last_used_at` may be: at most one write per key per minute.
TOUCH_EVERY = timedelta(minutes=1)


def touch(session: Session, key_id: int, now: datetime | None = None) -> bool:
    """Records a use of the key, unless one was recorded within TOUCH_EVERY."""
    now = now or utcnow()
    stmt = (
        update(ApiKey)
        .where(col(ApiKey.id) == key_id)
        .where(or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < now - TOUCH_EVERY))
        .values(last_used_at=now)
    )
    return bool(session.execute(stmt).rowcount)  # type: ignore[attr-defined]


def authenticate(session: Session, token: str) -> Principal | None:
    if not token.startswith("seam_") or len(token) < PREFIX_LEN + 8:
        return None
    row = session.execute(select(ApiKey).where(col(ApiKey.prefix) == token[:PREFIX_LEN])).scalars().first()
    if row is None or row.revoked_at is not None or row.id is None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    if not hmac.compare_digest(row.key_hash, _hash(token)):
        return None
    granted: set[str] = set()
    for scope in row.scopes:
        granted |= IMPLIED.get(scope, set())
    return Principal(key_id=row.id, name=row.name, scopes=frozenset(granted), last_used_at=row.last_used_at)
