"""Sign-in links, one-click action links and the audit trail, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.core.sql import insert_ignore
from app.journey.schemas import Journey
from app.notify import messages, templates
from app.people import tokens
from app.people.models import AuditEntry, UsedToken
from app.people.roles import person_by_email

USED = UsedToken.__table__  # type: ignore[attr-defined]
# The one-click actions a reminder carries, and what each does once confirmed.
ACTIONS = ("acknowledge", "snooze")


def sign_in_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/sign-in/link?token={token}"


def sign_in_link(secret: str, base_url: str, person: str, now: datetime, next_path: str = "/") -> str:
    token = tokens.issue(secret, "sign-in", {"p": person, "n": next_path}, now, tokens.SIGN_IN_TTL)
    return sign_in_url(base_url, token)


def request_sign_in(
    session: Session,
    journey: Journey,
    email: str,
    *,
    secret: str,
    base_url: str,
    now: datetime,
    next_path: str = "/",
) -> bool:
    """Queue a one-time sign-in link to this address if a person of the journey has it. The caller
    answers the same either way, so the form does not tell who is in the journey."""
    person_id = person_by_email(journey, email)
    if person_id is None:
        audit(session, f"email:{email.strip()[:150]}", "sign_in_request", None, "refused", "unknown address")
        return False
    person = next(p for p in journey.people if p.id == person_id)
    link = sign_in_link(secret, base_url, person_id, now, next_path)
    ctx = {"name": person.name, "link": link, "minutes": int(tokens.SIGN_IN_TTL.total_seconds() // 60)}
    rendered = templates.render("sign_in", "[Seam] Your sign-in link", ctx)
    key = f"sign-in:{link.rsplit('=', 1)[-1][-32:]}"
    messages.queue(session, key, to_email=str(person.email), to_name=person.name, rendered=rendered)
    audit(session, f"person:{person_id}", "sign_in_request", None, "sent")
    return True


def spend(session: Session, body: dict[str, object], purpose: str, now: datetime) -> bool:
    """Marks a one-time token used; False if it was used before (by this request's rivals too)."""
    stmt = (
        insert_ignore(session, USED, ["jti"])
        .values(
            jti=str(body["jti"]),
            purpose=purpose,
            person=str(body.get("p", "")),
            used_at=now,
            expires_at=tokens.expiry(body),
        )
        .returning(USED.c.jti)
    )
    return session.execute(stmt).first() is not None


def was_spent(session: Session, body: dict[str, object]) -> bool:
    return session.get(UsedToken, str(body["jti"])) is not None


def consume_sign_in(session: Session, secret: str, token: str, now: datetime) -> tuple[str, str]:
    """The person the link signs in, once, and the page they asked for. Raises TokenError when forged,
    expired or already used."""
    body = tokens.read(secret, "sign-in", token, now)
    if not spend(session, body, "sign-in", now):
        raise tokens.TokenError("This sign-in link was already used.")
    return str(body["p"]), str(body.get("n") or "/")


def action_token(secret: str, person: str, issue_id: int, action: str, now: datetime) -> str:
    assert action in ACTIONS
    claims = {"p": person, "i": issue_id, "a": action}
    return tokens.issue(secret, "action", claims, now, tokens.ACTION_TTL)


def read_action(secret: str, token: str, now: datetime) -> dict[str, object]:
    body = tokens.read(secret, "action", token, now)
    if body.get("a") not in ACTIONS or not isinstance(body.get("i"), int):
        raise tokens.TokenError("This link is not valid.")
    return body


def audit(
    session: Session,
    actor: str,
    action: str,
    target: str | None,
    outcome: str,
    detail: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor=actor[:200], action=action[:50], target=target, outcome=outcome, detail=(detail or None)
        )
    )


def action_links(secret: str, base_url: str, person: str, issue_id: int, now: datetime) -> dict[str, str]:
    """A reminder's one-click links: each opens a confirmation page (app.web.links)."""
    base = base_url.rstrip("/")
    return {
        f"{action}_link": f"{base}/act/{action_token(secret, person, issue_id, action, now)}"
        for action in ACTIONS
    }
