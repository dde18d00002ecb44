"""The small emails of the loop (reminders, "please confirm", customer notices) and the one way any email
is queued: an `email` outbox row holding the rendered parts. Templates are autoescaped; the text part is
unescaped once, as in app.digests.render."""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound
from sqlmodel import Session

from app.digests.model import one_line
from app.digests.render import Rendered
from app.outbox import service as outbox

EMAIL_KIND = "email"
TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, subject: str, context: dict[str, Any], *, fallback: str | None = None) -> Rendered:
    """`name.html.j2` and `name.txt.j2` (or `fallback`'s when `name` has none)."""
    env = environment()
    ctx = {**context, "subject": one_line(subject)}
    try:
        html_t, text_t = env.get_template(f"{name}.html.j2"), env.get_template(f"{name}.txt.j2")
    except TemplateNotFound:
        if fallback is None:
            raise
        html_t, text_t = env.get_template(f"{fallback}.html.j2"), env.get_template(f"{fallback}.txt.j2")
    return Rendered(
        subject=one_line(subject),
        html=html_t.render(ctx),
        text=html.unescape(text_t.render(ctx)).strip() + "\n",
    )


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
