"""Outbox handlers for sync: the only code here that calls Jira or Zendesk.

Kinds: sync.create_ticket, sync.transition, sync.comment, sync.pull (reconciliation), sync.inbound
(processing of a stored webhook delivery), and the loop's `loop.assessed` (an issue's priority or due
date changed: its tickets follow). Each reads what it needs in a short session, calls the
vendor with no transaction open, then records the outcome in a second short session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.connections import service as connections
from app.connections.models import Integration
from app.connections.trackers import tracker_for
from app.core.actor import Actor
from app.feedback.models import FeedbackItem
from app.inbox import service as inbox
from app.inbox.models import InboundDelivery
from app.issues import service as issues
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.outbox.handlers import JobContext
from app.outbox.models import OutboxMessage
from app.sync import events, service
from app.sync.models import Contribution
from integrations.base import (
    PermanentError,
    Priority,
    TicketDescription,
    TicketDraft,
    TicketRef,
    TicketTarget,
    TicketUpdate,
    UnsupportedWebhookEvent,
    WebhookSignatureError,
)

log = logging.getLogger("seam.sync")
INBOUND_KIND = "sync.inbound"
PULL_KIND = "sync.pull"
MAX_VERBATIMS = 5
SYNC = Actor("sync")
# Seam's priorities as the trackers name them (Jira maps these to its own names, per integration).
TRACKER_PRIORITY: dict[str, Priority] = {"p1": "urgent", "p2": "high", "p3": "normal", "p4": "low"}
# An issue's assessed priority and due date (app.loop's); the composition root hands it in.
Assessment = Callable[[Session, int], tuple[str, datetime] | None]


def _tracker_fields(
    session: Session, issue_id: int, assessment: Assessment | None
) -> tuple[Priority | None, date | None]:
    assessed = assessment(session, issue_id) if assessment is not None else None
    if assessed is None:
        return None, None
    priority, due = assessed
    return TRACKER_PRIORITY.get(priority), due.date()


def _load(session: Session, contribution_id: int) -> tuple[Contribution, Integration] | None:
    contribution = session.get(Contribution, contribution_id)
    if contribution is None:
        return None
    integration = session.get(Integration, contribution.integration_id)
    assert integration is not None  # foreign key
    return contribution, integration


def ticket_ref(contribution: Contribution, vendor: str) -> TicketRef:
    assert contribution.ticket_id is not None
    return TicketRef(
        vendor="jira" if vendor == "jira" else "zendesk",
        id=contribution.ticket_id,
        key=contribution.ticket_key or contribution.ticket_id,
        url=contribution.ticket_url or "",
    )


def build_draft(
    session: Session,
    issue: ExperienceIssue,
    contribution: Contribution,
    public_url: str,
    assessment: Assessment | None = None,
) -> TicketDraft:
    """Stage, moment and impact first, then a handful of verbatims, then the link back to Seam; the
    issue's priority and due date as the ticket's own."""
    assert issue.id is not None
    journey = journeys.current_or_none(session)
    stage = journey.stage(issue.stage) if journey else None
    moment = journey.moment(issue.stage, issue.moment) if journey and issue.moment else None
    stmt = (
        select(col(FeedbackItem.text))
        .where(col(FeedbackItem.issue_id) == issue.id, col(FeedbackItem.text).is_not(None))
        .order_by(col(FeedbackItem.occurred_at).desc())
        .limit(MAX_VERBATIMS)
    )
    verbatims = [str(t) for t in session.execute(stmt).scalars() if t and str(t).strip()]
    impact = (
        f"{issue.item_count} feedback items from {issue.customer_count} customers, "
        f"{issue.detractor_count} detractors (impact score {issue.impact:.0f})"
    )
    target = contribution.target
    priority, due = _tracker_fields(session, issue.id, assessment)
    return TicketDraft(
        priority=priority,
        due_date=due,
        seam_issue_id=f"EI-{issue.id}",
        summary=f"[EI-{issue.id}] {issue.title}"[:255],
        description=TicketDescription(
            stage=stage.name if stage else issue.stage,
            moment=(moment.name if moment else issue.moment) or None,
            impact=impact,
            verbatims=verbatims,
            link=events.issue_link(public_url, issue.id),
        ),
        labels=["seam", f"stage-{issue.stage}", f"team-{contribution.team}"],
        target=TicketTarget(
            project_key=target.get("project_key"),
            issue_type=target.get("issue_type") or "Task",
            group_id=target.get("group_id"),
        ),
    )


async def create_ticket(
    ctx: JobContext, message: OutboxMessage, assessment: Assessment | None = None
) -> None:
    """Exactly one ticket per contribution: the adapter looks our idempotency key up on the far side
    before creating, so a retry after a lost response or a crash before our commit finds its ticket."""
    contribution_id = int(message.payload["contribution_id"])
    with Session(ctx.engine, expire_on_commit=False) as session:
        loaded = _load(session, contribution_id)
        if loaded is None or loaded[0].ticket_id is not None:
            return
        contribution, integration = loaded
        issue = issues.get(session, contribution.issue_id)
        draft = build_draft(session, issue, contribution, ctx.settings.public_url, assessment)
    async with tracker_for(ctx, integration) as tracker:
        ref = await tracker.create(draft, idempotency_key=message.dedupe_key)
    with Session(ctx.engine) as session:
        contribution = service.lock_contribution(session, contribution_id)
        if contribution.ticket_id is None:
            contribution.ticket_id, contribution.ticket_key, contribution.ticket_url = (
                ref.id,
                ref.key,
                ref.url,
            )
            if contribution.state == "requested":
                contribution.state = "open"
            contribution.last_synced_at = contribution.updated_at = ctx.now
            session.add(contribution)
            issues.record_event(
                session,
                contribution.issue_id,
                "ticket_created",
                SYNC,
                after={
                    "contribution": contribution_id,
                    "team": contribution.team,
                    "ticket": ref.key,
                    "url": ref.url,
                },
            )
        session.commit()
    log.info("contribution %s: ticket %s %s", contribution_id, integration.vendor, ref.key)


def ticket_failed(session: Session, message: OutboxMessage, error: str) -> None:
    """The ticket could not be created within its retry budget: the contribution shows `failed` and why
    (in the transaction that parks the message), until the message is retried."""
    contribution = session.get(Contribution, int(message.payload["contribution_id"]))
    if contribution is None or contribution.ticket_id is not None:
        return
    contribution.state = "failed"
    contribution.failure_reason = error[:2000]
    session.add(contribution)
    issues.record_event(
        session,
        contribution.issue_id,
        "ticket_failed",
        SYNC,
        reason=error[:2000],
        after={"contribution": contribution.id, "team": contribution.team, "outbox_message": message.id},
    )


def ticket_retried(session: Session, message: OutboxMessage) -> None:
    """A dead ticket job is retried: its contribution is `requested` again."""
    contribution = session.get(Contribution, int(message.payload["contribution_id"]))
    if contribution is None or contribution.state != "failed":
        return
    contribution.state = "requested"
    contribution.failure_reason = None
    session.add(contribution)


async def transition_ticket(ctx: JobContext, message: OutboxMessage) -> None:
    """Transitions are not idempotent; the adapter reads the ticket first and does nothing if it is there."""
    with Session(ctx.engine, expire_on_commit=False) as session:
        loaded = _load(session, int(message.payload["contribution_id"]))
    if loaded is None or loaded[0].ticket_id is None:
        return
    contribution, integration = loaded
    async with tracker_for(ctx, integration) as tracker:
        await tracker.transition(ticket_ref(contribution, integration.vendor), message.payload["to"])


async def follow_assessment(ctx: JobContext, message: OutboxMessage, assessment: Assessment) -> None:
    """The issue's priority or due date changed: every ticket of its contributions takes the current
    ones (read now, so a late or repeated message sets what is true, never an older value)."""
    issue_id = int(message.payload["issue_id"])
    with Session(ctx.engine, expire_on_commit=False) as session:
        stmt = select(Contribution).where(
            col(Contribution.issue_id) == issue_id, col(Contribution.ticket_id).is_not(None)
        )
        targets = [
            (c, integration)
            for c in session.execute(stmt.order_by(col(Contribution.id))).scalars()
            if (integration := session.get(Integration, c.integration_id)) is not None
        ]
        priority, due = _tracker_fields(session, issue_id, assessment)
    if priority is None:
        return
    for contribution, integration in targets:
        async with tracker_for(ctx, integration) as tracker:
            await tracker.update(
                ticket_ref(contribution, integration.vendor), TicketUpdate(priority=priority, due_date=due)
            )


async def comment_ticket(ctx: JobContext, message: OutboxMessage) -> None:
    with Session(ctx.engine, expire_on_commit=False) as session:
        loaded = _load(session, int(message.payload["contribution_id"]))
    if loaded is None or loaded[0].ticket_id is None:
        return
    contribution, integration = loaded
    # The link is added when the comment goes out: the public URL is the delivering process's setting.
    link = events.issue_link(ctx.settings.public_url, contribution.issue_id)
    body = f"{message.payload['body']}\nSeam: {link}"
    async with tracker_for(ctx, integration) as tracker:
        await tracker.comment(ticket_ref(contribution, integration.vendor), body, False)


async def pull_ticket(ctx: JobContext, message: OutboxMessage) -> None:
    """Reconciliation: read the ticket's state and apply it as a webhook would have."""
    contribution_id = int(message.payload["contribution_id"])
    with Session(ctx.engine, expire_on_commit=False) as session:
        loaded = _load(session, contribution_id)
    if loaded is None or loaded[0].ticket_id is None:
        return
    contribution, integration = loaded
    async with tracker_for(ctx, integration) as tracker:
        state = await tracker.get(ticket_ref(contribution, integration.vendor))
    with Session(ctx.engine) as session:
        outcome = service.apply_ticket_state(
            session, service.lock_contribution(session, contribution_id), state
        )
        session.commit()
    log.info("contribution %s pulled: %s (%s)", contribution_id, state.category, outcome)


def _integration_of(session: Session, channel: str) -> Integration | None:
    prefix, _, raw = channel.partition(":")
    if prefix != "integration" or not raw.isdigit():
        return None
    return session.get(Integration, int(raw))


async def process_delivery(ctx: JobContext, message: OutboxMessage) -> None:
    """A stored webhook delivery -> the contribution's state. Verified again against the stored bytes
    (at the time it was received, so a late run does not read as stale)."""
    delivery_id = int(message.payload["delivery_id"])
    with Session(ctx.engine, expire_on_commit=False) as session:
        delivery = session.get(InboundDelivery, delivery_id)
        if delivery is None or delivery.state != "pending":
            return
        integration = _integration_of(session, delivery.channel)
        if integration is None:
            inbox.mark(
                session, delivery_id, "quarantined", error="no integration for this channel", now=ctx.now
            )
            session.commit()
            return
        secret = connections.webhook_secret(integration, ctx.settings.secret_key.get_secret_value())
    try:
        async with tracker_for(ctx, integration) as tracker:
            event = tracker.parse_webhook(
                delivery.headers, bytes(delivery.body), secret, delivery.received_at
            )
    except UnsupportedWebhookEvent as exc:
        _mark(ctx, delivery_id, "ignored", exc.message)
        return
    except (WebhookSignatureError, PermanentError) as exc:
        _mark(ctx, delivery_id, "quarantined", exc.message)
        return
    with Session(ctx.engine) as session:
        found = session.execute(
            select(col(Contribution.id)).where(
                col(Contribution.integration_id) == integration.id,
                col(Contribution.ticket_id) == event.ticket_id,
            )
        ).scalar_one_or_none()
        if found is None:
            inbox.mark(session, delivery_id, "ignored", error="no contribution has this ticket", now=ctx.now)
        else:
            outcome = service.apply_ticket_state(
                session, service.lock_contribution(session, found), event.state
            )
            state = "ignored" if outcome == "stale" else "processed"
            inbox.mark(
                session, delivery_id, state, error=outcome if outcome == "stale" else None, now=ctx.now
            )
        session.commit()


def _mark(ctx: JobContext, delivery_id: int, state: str, error: str) -> None:
    with Session(ctx.engine) as session:
        inbox.mark(session, delivery_id, state, error=error[:2000], now=ctx.now)
        session.commit()
