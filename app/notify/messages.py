"""A rendered message and the one way any message is queued: an outbox row holding its parts."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session

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


def queue(session: Session, dedupe_key: str, *, to_email: str, to_name: str, rendered: Rendered) -> bool:
    """One `email` outbox row, in the caller's transaction. True if new (the key was not used before)."""
    payload = {
        "to_email": to_email,
        "to_name": one_line(to_name),
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
    }
    return outbox.enqueue(session, EMAIL_KIND, dedupe_key, payload)
