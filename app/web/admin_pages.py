"""Operations for the CX lead, without curl: deliveries that failed (sent again with one click) and the
API keys that reach Seam (made, listed with their last use, revoked). Every change is audited as the
API's are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlmodel import Session

from app.auth import service as keys
from app.core.clock import utcnow
from app.core.deps import get_session
from app.core.errors import DomainError
from app.core.pagination import RowId
from app.outbox import service as outbox
from app.outbox.models import OutboxMessage
from app.people.roles import LEAD, Viewer
from app.web.context import signed_in, verify_csrf
from app.web.errors import Forbidden
from app.web.render import page

router = APIRouter(include_in_schema=False)
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
DEAD_SHOWN = 50
DONE = {
    "retried": "Sent again: the worker picks it up within seconds.",
    "revoked": "Key revoked: it is refused from now on.",
}


def _lead(who: Viewer, action: str) -> None:
    if not who.may(LEAD):
        raise Forbidden(f"{who.name}, only the CX lead runs Seam's operations.", action=action)


def _deliveries(session: Session) -> dict[str, Any]:
    c = OUTBOX.c
    counts = {state: n for state, n in session.execute(select(c.state, func.count()).group_by(c.state))}
    oldest = session.execute(select(func.min(c.created_at)).where(c.state == "pending")).scalar_one()
    dead = session.execute(
        select(OutboxMessage).where(c.state == "dead").order_by(c.id.desc()).limit(DEAD_SHOWN)
    ).scalars()
    waiting = utcnow() - oldest if oldest is not None else None
    return {
        "pending": counts.get("pending", 0) + counts.get("in_flight", 0),
        "dead_total": counts.get("dead", 0),
        "oldest_minutes": int(waiting / timedelta(minutes=1)) if waiting is not None else None,
        "dead": list(dead),
    }


def _key_rows(session: Session) -> list[dict[str, Any]]:
    now = utcnow()
    rows = []
    for key in reversed(keys.list_keys(session)):
        state = "revoked" if key.revoked_at else "expired" if key.expires_at and key.expires_at <= now else ""
        rows.append({"key": key, "state": state or "active"})
    return rows


def _admin(request: Request, session: Session, who: Viewer, **extra: Any) -> HTMLResponse:
    status = int(extra.pop("status", 200))
    ctx = {"deliveries": _deliveries(session), "keys": _key_rows(session), "scopes": keys.SCOPES, **extra}
    return page(request, "admin.html", ctx, who=who, status=status)


def _change(
    request: Request, session: Session, who: Viewer, work: Callable[[], object], done: str
) -> Response:
    """One change, committed, then back to the page saying what was done; a refusal is shown on it."""
    try:
        work()
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _admin(request, session, who, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/admin?done={done}", status_code=303)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request,
    done: Annotated[Literal["retried", "revoked"] | None, Query()] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    _lead(who, "admin")
    return _admin(request, session, who, notice=DONE.get(done or ""))


@router.post("/admin/outbox/{message_id}/retry", dependencies=[Depends(verify_csrf)])
def retry_delivery(
    request: Request,
    message_id: RowId,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    _lead(who, "outbox.retry")
    return _change(request, session, who, lambda: outbox.retry(session, message_id), "retried")


@router.post("/admin/keys", dependencies=[Depends(verify_csrf)])
def make_key(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    scopes: Annotated[list[str], Form(max_length=len(keys.SCOPES))],
    expires_in_days: Annotated[int | None, Form(ge=1, le=3650)] = None,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    _lead(who, "keys.create")
    expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    try:
        row, token = keys.create_key(session, name, scopes, expires_at=expires, actor=who.actor)
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _admin(request, session, who, error=exc.detail, status=exc.status)
    # Shown once, on this answer only: Seam keeps a hash, never the key.
    return _admin(request, session, who, made={"key": row, "token": token})


@router.post("/admin/keys/{key_id}/revoke", dependencies=[Depends(verify_csrf)])
def revoke_key(
    request: Request,
    key_id: RowId,
    who: Viewer = Depends(signed_in),
    session: Session = Depends(get_session),
) -> Response:
    _lead(who, "keys.revoke")
    return _change(
        request, session, who, lambda: keys.revoke(session, keys.find(session, key_id), who.actor), "revoked"
    )
