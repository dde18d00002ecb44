"""The one template environment for messages, and rendering a message's subject, HTML and text.

Autoescaped (HTML and text alike): values are never evaluated as templates, and feedback text reaches
Jinja only as data. Templates are loaded only from this package's directory, never from data or
settings: a sandbox guards against untrusted templates, which Seam never renders, and its check of
every attribute read was most of a digest's rendering time. The plain-text part is then un-escaped
once: text/plain has no markup to inject into, and readers should see "R&D", not "R&amp;D".
"""

from __future__ import annotations

import html
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound

from app.notify.messages import Rendered, one_line

TEMPLATES = Path(__file__).parent / "templates"


def fmt_num(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"


def fmt_signed(value: float | None) -> str:
    if value is None:
        return ""
    return ("+" if value >= 0 else "-") + fmt_num(abs(value))


def fmt_day(value: date | None) -> str:
    return "not set" if value is None else f"{value:%-d %b}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(num=fmt_num, signed=fmt_signed, day=fmt_day)
    return env


def render(name: str, subject: str, context: dict[str, Any], *, fallback: str | None = None) -> Rendered:
    """`name.html.j2` and `name.txt.j2` (or `fallback`'s when `name` has none)."""
    env = environment()
    title = one_line(subject)
    ctx = {**context, "subject": title}
    try:
        html_t, text_t = env.get_template(f"{name}.html.j2"), env.get_template(f"{name}.txt.j2")
    except TemplateNotFound:
        if fallback is None:
            raise
        html_t, text_t = env.get_template(f"{fallback}.html.j2"), env.get_template(f"{fallback}.txt.j2")
    text = html.unescape(text_t.render(ctx)).strip() + "\n"
    return Rendered(subject=title, html=html_t.render(ctx), text=text)
