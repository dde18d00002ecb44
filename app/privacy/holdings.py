"""Where Seam holds a customer's personal data: one line per column that can hold their reference, an
address of theirs or their words. Export reads this map and erasure acts on it, so a new table that
holds personal data is one more line here (and the column scan in tests/hostile/test_customer_erasure.py
fails until it is).

`match` says how a row is found: `ref` (the column is the reference), `address` (the column is one of
their addresses), `contains` (their reference, an address or one of their texts appears somewhere in
the text, JSON or bytes) or `quote` (it quotes the start of one of their texts, as an issue's title
quotes its first item). `then` says what erasure does with a row found:

- `pseudonymise`: the reference becomes the pseudonym;
- `blank`: the column is emptied (an address, a raw delivery body);
- `scrub`: the reference inside becomes the pseudonym, addresses and texts are cut out, the rest stays;
- `delete`: the row goes (a stored response that would be served again, a copied training text);
- `cancel`: an outbox message: emptied, and if not yet sent, never sent;
- `recount`: rebuilt from the anonymised items by the issues' recount;
- `unquote`: the quote of their words is cut out of the title.

Feedback items themselves are anonymised by `erase.anonymise_items`, not through this map.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    Boolean,
    LargeBinary,
    String,
    Table,
    Text,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from app.core.sql import is_in
from app.feedback.models import FeedbackItem
from app.inbox.models import InboundDelivery
from app.intake.models import IdempotencyRecord
from app.issues.models import ExperienceIssue, IssueCustomer, IssueEvent
from app.loop.models import CustomerNotice
from app.outbox.models import OutboxMessage
from app.people.models import AuditEntry
from app.privacy.matching import QUOTE_PREFIX, Needles, names, quotes, sql_forms
from app.routing.models import ItemVector, RoutingConfirmation

Match = Literal["ref", "address", "contains", "quote"]
Then = Literal["pseudonymise", "blank", "scrub", "delete", "cancel", "recount", "unquote"]


def _t(model: Any) -> Table:
    table: Table = model.__table__
    return table


@dataclass(frozen=True)
class Holding:
    table: Table
    column: str
    match: Match
    then: Then
    holds: str  # what it holds, in a few words (docs/privacy.md lists the same)

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column}"


ITEMS = _t(FeedbackItem)

HOLDINGS: tuple[Holding, ...] = (
    Holding(_t(ExperienceIssue), "title", "quote", "unquote", "an issue named by their words"),
    Holding(_t(IssueCustomer), "customer_ref", "ref", "recount", "who is counted on an issue"),
    Holding(_t(CustomerNotice), "customer_ref", "ref", "pseudonymise", "who was told of a fix"),
    Holding(_t(CustomerNotice), "address", "address", "blank", "where the notice went"),
    Holding(_t(InboundDelivery), "body", "contains", "blank", "the raw webhook delivery"),
    Holding(_t(IdempotencyRecord), "response_body", "contains", "delete", "a stored API response"),
    Holding(_t(OutboxMessage), "payload", "contains", "cancel", "an email or comment to them"),
    Holding(_t(OutboxMessage), "last_error", "contains", "scrub", "a delivery error naming them"),
    Holding(_t(IssueEvent), "before", "contains", "scrub", "an issue's history"),
    Holding(_t(IssueEvent), "after", "contains", "scrub", "an issue's history"),
    Holding(_t(IssueEvent), "reason", "contains", "scrub", "an issue's history"),
    Holding(_t(AuditEntry), "target", "contains", "scrub", "the audit log"),
    Holding(_t(AuditEntry), "detail", "contains", "scrub", "the audit log"),
    Holding(_t(RoutingConfirmation), "text", "contains", "delete", "a routing example copied from an item"),
)

# Rows made from an item's text, removed with it: (table, the column naming the item).
FROM_ITEM_TEXT: tuple[tuple[Table, str], ...] = (
    (_t(ItemVector), "item_id"),
    (_t(RoutingConfirmation), "item_id"),
)


def key_of(table: Table, row: Any) -> tuple[Any, ...]:
    return tuple(getattr(row, c.name) for c in table.primary_key.columns)


def _prefilter(session: Session, h: Holding, needles: Needles) -> ColumnElement[bool]:
    column = h.table.c[h.column]
    if h.match == "ref":
        return column == needles.ref
    if h.match == "address":
        if not needles.addresses:
            return false()
        return is_in(session, column, sorted(needles.addresses), String)
    if h.match == "quote":
        starts = {q[:QUOTE_PREFIX].lower() for q in needles.quotes()}
        if not starts:
            return false()
        return or_(*(func.lower(column).contains(f'"{s}', autoescape=True) for s in sorted(starts)))
    forms = [f for n in needles.searchable() for f in sql_forms(n)]
    if isinstance(column.type, LargeBinary):
        return or_(*(_bytes_contain(session, column, f.encode()) for f in forms))
    as_text = cast(column, Text) if isinstance(column.type, JSON) else column
    return or_(*(func.lower(as_text).contains(f.lower(), autoescape=True) for f in forms))


def _bytes_contain(session: Session, column: ColumnElement[Any], needle: bytes) -> ColumnElement[bool]:
    """Raw deliveries are bytes (mostly UTF-8 JSON): SQLite's LIKE never matches a BLOB, but `instr`
    does; PostgreSQL has LIKE for bytea."""
    if session.get_bind().dialect.name == "sqlite":
        return func.instr(column, literal(needle, LargeBinary)) > 0
    escaped = needle.replace(b"\\", b"\\\\").replace(b"%", b"\\%").replace(b"_", b"\\_")
    like = column.op("LIKE", return_type=Boolean)
    return like(literal(b"%" + escaped + b"%", LargeBinary))


def _confirmed(h: Holding, value: Any, needles: Needles, pattern: re.Pattern[str]) -> bool:
    if h.match == "quote":
        return quotes(value, needles)
    if h.match == "contains":
        return names(value, needles, pattern)
    return True  # the SQL compared the whole value


def find(session: Session, needles: Needles) -> dict[Holding, list[Any]]:
    """Every row of every holding that names the customer (the SQL finds candidates, `names` decides)."""
    pattern = needles.pattern()
    found: dict[Holding, list[Any]] = defaultdict(list)
    for h in HOLDINGS:
        rows = session.execute(select(h.table).where(_prefilter(session, h, needles))).all()
        found_here = [r for r in rows if _confirmed(h, getattr(r, h.column), needles, pattern)]
        if found_here:
            found[h] = found_here
    return dict(found)


def by_table(found: dict[Holding, list[Any]]) -> dict[str, list[Any]]:
    """Rows per table, each once, whichever of its columns named the customer."""
    out: dict[str, dict[tuple[Any, ...], Any]] = defaultdict(dict)
    for h, rows in found.items():
        for row in rows:
            out[h.table.name].setdefault(key_of(h.table, row), row)
    return {name: list(rows.values()) for name, rows in out.items()}
