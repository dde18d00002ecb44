"""Retention per source: the daily `privacy.retention` job blanks the text, metadata and contact
details of items older than their source's `retention_days` (else `SEAM_RETENTION_DAYS`; neither set:
kept), and empties the source's processed raw deliveries of that age. A purged item's stored sentence
vector and any routing example copied from its words go with them: both are derived from the text.

Age is counted from `received_at`, when Seam received the item: it is our own clock, so a sender cannot
shorten or stretch how long we hold what it sent, and an import of old answers is kept for the whole
period from the day it arrived. Scores, placement, issue and customer reference stay, so issue counts,
scores and trends are unchanged; the item is marked `redacted = "retention"`.

An item belongs to the source named by its metadata's `source_id` (set by the survey webhooks); items
posted to the API directly follow `SEAM_RETENTION_DAYS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, delete, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.core.sql import is_in
from app.inbox.models import InboundDelivery
from app.privacy.holdings import ITEMS
from app.privacy.subject import kept_metadata
from app.routing.models import ItemVector, RoutingConfirmation
from app.scheduler.registry import JobRun
from app.sources.models import Source
from app.sources.service import channel

SOURCES = Source.__table__  # type: ignore[attr-defined]
INBOX = InboundDelivery.__table__  # type: ignore[attr-defined]
VECTORS = ItemVector.__table__  # type: ignore[attr-defined]
CONFIRMATIONS = RoutingConfirmation.__table__  # type: ignore[attr-defined]
RETENTION = "retention"
BATCH = 1000


@dataclass(frozen=True)
class Rule:
    """Items (and raw deliveries) received before `cutoff` lose their personal data."""

    cutoff: datetime
    source_id: int | None  # None: the default, for items of no source with a retention of its own


def rules(session: Session, default_days: int | None, now: datetime) -> list[Rule]:
    own = session.execute(
        select(SOURCES.c.id, SOURCES.c.retention_days).where(SOURCES.c.retention_days.is_not(None))
    ).all()
    out = [Rule(now - timedelta(days=int(days)), int(sid)) for sid, days in own]
    if default_days is not None:
        out.append(Rule(now - timedelta(days=default_days), None))
    return out


def _source_id() -> ColumnElement[Any]:
    return ITEMS.c.extra["source_id"].as_string()


def _items_of(session: Session, rule: Rule, own: list[int]) -> ColumnElement[bool]:
    c = ITEMS.c
    where = c.redacted.is_(None) & (c.received_at < rule.cutoff)
    if rule.source_id is not None:
        return where & (_source_id() == str(rule.source_id))
    if not own:
        return where
    others = ~is_in(session, _source_id(), [str(s) for s in own], String)
    return where & (_source_id().is_(None) | others)


def purge_batch(session: Session, default_days: int | None, now: datetime, limit: int = BATCH) -> int:
    """Purges up to `limit` items that outlived their retention; how many. The caller commits."""
    found = rules(session, default_days, now)
    own = [r.source_id for r in found if r.source_id is not None]
    c = ITEMS.c
    for rule in found:
        rows = session.execute(
            select(c.id, c.extra).where(_items_of(session, rule, own)).order_by(c.id).limit(limit)
        ).all()
        if rows:
            changes = [{"row_id": r.id, "extra": kept_metadata(r.extra), "redacted_at": now} for r in rows]
            session.execute(
                update(ITEMS)
                .where(c.id == bindparam("row_id"))
                .values(
                    text=None,
                    extra=bindparam("extra"),
                    redacted=RETENTION,
                    redacted_at=bindparam("redacted_at"),
                ),
                changes,
            )
            ids = [r.id for r in rows]
            # The model already trained keeps what it learned; the words themselves do not stay.
            session.execute(delete(VECTORS).where(VECTORS.c.item_id.in_(ids)))
            session.execute(delete(CONFIRMATIONS).where(CONFIRMATIONS.c.item_id.in_(ids)))
            return len(rows)
    return 0


def purge_deliveries(session: Session, default_days: int | None, now: datetime) -> int:
    """Empties processed or ignored raw deliveries of each survey source older than its retention."""
    found = rules(session, default_days, now)
    by_source = {r.source_id: r.cutoff for r in found if r.source_id is not None}
    default = next((r.cutoff for r in found if r.source_id is None), None)
    emptied = 0
    for (sid,) in session.execute(select(SOURCES.c.id)).all():
        cutoff = by_source.get(int(sid), default)
        if cutoff is None:
            continue
        i = INBOX.c
        result = session.execute(
            update(INBOX)
            .where(
                i.channel == channel(int(sid)),
                i.received_at < cutoff,
                i.state.in_(("processed", "ignored")),
                i.body != b"",
            )
            .values(body=b"", headers={})
        )
        emptied += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return emptied


def retention_job(run: JobRun) -> None:
    default_days = run.settings.retention_days
    with Session(run.engine) as session:
        # A batch per transaction: a first run over years of items never holds the write lock for long.
        while purge_batch(session, default_days, run.now):
            session.commit()
        purge_deliveries(session, default_days, run.now)
        session.commit()
