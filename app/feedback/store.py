"""Write side of feedback items: inserting a batch, moving items between issues.

The only module that writes `feedback_items`; intake, merges and source revisions all come through here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlmodel import Session

from app.core.sql import insert_ignore, insert_rows
from app.feedback.models import FeedbackItem

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
STAFF_SOURCE = "staff"  # staff checks ("experience the experience"); stored with staff = true


def insert_new(session: Session, rows: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Inserts the rows that are not stored yet; returns the ids of those this call stored, by key.

    A plain executemany (no RETURNING) is what drivers make fast. Our rows are then read back by id
    range and batch token: ids only grow, so ours are all above the largest id before the insert, and
    the token tells them from rows a concurrent request stored meanwhile (those keys are absent).
    """
    if not rows:
        return {}
    token = uuid.uuid4().hex
    values = [{**r, "ingest_batch": token} for r in rows]
    conn = session.connection()  # Core, not the ORM's bulk layer: that costs more than the insert
    floor = conn.execute(select(func.coalesce(func.max(ITEMS.c.id), 0))).scalar_one()
    insert_rows(conn, insert_ignore(session, ITEMS, ["source", "external_id"]), values)
    mine = select(ITEMS.c.id, ITEMS.c.source, ITEMS.c.external_id).where(
        ITEMS.c.id > floor, ITEMS.c.ingest_batch == token
    )
    return {(row.source, row.external_id): row.id for row in conn.execute(mine)}


def move_items(session: Session, from_issue: int, to_issue: int) -> list[int]:
    """Every item of one issue now belongs to another (a merge); returns the ids of those that moved."""
    moved = sorted(session.execute(select(ITEMS.c.id).where(ITEMS.c.issue_id == from_issue)).scalars())
    session.execute(update(ITEMS).where(ITEMS.c.issue_id == from_issue).values(issue_id=to_issue))
    return moved


def place_stored(session: Session, placed: Sequence[dict[str, Any]]) -> None:
    """Writes where stored items were placed (state, stage, moment, placement, issue), one executemany:
    items stored at once and placed later by the worker."""
    if not placed:
        return
    c = ITEMS.c
    stmt = (
        update(ITEMS)
        .where(c.id == bindparam("p_id"))
        .values(
            state=bindparam("p_state"),
            stage=bindparam("p_stage"),
            moment=bindparam("p_moment"),
            placement=bindparam("p_placement", type_=c.placement.type),
            issue_id=bindparam("p_issue_id"),
        )
    )
    session.connection().execute(stmt, [{f"p_{k}": v for k, v in row.items()} for row in placed])
