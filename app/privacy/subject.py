"""One customer as Seam knows them: their items, and from those and their notices the needles
(reference, addresses, texts) that find them everywhere else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.loop.models import CustomerNotice
from app.privacy.holdings import ITEMS
from app.privacy.matching import Needles

NOTICES = CustomerNotice.__table__  # type: ignore[attr-defined]
# Metadata keys that carry a way to reach the customer (vendors' and our own mappings write these).
CONTACT_KEYS = ("email", "customer_email", "phone", "customer_phone", "name", "customer_name")
# Metadata Seam writes itself and that names nobody: kept when an item's metadata is blanked, so the
# item still says where it came from and what it answers.
KEPT_METADATA = ("source_id", "source_kind", "followup_issue", "answer")


@dataclass(frozen=True)
class Subject:
    needles: Needles
    items: Sequence[Any]
    notices: Sequence[Any]

    @property
    def item_ids(self) -> list[int]:
        return [int(r.id) for r in self.items]

    @property
    def issue_ids(self) -> list[int]:
        return sorted({int(r.issue_id) for r in self.items if r.issue_id is not None})


def kept_metadata(extra: dict[str, Any] | None) -> dict[str, Any]:
    extra = extra or {}
    kept = {k: extra[k] for k in KEPT_METADATA if k in extra and isinstance(extra[k], int | str)}
    if isinstance(extra.get("contact"), bool):
        kept["contact"] = extra["contact"]  # marks a contact (not a survey answer); a flag, no address
    return kept


def _addresses(customer_ref: str, items: Sequence[Any], notices: Sequence[Any]) -> set[str]:
    found: set[str] = set()
    for r in items:
        for key in CONTACT_KEYS:
            value = (r.extra or {}).get(key)
            if isinstance(value, str) and value.strip() and value.strip() != customer_ref:
                found.add(value.strip())
    found |= {n.address for n in notices if n.address and n.address != customer_ref}
    return found


def subject(session: Session, customer_ref: str) -> Subject:
    items = session.execute(
        select(ITEMS).where(ITEMS.c.customer_ref == customer_ref).order_by(ITEMS.c.id)
    ).all()
    notices = session.execute(
        select(NOTICES).where(NOTICES.c.customer_ref == customer_ref).order_by(NOTICES.c.id)
    ).all()
    texts = {r.text.strip() for r in items if r.text and r.text.strip()}
    needles = Needles(
        ref=customer_ref,
        addresses=frozenset(_addresses(customer_ref, items, notices)),
        texts=frozenset(texts),
    )
    return Subject(needles=needles, items=items, notices=notices)
