"""Finding feedback by its words: every word given must appear in the text (case-insensitive), the
latest first (by when it happened), with the same stage and source filters as the listings. A
substring match on the text column, bounded to a page per query: good enough for a person looking
for "what did customers say about refunds"; a full-text index is the step after."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from app.feedback.models import FeedbackItem

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
MAX_WORDS = 8
_WORD = re.compile(r"\w[\w'\u2019-]*", re.UNICODE)


def words_of(query: str) -> list[str]:
    """The words to look for, lower-cased and de-duplicated, in the order given."""
    return list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:MAX_WORDS]


def _escaped(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Found:
    items: list[FeedbackItem]
    next_before: int | None


def search(
    session: Session,
    words: list[str],
    *,
    stage: str | None = None,
    source: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Found:
    c = ITEMS.c
    stmt = select(FeedbackItem).where(c.text.is_not(None))
    for word in words:
        stmt = stmt.where(func.lower(c.text).like(f"%{_escaped(word)}%", escape="\\"))
    if stage is not None:
        stmt = stmt.where(c.stage == stage)
    if source is not None:
        stmt = stmt.where(c.source == source)
    if before_id is not None:
        # Keyset on (occurred_at, id): the page after the last item shown, in the customers' time.
        at = session.execute(select(c.occurred_at).where(c.id == before_id)).scalar_one_or_none()
        if at is not None:
            stmt = stmt.where(or_(c.occurred_at < at, and_(c.occurred_at == at, c.id < before_id)))
    order = (c.occurred_at.desc(), c.id.desc())
    rows = list(session.execute(stmt.order_by(*order).limit(limit + 1)).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Found(rows, rows[-1].id if more and rows else None)
