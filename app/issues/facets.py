"""Each issue's facets: how many of its items came from each persona, as customers or as staff checks.

Kept where item_count is kept: `add` with the counts (new items join an issue under its row lock), and
`rebuild` from the items themselves wherever items leave or move (merges, splits, triage, erasure), so
the board's persona and source filters read a few rows an issue instead of its items."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete, func, literal, select
from sqlmodel import Session

from app.core.sql import insert_or_add
from app.feedback.models import FeedbackItem
from app.issues.models import IssueFacet

FACETS = IssueFacet.__table__  # type: ignore[attr-defined]
ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
# Items with no persona: a key column cannot hold NULL.
NO_PERSONA = ""

Key = tuple[str | None, bool]


def add(session: Session, counts: Mapping[int, Mapping[Key, int]]) -> None:
    """Adds each issue's `counts` ((persona, staff) -> items) to its facets, in one statement for them
    all, in key order. Call with the issues locked."""
    rows = [
        {"issue_id": issue_id, "persona": persona or NO_PERSONA, "staff": staff, "item_count": n}
        for issue_id in sorted(counts)
        for (persona, staff), n in sorted(counts[issue_id].items(), key=lambda kv: (kv[0][0] or "", kv[0][1]))
        if n
    ]
    if rows:
        session.execute(insert_or_add(session, FACETS, ["issue_id", "persona", "staff"], "item_count"), rows)


def rebuild(session: Session, issue_id: int) -> None:
    """The issue's facets counted again from its items."""
    session.execute(delete(FACETS).where(FACETS.c.issue_id == issue_id))
    persona = func.coalesce(ITEMS.c.persona, NO_PERSONA)
    grouped = (
        select(literal(issue_id), persona, ITEMS.c.staff, func.count())
        .where(ITEMS.c.issue_id == issue_id)
        .group_by(persona, ITEMS.c.staff)
    )
    session.execute(FACETS.insert().from_select(["issue_id", "persona", "staff", "item_count"], grouped))


def of(session: Session, issue_id: int) -> dict[Key, int]:
    """The issue's facets, (persona or None, staff) -> items."""
    rows = session.execute(
        select(FACETS.c.persona, FACETS.c.staff, FACETS.c.item_count).where(FACETS.c.issue_id == issue_id)
    )
    return {(p or None, bool(s)): int(n) for p, s, n in rows}
