"""Templates and the one way a page is answered (it sets the CSRF cookie a form needs)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.web import context

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%d %b %Y %H:%M") if value else "—"


def _day(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%d %b %Y") if value else "—"


templates.env.filters["when"] = _when
templates.env.filters["day"] = _day


def page(
    request: Request,
    name: str,
    ctx: dict[str, Any],
    *,
    status: int = 200,
    who: Any = None,
) -> HTMLResponse:
    full = {"request": request, "who": who, "csrf": context.csrf_token(request), **ctx}
    response = templates.TemplateResponse(request, name, full, status_code=status)
    new_csrf = getattr(request.state, "new_csrf", None)
    if new_csrf:
        response.set_cookie(
            context.CSRF_COOKIE,
            new_csrf,
            httponly=True,
            samesite="lax",
            secure=context.secure_cookies(request),
            path="/",
        )
    # Pages hold people's data and one-time forms: never cached, never framed by another site.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response


def message(request: Request, title: str, text: str, *, status: int = 200, who: Any = None) -> HTMLResponse:
    return page(request, "message.html", {"title": title, "text": text}, status=status, who=who)
