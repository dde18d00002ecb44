"""A rendered message and the one way any message is queued: an outbox row holding its parts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session

from app.notify.charts import Chart
from app.outbox import service as outbox

EMAIL_KIND = "email"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def one_line(value: str) -> str:
    """Collapse every run of whitespace (CR/LF included) to one space: safe in subjects and cells."""
    return " ".join(_CONTROL.sub(" ", value).split())


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    # Drawn at delivery; the HTML refers to each by `cid:`.
    charts: tuple[Chart, ...] = ()


def queue(session: Session, dedupe_key: str, *, to_email: str, to_name: str, rendered: Rendered) -> bool:
    """One `email` outbox row, in the caller's transaction. True if new (the key was not used before)."""
    payload: dict[str, object] = {
        "to_email": to_email,
        "to_name": one_line(to_name),
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
    }
    if rendered.charts:
        payload["charts"] = [c.model_dump(mode="json") for c in rendered.charts]
    return outbox.enqueue(session, EMAIL_KIND, dedupe_key, payload)
