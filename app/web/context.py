"""Who is asking, and the CSRF token of their forms.

Signed in, the CSRF token lives in the signed session cookie (session-bound). Not signed in (the
sign-in form, the pages behind emailed links), it is a random cookie the form must repeat
(double-submit)."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from fastapi import Depends, Request
from sqlmodel import Session

from app.core import logs
from app.core.clock import utcnow
from app.core.deps import get_session
from app.core.settings import Settings
from app.journey import service as journeys
from app.people import tokens
from app.people.roles import Viewer, viewer_of
from app.web.errors import Forbidden, SignInNeeded

SESSION_COOKIE = "seam_session"
CSRF_COOKIE = "seam_csrf"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def secret_of(request: Request) -> str:
    return settings_of(request).secret_key.get_secret_value()


def secure_cookies(request: Request) -> bool:
    return settings_of(request).public_url.lower().startswith("https://")


def session_data(request: Request, now: datetime | None = None) -> tokens.SessionData | None:
    if hasattr(request.state, "web_session"):
        cached: tokens.SessionData | None = request.state.web_session
        return cached
    data = tokens.read_session(secret_of(request), request.cookies.get(SESSION_COOKIE), now or utcnow())
    request.state.web_session = data
    return data


def viewer(request: Request, session: Session = Depends(get_session)) -> Viewer | None:
    """The signed-in person, or None (also when the journey no longer names them)."""
    data = session_data(request)
    if data is None:
        return None
    journey = journeys.current_or_none(session)
    logs.set_actor(f"person:{data.person}")
    return viewer_of(journey, data.person) if journey else None


def signed_in(request: Request, who: Viewer | None = Depends(viewer)) -> Viewer:
    if who is None:
        # Back to the page asked for after signing in; a form's target cannot be opened by a GET.
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(here if request.method == "GET" else "/")
    return who


def csrf_token(request: Request) -> str:
    data = session_data(request)
    if data is not None:
        return data.csrf
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(18)
        request.state.new_csrf = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    """Every form posts its CSRF token; a post without the right one changes nothing."""
    form = await request.form()
    sent = form.get("csrf")
    data = session_data(request)
    expected = data.csrf if data is not None else request.cookies.get(CSRF_COOKIE)
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden(
            "This form has expired or did not come from Seam. Go back, reload the page and try again.",
            action="csrf",
        )
