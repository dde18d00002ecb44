"""Sign-in by one-time email link, and sign-out.

The emailed link opens a page whose button signs in (a POST): a mail scanner that follows the link
spends nothing, and the link still works once for the person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from app.auth import ratelimit
from app.auth.deps import client_address
from app.core.clock import utcnow
from app.core.deps import get_session
from app.journey import service as journeys
from app.people import service as people
from app.people import tokens
from app.people.roles import viewer_of
from app.web import context
from app.web.render import message, page

router = APIRouter(include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only a path on this site: never another host (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value[:500]


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return page(request, "sign_in.html", {"next": safe_next(next)})


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[Depends(context.verify_csrf)])
def sign_in_request(
    request: Request,
    email: Annotated[str, Form(max_length=320)],
    next: Annotated[str | None, Form(max_length=500)] = None,
    session: Session = Depends(get_session),
) -> Response:
    journey = journeys.current_or_none(session)
    settings = context.settings_of(request)
    wait = _sign_in_limited(request, session, email, settings.rate_sign_in_per_hour)
    if wait is not None:
        session.commit()  # the counts
        refused = message(
            request,
            "Too many sign-in requests",
            "Too many sign-in links were asked for. Try again later.",
            status=429,
        )
        refused.headers["Retry-After"] = str(wait)
        return refused
    if journey is not None:
        people.request_sign_in(
            session,
            journey,
            email,
            secret=context.secret_of(request),
            base_url=settings.public_url,
            now=utcnow(),
            next_path=safe_next(next),
        )
        session.commit()
    # The same answer whether or not the address is known: the form tells nobody who works here.
    return message(
        request,
        "Check your email",
        "If this address belongs to someone in the journey, a sign-in link is on its way. "
        "It works once, for 15 minutes.",
    )


def _sign_in_limited(request: Request, session: Session, email: str, per_hour: int) -> int | None:
    """Counted in the database: each link is an email, so the limit holds across replicas."""
    waits = [
        ratelimit.hit_shared(session, ratelimit.bucket_of("sign-in:email", email), per_hour, 3600),
        ratelimit.hit_shared(
            session, ratelimit.bucket_of("sign-in:addr", client_address(request)), 6 * per_hour, 3600
        ),
    ]
    found = [w for w in waits if w is not None]
    return max(found) if found else None


@router.get("/sign-in/link", response_class=HTMLResponse)
def sign_in_link(
    request: Request,
    token: Annotated[str, Query(max_length=2000)],
    session: Session = Depends(get_session),
) -> Response:
    try:
        body = tokens.read(context.secret_of(request), "sign-in", token, utcnow())
    except tokens.TokenError as exc:
        return message(request, "Sign-in link refused", f"{exc.reason} Ask for a new one.", status=400)
    if people.was_spent(session, body):
        return message(request, "Sign-in link refused", "This sign-in link was already used.", status=400)
    journey = journeys.current_or_none(session)
    who = viewer_of(journey, str(body["p"])) if journey else None
    if who is None:
        return message(
            request, "Sign-in link refused", "This person is no longer in the journey.", status=400
        )
    return page(request, "sign_in_confirm.html", {"token": token, "person": who})


@router.post("/sign-in/link", dependencies=[Depends(context.verify_csrf)])
def sign_in_complete(
    request: Request,
    token: Annotated[str, Form(max_length=2000)],
    session: Session = Depends(get_session),
) -> Response:
    now = utcnow()
    try:
        person, next_path = people.consume_sign_in(session, context.secret_of(request), token, now)
    except tokens.TokenError as exc:
        session.rollback()
        return message(request, "Sign-in link refused", f"{exc.reason} Ask for a new one.", status=400)
    people.audit(session, f"person:{person}", "sign_in", None, "done")
    session.commit()
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        context.SESSION_COOKIE,
        tokens.new_session(context.secret_of(request), person, now),
        max_age=int(tokens.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=context.secure_cookies(request),
        path="/",
    )
    response.delete_cookie(context.CSRF_COOKIE, path="/")
    return response


@router.post("/sign-out", dependencies=[Depends(context.verify_csrf)])
def sign_out(request: Request) -> Response:
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(context.SESSION_COOKIE, path="/")
    return response
