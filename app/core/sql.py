"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Dialect,
    Executable,
    Table,
    any_,
    bindparam,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session


def insert_ignore(session: Session, table: Table, index_elements: Sequence[str]) -> Insert:
    """INSERT ... ON CONFLICT (cols) DO NOTHING, for the session's database."""
    return insert_ignore_for(session.get_bind().dialect.name, table, tuple(index_elements))


@lru_cache(maxsize=64)
def insert_ignore_for(dialect: str, table: Table, index_elements: tuple[str, ...]) -> Insert:
    # Statements are immutable; reusing one keeps SQLAlchemy's per-statement memoised work to the first call.
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(index_elements))


def lock_rows(session: Session, table: Table, ids: Sequence[Any]) -> None:
    """Row locks in id order, so two transactions touching the same rows never deadlock.

    SQLite needs none: its transactions begin IMMEDIATE and so already run one at a time.
    """
    if not ids or session.get_bind().dialect.name != "postgresql":
        return
    pk = table.c.id
    session.execute(select(pk).where(pk.in_(sorted(set(ids)))).order_by(pk).with_for_update())


def is_in(
    session: Session, column: ColumnElement[Any], values: Sequence[Any], sql_type: Any
) -> ColumnElement[bool]:
    """`column IN values`, sent to PostgreSQL as one array parameter.

    A thousand-value IN list costs psycopg more to parse than the database spends running the query.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(sql_type)))
    return column.in_(list(values))


@lru_cache(maxsize=64)
def _plan(
    dialect: Dialect, stmt: Insert, keys: tuple[str, ...]
) -> tuple[str, tuple[str, ...], tuple[Any, ...], bool] | None:
    """The statement's SQL, its parameters' names in order and each one's bind processor; None when it
    needs a value the rows do not carry (a column default), which only SQLAlchemy's own path fills."""
    compiled = stmt.inline().compile(dialect=dialect, column_keys=list(keys))
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
    if not set(names) <= set(keys):
        return None
    table = stmt.table
    procs = tuple(table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names)
    return str(compiled), names, procs, bool(compiled.positional)


def insert_rows(conn: Connection, stmt: Insert, rows: Sequence[dict[str, Any]]) -> None:
    """An executemany of `stmt` over rows that all carry the same columns. Each value goes through its
    column's own bind processor and straight to the driver: SQLAlchemy's general per-row parameter
    building cost as much as the insert itself for a batch of feedback items."""
    if not rows:
        return
    keys = tuple(rows[0])
    plan = _plan(conn.dialect, stmt, keys)
    if plan is None or any(r.keys() != rows[0].keys() for r in rows):
        conn.execute(stmt, list(rows))
        return
    sql, names, procs, positional = plan
    pairs = tuple(zip(names, procs, strict=True))
    if positional:
        params: list[Any] = [tuple(p(r[n]) if p else r[n] for n, p in pairs) for r in rows]
    else:
        params = [{n: (p(r[n]) if p else r[n]) for n, p in pairs} for r in rows]
    conn.exec_driver_sql(sql, params)


def insert_or_add(session: Session, table: Table, index_elements: Sequence[str], column: str) -> Insert:
    """INSERT ... ON CONFLICT (cols) DO UPDATE SET column = column + the inserted value."""
    return insert_or_add_for(session.get_bind().dialect.name, table, tuple(index_elements), column)


@lru_cache(maxsize=64)
def insert_or_add_for(dialect: str, table: Table, index_elements: tuple[str, ...], column: str) -> Insert:
    # One statement reused, as `insert_ignore_for`: it runs on every ingest batch.
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=list(index_elements), set_={column: table.c[column] + stmt.excluded[column]}
    )


@dataclass(frozen=True)
class Prepared:
    """A statement compiled once for one dialect: its SQL, and for each bind parameter in order its
    name, its type's bind processor and the value it carries when the caller gives none (a literal)."""

    sql: str
    names: tuple[str, ...]
    procs: tuple[Callable[[Any], Any] | None, ...]
    defaults: tuple[Any, ...]
    positional: bool

    def run(self, conn: Connection, values: Mapping[str, Any]) -> CursorResult[Any]:
        """Executes with `values` by name, through each parameter's processor straight to the driver:
        no statement built, no cache key computed, no parameters compiled on the way."""
        out = []
        for name, proc, default in zip(self.names, self.procs, self.defaults, strict=True):
            value = values.get(name, default)
            if value is _UNSET:
                raise KeyError(f"no value for the bind parameter {name!r}")
            out.append(proc(value) if proc else value)
        params: Any = tuple(out) if self.positional else dict(zip(self.names, out, strict=True))
        return conn.exec_driver_sql(self.sql, params)


_UNSET = object()


def prepare(stmt: Executable, dialect: Dialect) -> Prepared:
    """`stmt` compiled for `dialect`, to run many times with `Prepared.run`. For statements whose
    shape never changes and whose building cost more than their execution (a webhook's acknowledgement)."""
    compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
    names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.binds)
    binds = [compiled.binds[n] for n in names]
    return Prepared(
        sql=str(compiled),
        names=names,
        procs=tuple(b.type.dialect_impl(dialect).bind_processor(dialect) for b in binds),
        defaults=tuple(_UNSET if b.required else b.effective_value for b in binds),
        positional=bool(compiled.positional),
    )
