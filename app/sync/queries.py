"""Read side of sync that other domains are handed (through the composition root)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from app.sync.models import Contribution

OPEN_CONTRIBUTION = ("requested", "open", "in_progress")


def open_teams(session: Session, issue_ids: Iterable[int]) -> dict[int, list[str]]:
    """Teams whose required contribution to each issue is still open: the loop reminds them."""
    ids = sorted(set(issue_ids))
    out: dict[int, list[str]] = defaultdict(list)
    if not ids:
        return out
    c = Contribution.__table__.c  # type: ignore[attr-defined]
    stmt = (
        select(c.issue_id, c.team)
        .where(c.issue_id.in_(ids), c.required.is_(True), c.state.in_(OPEN_CONTRIBUTION))
        .order_by(c.issue_id, c.team)
    )
    for issue_id, team in session.execute(stmt):
        out[issue_id].append(team)
    return out
