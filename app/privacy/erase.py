"""Erasing one customer (`seam customers erase`, `POST /api/v1/customers/erase`), in one transaction.

Their items stay, anonymised: the reference becomes a keyed pseudonym (`pseudonyms.pseudonym`), text,
metadata and contact details are blanked and the item is marked `redacted = "erased"`. Scores,
placement and issue stay, and every issue they were on is recounted from its items, so item, customer
and detractor counts, scores and impact still add up. Every other place the map in `holdings` lists is
then cleared of their reference, addresses and texts, and the erasure is audited under a keyed digest.
A second erasure of the same reference finds nothing and changes nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, Table, and_, bindparam, delete, update
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.sql import is_in
from app.issues import counters
from app.issues import service as issues
from app.people.service import audit
from app.privacy import holdings
from app.privacy.holdings import ITEMS, Holding
from app.privacy.matching import Needles, scrub, unquote
from app.privacy.pseudonyms import audit_digest, pseudonym
from app.privacy.subject import Subject, kept_metadata, subject

ERASED = "erased"
CANCELLED = "cancelled"


@dataclass
class Erasure:
    found: int = 0
    items: int = 0
    tables: Counter[str] = field(default_factory=Counter)
    issues_recounted: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "items": self.items,
            "tables": dict(sorted(self.tables.items())),
            "issues_recounted": self.issues_recounted,
        }


def erase(
    session: Session, customer_ref: str, secret: str, actor: str, now: datetime | None = None
) -> Erasure:
    """Erases the customer; the caller commits. Returns what was found (all zero the second time)."""
    now = now or utcnow()
    who = subject(session, customer_ref)
    found = holdings.find(session, who.needles)
    report = Erasure()
    if not who.items and not found:
        return report
    alias = pseudonym(customer_ref, secret)
    if who.issue_ids:
        issues.lock(session, who.issue_ids)
    report.items = anonymise_items(session, who, secret, now)
    if report.items:
        report.tables[ITEMS.name] += report.items
    for table, column in holdings.FROM_ITEM_TEXT:
        if who.item_ids:
            gone = session.execute(
                delete(table).where(is_in(session, table.c[column], who.item_ids, Integer))
            )
            report.tables[table.name] += int(gone.rowcount or 0)  # type: ignore[attr-defined]
    for h, rows in found.items():
        _apply(session, h, rows, who.needles, alias)
    for name, rows in holdings.by_table(found).items():
        report.tables[name] += len(rows)
    for issue_id in who.issue_ids:
        counters.recompute(session, issue_id, at=now)
    report.issues_recounted = who.issue_ids
    report.found = sum(report.tables.values())
    audit(
        session,
        actor,
        "customer.erase",
        audit_digest(customer_ref, secret),
        "done",
        json.dumps(report.as_dict(), sort_keys=True),
    )
    session.flush()
    return report


def anonymise_items(session: Session, who: Subject, secret: str, now: datetime) -> int:
    needles = who.needles
    alias = pseudonym(needles.ref, secret)
    pattern = needles.pattern()
    changes = []
    for r in who.items:
        external = r.external_id
        if needles.ref.lower() in external.lower() or any(
            a.lower() in external.lower() for a in needles.addresses
        ):
            # A sender that used the customer's reference or address as its id: keep it unique, name nobody.
            external = pseudonym(f"{r.source}\0{external}", secret)
        changes.append(
            {
                "row_id": r.id,
                "customer_ref": alias,
                "external_id": external,
                "text": None,
                "extra": kept_metadata(r.extra),
                "placement": scrub(r.placement or {}, needles, alias, pattern),
                "redacted": ERASED,
                "redacted_at": now,
            }
        )
    if changes:
        c = ITEMS.c
        stmt = (
            update(ITEMS)
            .where(c.id == bindparam("row_id"))
            .values({k: bindparam(k) for k in changes[0] if k != "row_id"})
        )
        session.execute(stmt, changes)
    return len(changes)


def _where_key(table: Table, row: Any) -> Any:
    return and_(*(c == getattr(row, c.name) for c in table.primary_key.columns))


def _empty(table: Table, column: str) -> Any:
    col = table.c[column]
    if isinstance(col.type, LargeBinary):
        return b""
    if isinstance(col.type, JSON):
        return {}
    return None if col.nullable else ""


def _apply(session: Session, h: Holding, rows: list[Any], needles: Needles, alias: str) -> None:
    table = h.table
    pattern = needles.pattern()
    for row in rows:
        where = _where_key(table, row)
        if h.then == "recount":
            pass  # issue_customers: rebuilt from the anonymised items by counters.recompute
        elif h.then == "pseudonymise":
            session.execute(update(table).where(where).values({h.column: alias}))
        elif h.then == "blank":
            values: dict[str, Any] = {h.column: _empty(table, h.column)}
            if "state" in table.c and getattr(row, "state", None) in ("pending", "quarantined"):
                values["state"] = "ignored"  # a delivery with no body is nothing to process or replay
            if "error" in table.c:
                values["error"] = "customer data erased"
            session.execute(update(table).where(where).values(values))
        elif h.then == "scrub":
            new = scrub(getattr(row, h.column), needles, alias, pattern)
            session.execute(update(table).where(where).values({h.column: new}))
        elif h.then == "unquote":
            new = unquote(getattr(row, h.column), needles, alias)
            session.execute(update(table).where(where).values({h.column: new}))
        elif h.then == "delete":
            session.execute(delete(table).where(where))
        elif h.then == "cancel":
            values = {h.column: {"erased": True}}
            if getattr(row, "state", None) in ("pending", "dead"):
                values["state"] = CANCELLED  # never sent now: it was addressed to them
            session.execute(update(table).where(where).values(values))
