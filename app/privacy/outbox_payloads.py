"""Sent messages' payloads are emptied once they are a few weeks old (`SEAM_OUTBOX_KEEP_DAYS`).

An email's payload holds the address it went to and the words it said (a fix notice quotes the issue;
a digest names people), and a ticket's the customers' feedback it carried. Once delivered (or cancelled)
that copy serves no one but a person looking into a delivery, so the daily `privacy.outbox_payloads` job
empties the payloads and errors of older ones. The row stays: its `dedupe_key` is what keeps a producer
that runs again (a reconcile, a double tick) from sending the same message twice, and its state and
times keep the delivery counts. Dead letters are kept whole until someone retries or discards them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlmodel import Session

from app.outbox.models import OutboxMessage
from app.scheduler.registry import JobRun

OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
SETTLED = ("done", "cancelled")
BATCH = 1000


def empty_batch(session: Session, keep_days: int, now: datetime, limit: int = BATCH) -> int:
    """Empties up to `limit` settled payloads older than `keep_days`; how many. The caller commits."""
    c = OUTBOX.c
    cutoff = now - timedelta(days=keep_days)
    settled_at = func.coalesce(c.done_at, c.updated_at)
    ids = (
        session.execute(
            select(c.id)
            .where(c.state.in_(SETTLED), settled_at < cutoff, c.payload != {})
            .order_by(c.id)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if ids:
        session.execute(update(OUTBOX).where(c.id.in_(ids)).values(payload={}, last_error=None))
    return len(ids)


def outbox_payloads_job(run: JobRun) -> None:
    with Session(run.engine) as session:
        # A batch per transaction, like retention: a first run over a year of mail holds no lock for long.
        while empty_batch(session, run.settings.outbox_keep_days, run.now):
            session.commit()
