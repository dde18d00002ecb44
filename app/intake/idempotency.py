"""Idempotency-Key: the first response to a key is the response to every retry with that key, for a day.

Records expire after `TTL` (24 hours): senders retry within minutes or hours, and the stored response
holds the item as stored (text, customer reference), so it is kept no longer than a retry needs. After
that the same key is a new request; `(source, external_id)` still keeps a resent item from duplicating.
A daily job (`intake.idempotency_expiry`) deletes expired records."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.auth.service import Principal
from app.core.clock import utcnow
from app.core.errors import InvalidInput, field_error
from app.intake.models import IdempotencyRecord
from app.scheduler.registry import JobRun

TTL = timedelta(hours=24)


def body_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _stored(session: Session, principal: Principal, key: str) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        col(IdempotencyRecord.api_key_id) == principal.key_id, col(IdempotencyRecord.idem_key) == key
    )
    return session.execute(stmt).scalars().first()


def _replay(record: IdempotencyRecord, digest: str) -> tuple[int, dict[str, Any]]:
    if record.request_hash != digest:
        raise InvalidInput(
            "This Idempotency-Key was already used with a different request body.",
            errors=[field_error("header.Idempotency-Key", "reused with a different body")],
        )
    return record.status_code, record.response_body


def run(
    session: Session,
    principal: Principal,
    key: str | None,
    payload: Any,
    work: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any]]:
    """Runs `work` and commits, or replays the stored response for a key already seen."""
    if key is None:
        result = work()
        session.commit()
        return result
    if not 1 <= len(key) <= 255 or "\x00" in key:
        raise InvalidInput(
            "Idempotency-Key must be 1 to 255 characters, none of them NUL.",
            errors=[field_error("header.Idempotency-Key", "1 to 255 characters")],
        )
    digest = body_hash(payload)
    record = _stored(session, principal, key)
    if record is not None and record.created_at <= utcnow() - TTL:
        session.delete(record)  # expired: this is a new request
        session.flush()
        record = None
    if record is not None:
        return _replay(record, digest)
    status, body = work()
    session.add(
        IdempotencyRecord(
            api_key_id=principal.key_id,
            idem_key=key,
            request_hash=digest,
            status_code=status,
            response_body=body,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        # A concurrent retry with the same key committed first: ours is rolled back whole, theirs stands.
        session.rollback()
        record = _stored(session, principal, key)
        if record is None:
            raise
        return _replay(record, digest)
    return status, body


def purge_expired(session: Session, now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - TTL
    result = session.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_job(run: JobRun) -> None:
    with Session(run.engine) as session:
        purge_expired(session, run.now)
        session.commit()
