"""Tell the customers: when an issue is confirmed, each contactable customer whose feedback was grouped
into it hears once (one row per customer and issue, so a reopen and a second confirmation do not repeat
it, and a customer behind several items or several addresses hears once). The email comes from the
stage's template (`templates/notice_<stage>.*.j2`, else `notice.*.j2`) and carries a signed one-click
"did this fix it for you?" link; the answer comes back through the one ingest path as feedback at the
issue's moment (CSAT 5 for yes, 1 for no).

A customer is contactable when their item's metadata holds an `email` (or the customer reference is an
email address) and does not say `contact: false`. Staff feedback is never answered this way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from app.core.settings import get_settings
from app.core.sql import insert_ignore
from app.feedback import service as feedback
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn
from app.issues import service as issues
from app.issues.models import ExperienceIssue
from app.journey.schemas import Journey
from app.loop import mail
from app.loop.models import CustomerNotice

NOTICES = CustomerNotice.__table__  # type: ignore[attr-defined]
ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
FOLLOWUP_SOURCE = "seam-followup"
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def _key() -> bytes:
    secret = get_settings().secret_key.get_secret_value().encode()
    return hmac.new(secret, b"seam:customer-followup:v1", hashlib.sha256).digest()


def token_for(notice_id: int) -> str:
    sig = hmac.new(_key(), str(notice_id).encode(), hashlib.sha256).digest()[:18]
    return f"{notice_id}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


def notice_of_token(token: str) -> int | None:
    """The notice id a token names, or None if the signature does not match."""
    head, _, _sig = token.partition(".")
    if not head.isdigit() or len(head) > 18:
        return None
    return int(head) if hmac.compare_digest(token_for(int(head)), token) else None


def contact_of(customer_ref: str, extra: dict[str, Any]) -> str | None:
    if extra.get("contact") is False or str(extra.get("contact", "")).lower() in ("false", "no", "never"):
        return None
    for candidate in (extra.get("email"), customer_ref):
        if isinstance(candidate, str) and _EMAIL.match(candidate.strip()) and len(candidate) <= 320:
            return candidate.strip()
    return None


def notify(session: Session, journey: Journey, issue: ExperienceIssue, now: datetime) -> int:
    """Queue one notice per contactable customer of the confirmed issue. Returns how many are new."""
    assert issue.id is not None
    c = ITEMS.c
    rows = session.execute(
        select(c.customer_ref, c.extra)
        .where(c.issue_id == issue.id, c.customer_ref.is_not(None), c.staff.is_(False))
        .order_by(c.id)
    )
    contacts: dict[str, str] = {}
    addresses: set[str] = set()
    for customer_ref, extra in rows:
        if customer_ref in contacts:
            continue
        address = contact_of(customer_ref, extra or {})
        if address is None or address.lower() in addresses:
            continue
        contacts[customer_ref] = address
        addresses.add(address.lower())
    stage = journey.stage(issue.stage)
    moment = journey.moment(issue.stage, issue.moment) if issue.moment else None
    base = get_settings().public_url.rstrip("/")
    sent = 0
    for customer_ref, address in contacts.items():
        stmt = (
            insert_ignore(session, NOTICES, ["customer_ref", "issue_id"])
            .values(
                customer_ref=customer_ref, issue_id=issue.id, channel="email", address=address, sent_at=now
            )
            .returning(NOTICES.c.id)
        )
        notice_id = session.execute(stmt).scalar_one_or_none()
        if notice_id is None:
            continue  # told already, for an earlier confirmation
        token = token_for(int(notice_id))
        rendered = mail.render(
            f"notice_{issue.stage}",
            f"We fixed {moment.name if moment else (stage.name if stage else 'it')}: did it work for you?",
            {
                "moment": (moment.name if moment else (stage.name if stage else issue.title)).lower(),
                "stage": journey.name,
                "yes_link": f"{base}/feedback/fixed/{token}?answer=yes",
                "no_link": f"{base}/feedback/fixed/{token}?answer=no",
            },
            fallback="notice",
        )
        mail.queue(session, f"notice:{notice_id}", to_email=address, to_name="", rendered=rendered)
        sent += 1
    if sent:
        issues.record_event(
            session,
            issue.id,
            "customers_told",
            issues.Actor(issues.SYSTEM),
            after={"customers": sent},
            at=now,
        )
    return sent


def _touchpoint(journey: Journey, stage: str, moment: str | None) -> str | None:
    for tp in journey.touchpoints:
        if tp.stage == stage and tp.moment == moment:
            return tp.key
    return None


def answer(
    session: Session, journey: Journey | None, notice_id: int, yes: bool, now: datetime
) -> CustomerNotice | None:
    """Record the customer's answer (the first one counts) and ingest it as feedback at the issue's
    moment. None when there is no such notice."""
    notice = session.get(CustomerNotice, notice_id, with_for_update=True)
    if notice is None:
        return None
    if notice.answer is not None:
        return notice
    issue = issues.get(session, notice.issue_id)
    notice.answer = "yes" if yes else "no"
    notice.answered_at = now
    session.add(notice)
    item = FeedbackIn(
        source=FOLLOWUP_SOURCE,
        external_id=f"notice-{notice_id}",
        text=("The fix worked for me." if yes else "The fix did not work for me.")
        + f" (answer to the follow-up on EI-{issue.id})",
        score=5 if yes else 1,
        scale="csat",
        touchpoint=_touchpoint(journey, issue.stage, issue.moment) if journey else None,
        customer_ref=notice.customer_ref,
        occurred_at=now,
        metadata={"followup_issue": issue.id, "answer": notice.answer},
    )
    feedback.ingest(session, journey, [(0, item)], issues.Actor("customer"), now=now)
    issues.record_event(
        session,
        notice.issue_id,
        "customer_answer",
        issues.Actor("customer"),
        after={"answer": notice.answer, "notice": notice_id},
        at=now,
    )
    return notice
