"""`insert_rows` hands values to the driver through each column's own processor: what it stores reads
back exactly as SQLAlchemy's own executemany stores it, and rows it cannot plan take that path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from app.core.sql import insert_ignore_for, insert_rows
from app.feedback.models import FeedbackItem

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]


def _row(external_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "source": "app",
        "external_id": external_id,
        "text": "Ünïcode, 'quotes' and\nlines",
        "score": 3.5,
        "scale": "csat",
        "touchpoint": None,
        "customer_ref": "c1",
        "persona": None,
        "occurred_at": datetime(2026, 11, 30, 8, 15, 1, 123456, tzinfo=UTC),
        "received_at": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        "extra": {"nested": {"a": [1, 2]}, "none": None},
        "state": "triage",
        "stage": None,
        "moment": None,
        "issue_id": None,
        "placement": {"method": "none"},
        "staff": True,
        **extra,
    }


def _stored(engine: Engine, external_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(ITEMS).where(ITEMS.c.external_id == external_id)).mappings().one()
    return {k: v for k, v in row.items() if k not in ("id", "external_id")}


def test_rows_read_back_as_sqlalchemys_own_executemany_stores_them(engine: Engine) -> None:
    stmt = insert_ignore_for(engine.dialect.name, ITEMS, ("source", "external_id"))
    with engine.begin() as conn:
        conn.execute(stmt, [_row("core")])
        insert_rows(conn, stmt, [_row("fast"), _row("fast2")])
        insert_rows(conn, stmt, [_row("fast")])  # a conflict is ignored, as the statement says
    assert _stored(engine, "fast") == _stored(engine, "core") == _stored(engine, "fast2")
    assert _stored(engine, "fast")["occurred_at"].replace(tzinfo=UTC) == _row("x")["occurred_at"]
    with engine.connect() as conn:
        assert len(conn.execute(select(ITEMS.c.id).where(ITEMS.c.external_id == "fast")).all()) == 1


def test_rows_that_leave_a_default_to_fill_take_sqlalchemys_path(engine: Engine) -> None:
    stmt = insert_ignore_for(engine.dialect.name, ITEMS, ("source", "external_id"))
    short = {
        k: v for k, v in _row("short").items() if k not in ("received_at", "extra", "placement", "staff")
    }
    with engine.begin() as conn:
        insert_rows(conn, stmt, [short, {**short, "external_id": "short2", "text": None}])
    got = _stored(engine, "short")
    assert got["extra"] == {} and got["staff"] is False and got["received_at"] is not None
    assert _stored(engine, "short2")["text"] is None
