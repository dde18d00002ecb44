"""Tell the customers: when an issue is confirmed, each contactable customer whose feedback was grouped
into it hears once (one row per customer and issue, so a reopen and a second confirmation do not repeat
it, and a customer behind several items or several addresses hears once). The email comes from the
stage's template (`templates/notice_<stage>.*.j2`, else `notice.*.j2`), says how the fix was judged
("confirmed by its owner" when confirmed before the evidence held, "checked against new feedback for N
days" when it held), and carries a signed one-click "did this fix it for you?" link
(`app.loop.answer_links`: for that purpose only, expiring after `SEAM_CUSTOMER_LINK_DAYS`).

The answer belongs to the issue it answers. It comes back through the one ingest path as feedback
placed on the issue's stage and moment that joins no issue (`placement.grouping.method = "answer"`,
with `answers_issue`), CSAT 5 for yes and 1 for no; the issue counts it (`answers_yes`/`answers_no`)
and an event records it. Each "no" is a regression signal: once the journey's
`accountability.verification.reopen_after_no` customers have said no since the issue was last confirmed,
it is reopened with their answers as the evidence.

Feedback that came from a Zendesk ticket (source `zendesk`, external id `ticket:N` or `csat:N`) is answered
on the ticket instead, as a public comment through the enabled Zendesk integration (app.sync's), when
there is one; otherwise the customer is emailed if they can be.

A customer is contactable when their item's metadata holds an `email` (or the customer reference is an
email address) and does not say `contact: false`. Staff feedback is never answered this way.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from app.connections.models import Integration
from app.core.actor import SYSTEM_ACTOR, Actor
from app.core.settings import Settings
from app.core.sql import insert_ignore
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn
from app.intake import ingest as feedback
from app.intake.rows import PlacedApart
from app.issues import service as issues
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey.schemas import Journey
from app.loop import answer_links
from app.loop.models import CustomerNotice
from app.notify import messages, templates
from app.outbox import service as outbox

NOTICES = CustomerNotice.__table__  # type: ignore[attr-defined]
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
FOLLOWUP_SOURCE = "seam-followup"
ZENDESK_KIND = "loop.zendesk_comment"
_TICKET = re.compile(r"^(?:ticket|csat):(\d{1,20})$")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


def contact_of(customer_ref: str, extra: dict[str, Any]) -> str | None:
    if extra.get("contact") is False or str(extra.get("contact", "")).lower() in ("false", "no", "never"):
        return None
    # Survey sources keep the address under `customer_email` (app.sources.convert); the REST API's
    # senders under `email`.
    for candidate in (extra.get("email"), extra.get("customer_email"), customer_ref):
        if isinstance(candidate, str) and _EMAIL.match(candidate.strip()) and len(candidate) <= 320:
            return candidate.strip()
    return None


def _zendesk_integration(session: Session) -> int | None:
    c = Integration.__table__.c  # type: ignore[attr-defined]
    stmt = select(c.id).where(c.vendor == "zendesk", c.enabled.is_(True)).order_by(c.id).limit(1)
    found = session.execute(stmt).scalar_one_or_none()
    return None if found is None else int(found)


def _channels(session: Session, issue_id: int) -> dict[str, tuple[str, str]]:
    """customer -> (channel, address): their Zendesk ticket when they wrote from one and a Zendesk
    integration is enabled, else their email; customers with neither (or who said no) are left out."""
    c = ITEMS.c
    rows = session.execute(
        select(c.customer_ref, c.source, c.external_id, c.extra)
        .where(c.issue_id == issue_id, c.customer_ref.is_not(None), c.staff.is_(False))
        .order_by(c.id)
    )
    zendesk = _zendesk_integration(session)
    out: dict[str, tuple[str, str]] = {}
    seen: set[str] = set()
    for customer_ref, source, external_id, extra in rows:
        if customer_ref in out:
            continue
        ticket = _TICKET.match(external_id or "") if source == "zendesk" else None
        if ticket and zendesk is not None and (extra or {}).get("contact") is not False:
            channel = ("zendesk", ticket.group(1))
        else:
            address = contact_of(customer_ref, extra or {})
            if address is None:
                continue
            channel = ("email", address)
        if channel[1].lower() in seen:
            continue
        out[customer_ref] = channel
        seen.add(channel[1].lower())
    return out


def how_checked(early: bool, checked_for: timedelta) -> str:
    """What the notice says about the evidence: only what is true."""
    if early:
        return "The fix was confirmed by its owner."
    days = max(1, round(checked_for.total_seconds() / 86400))
    return f"We checked it against new feedback for {days} day{'s' if days != 1 else ''}."


def notify(
    session: Session,
    journey: Journey,
    issue: ExperienceIssue,
    now: datetime,
    settings: Settings,
    *,
    checked: str = "The fix was confirmed by its owner.",
) -> int:
    """Queue one notice per reachable customer of the confirmed issue. Returns how many are new.
    `checked` is the sentence on how the fix was judged (`how_checked`)."""
    assert issue.id is not None
    stage = journey.stage(issue.stage)
    moment = journey.moment(issue.stage, issue.moment) if issue.moment else None
    base = settings.public_url.rstrip("/")
    secret = settings.secret_key.get_secret_value()
    expires = answer_links.expiry(settings, now)
    sent = 0
    for customer_ref, (channel, address) in _channels(session, issue.id).items():
        stmt = (
            insert_ignore(session, NOTICES, ["customer_ref", "issue_id"])
            .values(
                customer_ref=customer_ref, issue_id=issue.id, channel=channel, address=address, sent_at=now
            )
            .returning(NOTICES.c.id)
        )
        notice_id = session.execute(stmt).scalar_one_or_none()
        if notice_id is None:
            continue  # told already, for an earlier confirmation
        token = answer_links.token_for(int(notice_id), secret, expires)
        rendered = templates.render(
            f"notice_{issue.stage}",
            f"We fixed {moment.name if moment else (stage.name if stage else 'it')}: did it work for you?",
            {
                "moment": (moment.name if moment else (stage.name if stage else issue.title)).lower(),
                "stage": journey.name,
                "checked": checked,
                "yes_link": f"{base}/feedback/fixed/{token}?answer=yes",
                "no_link": f"{base}/feedback/fixed/{token}?answer=no",
            },
            fallback="notice",
        )
        if channel == "zendesk":
            payload = {
                "integration_id": _zendesk_integration(session),
                "ticket_id": address,
                "body": rendered.text,
            }
            outbox.enqueue(session, ZENDESK_KIND, f"notice:{notice_id}", payload)
        else:
            messages.queue(session, f"notice:{notice_id}", to_email=address, to_name="", rendered=rendered)
        sent += 1
    if sent:
        issues.record_event(
            session,
            issue.id,
            "customers_told",
            SYSTEM_ACTOR,
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
    """Record the customer's answer (the first one counts) as evidence on the issue it answers; a "no"
    may reopen it (`reopen_after_no`). None when there is no such notice."""
    notice = session.get(CustomerNotice, notice_id, with_for_update=True)
    if notice is None:
        return None
    if notice.answer is not None:
        return notice
    issues.lock(session, [notice.issue_id])
    issue = issues.get(session, notice.issue_id)
    session.refresh(issue)
    assert issue.id is not None
    notice.answer = "yes" if yes else "no"
    notice.answered_at = now
    session.add(notice)
    session.flush()
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
    where = PlacedApart(
        stage=issue.stage,
        moment=issue.moment,
        grouping={"method": "answer", "answers_issue": issue.id, "answer": notice.answer},
    )
    (result,) = feedback.ingest(
        session, journey, [(0, item)], Actor("customer"), now=now, placed_apart={0: where}
    )
    c = ISSUES.c
    counter = c.answers_yes if yes else c.answers_no
    session.execute(update(ISSUES).where(c.id == issue.id).values({counter: counter + 1}))
    issues.record_event(
        session,
        issue.id,
        "customer_answer",
        Actor("customer"),
        after={"answer": notice.answer, "notice": notice_id, "item_id": result.id},
        at=now,
    )
    if not yes and journey is not None:
        _reopen_on_no(session, journey, issue, now)
    return notice


def _reopen_on_no(session: Session, journey: Journey, issue: ExperienceIssue, now: datetime) -> None:
    """Reopens a confirmed (or shipped) fix once enough customers said no since it was last confirmed."""
    assert issue.id is not None
    if issue.status not in ("confirmed", "fix_shipped"):
        return  # already back in people's hands: the "no" stays on it as evidence
    needed = journey.accountability.verification.reopen_after_no
    since = _last_confirmed_at(session, issue.id)
    c = NOTICES.c
    stmt = select(func.count()).where(c.issue_id == issue.id, c.answer == "no")
    if since is not None:
        stmt = stmt.where(c.answered_at >= since)
    noes = int(session.execute(stmt).scalar_one())
    if noes < needed:
        return
    reason = (
        f"{noes} customer{'s' if noes != 1 else ''} answered that the fix did not work for them "
        f"(the journey reopens at {needed})"
    )
    issues.record_event(
        session,
        issue.id,
        "verification",
        SYSTEM_ACTOR,
        reason=reason,
        after={"outcome": "regressed", "customer_no": noes, "reopen_after_no": needed},
        at=now,
    )
    issues.transition(session, issue.id, "reopened", reason, SYSTEM_ACTOR, at=now)


def _last_confirmed_at(session: Session, issue_id: int) -> datetime | None:
    e = IssueEvent
    stmt = select(func.max(col(e.at))).where(col(e.issue_id) == issue_id, col(e.kind) == "confirmation")
    found: datetime | None = session.execute(stmt).scalar_one_or_none()
    return found
