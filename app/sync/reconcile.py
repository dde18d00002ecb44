"""Reconciliation: catch what a lost webhook would have told us.

`tick` is for the scheduler (once per cluster, every `reconcile_every`; registered below as
`sync.reconcile`, so the scheduler process only has to import this module). Like every scheduled job it only
reads the database and writes outbox rows; the `sync.pull` handler does the vendor call. One pull per
contribution per window: a double tick writes the same dedupe key, and so nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, text
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.issues.lifecycle import ACTIVE
from app.issues.models import ExperienceIssue
from app.outbox import service as outbox
from app.outbox.models import OutboxMessage
from app.scheduler.registry import JobRun
from app.sync.handlers import PULL_KIND
from app.sync.models import Contribution

# pg_try_advisory_xact_lock key: the ASCII of "seamrec1" read as a big-endian int64.
LOCK_KEY = int.from_bytes(b"seamrec1", "big") & 0x7FFFFFFFFFFFFFFF
DEFAULT_WINDOW_S = 300


def enqueue_pulls(session: Session, *, now: datetime, window_s: int = DEFAULT_WINDOW_S) -> int:
    """One `sync.pull` per contribution that has a ticket and belongs to an issue still in play
    (done ones too: a team may reopen its ticket after the fix shipped). Returns how many were new."""
    stmt = (
        select(col(Contribution.id))
        .join(ExperienceIssue, col(ExperienceIssue.id) == col(Contribution.issue_id))
        .where(col(Contribution.ticket_id).is_not(None), col(ExperienceIssue.status).in_(sorted(ACTIVE)))
        .order_by(col(Contribution.id))
    )
    bucket = int(now.timestamp()) // window_s
    wanted = {f"sync-pull:{cid}:{bucket}": cid for cid in session.execute(stmt).scalars()}
    if not wanted:
        return 0
    # Counted here: outbox.enqueue's "added" flag is not reliable on PostgreSQL (rowcount of
    # INSERT ... ON CONFLICT DO NOTHING); the unique dedupe key is what prevents doubles.
    known = set(
        session.execute(
            select(col(OutboxMessage.dedupe_key)).where(col(OutboxMessage.dedupe_key).in_(sorted(wanted)))
        ).scalars()
    )
    for key, contribution_id in wanted.items():
        if key not in known:
            outbox.enqueue(session, PULL_KIND, key, {"contribution_id": contribution_id})
    return len(wanted) - len(known)


def tick(engine: Engine, *, now: datetime | None = None, window_s: int = DEFAULT_WINDOW_S) -> int | None:
    """Scheduler entry point. None when another replica holds this tick (PostgreSQL advisory lock)."""
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}).scalar()
            if not got:
                return None
        added = enqueue_pulls(session, now=now or utcnow(), window_s=window_s)
        session.commit()
    return added


def reconcile_job(run: JobRun) -> None:
    tick(run.engine, now=run.now)
