"""Exception handlers of the pages: sign in first, or a 403 page that is also in the audit trail."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.journey import service as journeys
from app.people import service as people
from app.people.roles import viewer_of
from app.web import context
from app.web.errors import Forbidden, SignInNeeded
from app.web.render import message


def install(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(f"/sign-in?next={quote(exc.next_path, safe='')}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        data = context.session_data(request)
        actor = f"person:{data.person}" if data else "anonymous"
        # Its own transaction: the refused request's session may hold nothing worth keeping.
        with Session(request.app.state.engine) as session:
            people.audit(session, actor, exc.action, exc.target, "refused", exc.message)
            session.commit()
            journey = journeys.current_or_none(session) if data else None
        who = viewer_of(journey, data.person) if journey and data else None
        return message(request, "Not allowed", exc.message, status=403, who=who)
