"""From a vendor draft to a stored feedback item: ``FeedbackDraft`` -> ``FeedbackIn``, and the upsert.

Item ``source``: the vendor kind (``typeform``, ``delighted``...); customer contacts (Zendesk ticket
events, Standard Webhooks ``contact.*``) use ``{kind}-contact`` (``zendesk-contact``) and carry
``metadata.contact = true`` and no score, so a trigger engine can count them apart from feedback;
every item of a staff source uses ``staff``. Metadata also names ``source_id`` and ``source_kind``.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlmodel import Session

from app.core.problems import validation_errors
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn
from app.issues import counters
from app.issues import service as issues
from app.sources.service import SourceConfig
from integrations.surveys import FeedbackDraft, MappingError

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
STAFF = "staff"
_REVISED = ("text", "customer_ref", "persona")  # not touchpoint: placement stays as it was


def to_feedback(draft: FeedbackDraft, cfg: SourceConfig) -> FeedbackIn:
    """Raises :class:`MappingError` when the draft cannot be a feedback item (the delivery is quarantined)."""
    meta: dict[str, Any] = {**draft.metadata, "source_id": cfg.id, "source_kind": cfg.kind}
    source = draft.source
    text = draft.text
    if draft.kind == "contact":
        source = f"{draft.source}-contact"
        meta["contact"] = True
        subject = meta.get("subject")
        text = text or (subject if isinstance(subject, str) and subject.strip() else None)
        text = text or f"Customer contact {draft.external_id}"
    if cfg.staff:
        source = STAFF
    if draft.customer_email and draft.customer_ref:
        meta["customer_email"] = draft.customer_email
    values = {
        "source": source,
        "external_id": draft.external_id,
        "text": text,
        "score": draft.score,
        "scale": draft.scale,
        "touchpoint": draft.touchpoint or cfg.default_touchpoint,
        "customer_ref": draft.customer_ref or draft.customer_email,
        "persona": draft.persona or cfg.default_persona,
        "occurred_at": draft.occurred_at,
        "metadata": meta,
    }
    try:
        return FeedbackIn.model_validate(values)
    except ValidationError as exc:
        first = validation_errors(exc.errors())[0]
        where = first["field"] if first["field"] != "body" else "item"
        message = first["message"].removeprefix("Value error, ")
        raise MappingError("$", f"{where}: {message}") from None


def carries_nothing(draft: FeedbackDraft) -> bool:
    """Feedback with no text and no score on a scale we track (a bare eNPS or thumbs answer)."""
    return draft.kind == "feedback" and not (draft.text and draft.text.strip()) and draft.score is None


def _newer_or_same(old: Any, new: Any) -> bool:
    """Vendors that say when a response changed (Delighted ``updated_at``) may deliver out of order."""
    numbers = (int, float)
    if isinstance(old, bool) or isinstance(new, bool):
        return True
    if isinstance(old, numbers) and isinstance(new, numbers):
        return new >= old
    if isinstance(old, str) and isinstance(new, str):
        return new >= old
    return True


def revise(session: Session, item_id: int, new: FeedbackIn) -> bool:
    """A later delivery about a stored response (Delighted updated after created, a Zendesk rating
    changed from good to bad, a ticket's next status): update the item in place, never add a second.

    Fields the new delivery leaves empty keep their value; metadata is merged. The item's issue
    counters are recomputed under the issue's lock. Returns whether anything changed.
    """
    item = session.get(FeedbackItem, item_id)
    if item is None or not _newer_or_same(item.extra.get("updated_at"), new.metadata.get("updated_at")):
        return False
    values: dict[str, Any] = {}
    for name in _REVISED:
        value = getattr(new, name)
        if value is not None and value != getattr(item, name):
            values[name] = value
    if new.score is not None and (new.score, new.scale) != (item.score, item.scale):
        values.update(score=new.score, scale=new.scale)
    extra = {**item.extra, **new.metadata}
    if extra != item.extra:
        values["extra"] = extra
    if not values:
        return False
    issue_id = item.issue_id
    if issue_id is not None:
        issues.lock(session, [issue_id])
    session.execute(update(ITEMS).where(ITEMS.c.id == item_id).values(**values))
    session.expire(item)
    if issue_id is not None:
        counters.recompute(session, issue_id)
    return True
