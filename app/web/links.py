"""The pages behind the links Seam emails: a reminder's one-click acknowledge and snooze, and the
customer's "did this fix it for you?". A GET only shows what would happen; the button (a POST) does it,
so mail scanners that follow links act for nobody. A reminder's link works without signing in, only for
its person, issue and action, once, until it expires."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.deps import get_session
from app.core.errors import DomainError
from app.issues import service as issues
from app.journey import service as journeys
from app.loop import answer_links, customers
from app.loop import service as loop
from app.people import service as people
from app.people import tokens
from app.people.roles import viewer_of
from app.web import context
from app.web.render import message, page

router = APIRouter(include_in_schema=False)
SNOOZE_FOR = timedelta(days=7)
SNOOZE_REASON = "Snoozed for a week from the reminder email."
Token = Annotated[str, Form(max_length=2000)]


def _read(request: Request, session: Session, token: str) -> dict[str, Any] | str:
    """The link's claims, or why it cannot be used."""
    try:
        body = people.read_action(context.secret_of(request), token, utcnow())
    except tokens.TokenError as exc:
        return exc.reason
    if people.was_spent(session, body):
        return "This link was already used."
    return body


@router.get("/act/{token}", response_class=HTMLResponse)
def action_page(
    request: Request, token: Annotated[str, Path(max_length=2000)], session: Session = Depends(get_session)
) -> Response:
    body = _read(request, session, token)
    if isinstance(body, str):
        return message(request, "Link refused", f"{body} Open the issue in Seam instead.", status=400)
    journey = journeys.current(session)
    person = viewer_of(journey, str(body["p"]))
    issue = issues.get(session, int(str(body["i"])))
    if person is None:
        return message(request, "Link refused", "This person is no longer in the journey.", status=400)
    until = (utcnow() + SNOOZE_FOR).strftime("%d %b %Y")
    ctx = {"token": token, "person": person, "issue": issue, "action": body["a"], "until": until}
    return page(request, "confirm_action.html", ctx)


@router.post("/act", response_class=HTMLResponse, dependencies=[Depends(context.verify_csrf)])
def action_do(request: Request, token: Token, session: Session = Depends(get_session)) -> Response:
    body = _read(request, session, token)
    if isinstance(body, str):
        return message(request, "Link refused", body, status=400)
    now = utcnow()
    issue_id, person = int(str(body["i"])), str(body["p"])
    journey = journeys.current(session)
    actor = Actor(f"person:{person}")
    try:
        if not people.spend(session, body, "action", now):
            return message(request, "Link refused", "This link was already used.", status=400)
        if body["a"] == "acknowledge":
            loop.acknowledge(session, journey, issue_id, actor, now)
            done = "Acknowledged: the reminders so far are settled."
        else:
            loop.snooze(session, journey, issue_id, SNOOZE_REASON, now + SNOOZE_FOR, actor, now)
            done = "Snoozed: no reminders for a week."
        session.commit()
    except DomainError as exc:
        session.rollback()
        return message(request, "Nothing changed", exc.detail, status=exc.status)
    return message(request, "Done", f"EI-{issue_id}: {done}")


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())


def _notice(request: Request, token: str) -> int | Response:
    """The notice a customer's link answers, or the page that says why it cannot."""
    found = answer_links.read(token, _secret(request), utcnow())
    if found == answer_links.EXPIRED:
        days = request.app.state.settings.customer_link_days
        return message(
            request,
            "Link expired",
            f"This link has expired: it worked for {days} days after we wrote to you. "
            "Thank you all the same.",
            status=410,
        )
    if not isinstance(found, int):
        return message(request, "Link not valid", "This link is not valid.", status=404)
    return found


@router.get("/feedback/fixed/{token}", response_class=HTMLResponse)
def fixed_question(
    request: Request,
    token: Annotated[str, Path(max_length=100)],
    answer: Literal["yes", "no"] | None = Query(default=None),
) -> Response:
    """The customer's "did this fix it for you?": the question, answered by a button (a POST)."""
    notice_id = _notice(request, token)
    if isinstance(notice_id, Response):
        return notice_id
    return page(request, "customer_answer.html", {"token": token, "chosen": answer})


@router.post(
    "/feedback/fixed/{token}", response_class=HTMLResponse, dependencies=[Depends(context.verify_csrf)]
)
def fixed_answer(
    request: Request,
    token: Annotated[str, Path(max_length=100)],
    answer: Annotated[Literal["yes", "no"], Form()],
    session: Session = Depends(get_session),
) -> Response:
    notice_id = _notice(request, token)
    if isinstance(notice_id, Response):
        return notice_id
    notice = customers.answer(
        session, journeys.current_or_none(session), notice_id, answer == "yes", utcnow()
    )
    if notice is None:
        return message(request, "Link not valid", "This link is not valid.", status=404)
    session.commit()
    return message(request, "Thank you", "Thank you, we have your answer.")
