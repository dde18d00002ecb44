"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session


def insert_ignore(session: Session, table: Table, index_elements: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (cols) DO NOTHING, for the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))


def lock_rows(session: Session, table: Table, ids: Sequence[Any]) -> None:
    """Row locks in id order, so two transactions touching the same rows never deadlock.

    SQLite needs none: its transactions begin IMMEDIATE and so already run one at a time.
    """
    if not ids or session.get_bind().dialect.name != "postgresql":
        return
    pk = table.c.id
    session.execute(select(pk).where(pk.in_(sorted(set(ids)))).order_by(pk).with_for_update())
