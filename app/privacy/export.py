"""Everything Seam holds about one customer reference, as JSON (`seam customers export`,
`POST /api/v1/customers/export`)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlmodel import Session

from app.core.clock import utcnow
from app.issues.models import ExperienceIssue
from app.privacy import holdings
from app.privacy.subject import NOTICES, subject

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
# Tables given a section of their own; every other holding's rows go under "elsewhere".
SECTIONS = {
    "customer_notices": "notices",
    "inbound_deliveries": "inbox_deliveries",
    "outbox_messages": "outbox_messages",
}
# Internal columns that say nothing about the customer.
_LEFT_OUT = {"ingest_batch", "created_by_key_id", "lease_until", "locked_by", "request_hash"}


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        raw = bytes(value)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return {"base64": base64.b64encode(raw).decode()}
    return value


def _row(table: Table, row: Any) -> dict[str, Any]:
    return {c.name: _json_safe(getattr(row, c.name)) for c in table.columns if c.name not in _LEFT_OUT}


def _item(row: Any) -> dict[str, Any]:
    out = _row(holdings.ITEMS, row)
    out["metadata"] = out.pop("extra")
    return out


def export(session: Session, customer_ref: str) -> dict[str, Any]:
    who = subject(session, customer_ref)
    found = holdings.by_table(holdings.find(session, who.needles))
    issues = session.execute(
        select(ISSUES.c.id, ISSUES.c.title, ISSUES.c.status, ISSUES.c.stage)
        .where(ISSUES.c.id.in_(who.issue_ids))
        .order_by(ISSUES.c.id)
    ).all()
    notices = [_row(NOTICES, n) for n in who.notices]
    out: dict[str, Any] = {
        "customer_ref": customer_ref,
        "exported_at": utcnow().isoformat(),
        "items": [_item(r) for r in who.items],
        "issues": [{"id": i.id, "title": i.title, "state": i.status, "stage": i.stage} for i in issues],
        "notices": notices,
        "answers": [
            {
                "notice_id": n["id"],
                "issue_id": n["issue_id"],
                "answer": n["answer"],
                "answered_at": n["answered_at"],
            }
            for n in notices
            if n["answer"] is not None
        ],
        "inbox_deliveries": [],
        "outbox_messages": [],
        "elsewhere": {},
    }
    tables = {h.table.name: h.table for h in holdings.HOLDINGS}
    for name, rows in sorted(found.items()):
        if name == "customer_notices":
            continue  # listed above, by reference
        section = SECTIONS.get(name)
        listed = [_row(tables[name], r) for r in rows]
        if section:
            out[section] = listed
        else:
            out["elsewhere"][name] = listed
    return out


def counts(exported: dict[str, Any]) -> int:
    """How many rows the export found (0: Seam holds nothing under this reference)."""
    sections = ("items", "notices", "inbox_deliveries", "outbox_messages")
    return sum(len(exported[s]) for s in sections) + sum(len(v) for v in exported["elsewhere"].values())
