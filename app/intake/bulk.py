"""Many triage decisions at once: all placed, or none (the first refusal names its item)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from app.core.actor import Actor
from app.core.errors import DomainError, InvalidInput, field_error
from app.feedback.models import FeedbackItem
from app.intake.triage import triage, triage_into
from app.journey.schemas import Journey

MAX_ITEMS = 500


def triage_many(
    session: Session,
    journey: Journey,
    item_ids: Sequence[int],
    stage: str,
    moment: str | None,
    reason: str | None,
    actor: Actor,
    *,
    into_issue: int | None = None,
) -> list[FeedbackItem]:
    """On the stage (each item joins its most similar issue there), or all into one chosen issue."""
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise InvalidInput("Select at least one item.", errors=[field_error("items", "empty")])
    if len(ids) > MAX_ITEMS:
        raise InvalidInput(
            f"At most {MAX_ITEMS} items at once.", errors=[field_error("items", f"more than {MAX_ITEMS}")]
        )
    placed = []
    for n, item_id in enumerate(ids):
        try:
            if into_issue is not None:
                placed.append(triage_into(session, journey, item_id, into_issue, reason, actor))
            else:
                placed.append(triage(session, journey, item_id, stage, moment, reason, actor))
        except DomainError as exc:
            exc.errors = [field_error(f"items[{n}]", f"item {item_id}: {exc.detail}"), *exc.errors]
            raise
    return placed
