"""Each issue's facets: how many of its items came from each persona, as customers or as staff checks.

Kept where item_count is kept: `add` with the counts (new items join an issue under its row lock), and
`rebuild` from the items themselves wherever items leave or move (merges, splits, triage, erasure), so
the board's persona and source filters read a few rows an issue instead of its items. The filters an
issue matches (`issue_filters`, one row per persona and per source) are kept with them, for the kept
filter counts (migration 0029)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import case, delete, func, literal, select
from sqlmodel import Session

from app.core.sql import insert_ignore, insert_or_add
from app.feedback.models import FeedbackItem
from app.issues.models import IssueFacet, IssueFilter

FACETS = IssueFacet.__table__  # type: ignore[attr-defined]
FILTERS = IssueFilter.__table__  # type: ignore[attr-defined]
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
        matches = sorted(
            {(r["issue_id"], "persona", r["persona"]) for r in rows}
            | {(r["issue_id"], "source", _source(bool(r["staff"]))) for r in rows}
        )
        session.execute(
            insert_ignore(session, FILTERS, ["issue_id", "kind", "value"]),
            [{"issue_id": i, "kind": k, "value": v} for i, k, v in matches],
        )


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
    # The filters it matches follow its facets: removed and added back (the kept counts net to nothing
    # for those that stay).
    session.execute(delete(FILTERS).where(FILTERS.c.issue_id == issue_id))
    f = FACETS.c
    source = case((f.staff.is_(True), literal(_source(True))), else_=literal(_source(False)))
    for kind, value in (("persona", f.persona), ("source", source)):
        distinct = select(f.issue_id, literal(kind), value).where(f.issue_id == issue_id).distinct()
        session.execute(FILTERS.insert().from_select(["issue_id", "kind", "value"], distinct))


def _source(staff: bool) -> str:
    """The board's source filter an item of this kind matches."""
    return "staff" if staff else "customers"


def of(session: Session, issue_id: int) -> dict[Key, int]:
    """The issue's facets, (persona or None, staff) -> items."""
    rows = session.execute(
        select(FACETS.c.persona, FACETS.c.staff, FACETS.c.item_count).where(FACETS.c.issue_id == issue_id)
    )
    return {(p or None, bool(s)): int(n) for p, s, n in rows}
