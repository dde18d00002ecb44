"""A shipped fix, judged: the verification of its window, the reopen on regression, and the owner's
confirmation. Writes accountability state alongside app.loop.service; never commits; every function
takes `now`.

- `check_verification`: during a fix's window, reopen on regression with the new items as evidence;
  once the window ends with the evidence holding, ask the owner to confirm.
- `confirm`: the owner's word, with the evidence rules; then the customers are told (app.loop.customers).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.actor import SYSTEM_ACTOR, Actor
from app.core.errors import Conflict, field_error
from app.core.settings import Settings
from app.feedback.models import FeedbackItem
from app.insights import root_causes
from app.insights.root_causes import RootCauseIn
from app.issues import service as issues
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey.accountability import AccountabilityPolicy
from app.journey.schemas import Journey
from app.loop import customers, notify
from app.loop.models import IssueAccountability
from app.loop.service import _priority, move, state_of
from app.loop.verification import IssueItem, MomentScore, Verification, verify

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
MAX_EVIDENCE_IDS = 50


def evidence(
    session: Session, journey: Journey, issue: ExperienceIssue, state: IssueAccountability, now: datetime
) -> Verification:
    """The verification of the issue's current fix, from its items and its moment's scores."""
    assert issue.id is not None and state.shipped_at is not None
    policy: AccountabilityPolicy = journey.accountability
    shipped = state.shipped_at
    window = policy.verification_window.get(_priority(state.priority))
    span = max(timedelta(0), min(now, shipped + window) - shipped)
    since = shipped - span
    c = ITEMS.c
    rows = session.execute(
        select(c.id, c.occurred_at).where(
            c.issue_id == issue.id, c.occurred_at >= since, c.occurred_at < now, c.staff.is_(False)
        )
    )
    items = [IssueItem(id=r.id, occurred_at=r.occurred_at) for r in rows]
    moment_scores: list[MomentScore] = []
    if issue.moment is not None:
        scored = session.execute(
            select(c.occurred_at, c.score, c.scale).where(
                c.stage == issue.stage,
                c.moment == issue.moment,
                c.score.is_not(None),
                c.occurred_at >= since,
                c.occurred_at < now,
                c.staff.is_(False),
            )
        )
        moment_scores = [MomentScore(occurred_at=r.occurred_at, score=r.score, scale=r.scale) for r in scored]
    return verify(
        shipped_at=shipped,
        priority=_priority(state.priority),
        items=items,
        moment_scores=moment_scores,
        now=now,
        policy=policy,
    )


def check_verification(
    session: Session, journey: Journey, issue: ExperienceIssue, now: datetime, settings: Settings
) -> Verification | None:
    """For a `fix_shipped` issue: reopen on regression (the new items are the evidence), and when the
    window ended with the evidence holding, ask the owner once to confirm. Returns the verification."""
    assert issue.id is not None
    if issue.status != "fix_shipped":
        return None
    state = state_of(session, journey, issue, now)
    if state.shipped_at is None:
        state.shipped_at = _shipped_event_at(session, issue.id) or now
    result = evidence(session, journey, issue, state, now)
    state.verification_outcome = result.outcome
    state.verification_reason = "; ".join(result.reasons)[:2000]
    state.verified_at = now
    state.updated_at = now
    session.add(state)
    system = SYSTEM_ACTOR
    if result.outcome == "regressed":
        ids = result.new_item_ids[:MAX_EVIDENCE_IDS]
        reason = f"the fix did not hold: {'; '.join(result.reasons)} (items {', '.join(map(str, ids))})"
        issues.record_event(
            session,
            issue.id,
            "verification",
            system,
            reason=reason,
            after={"outcome": "regressed", "new_item_ids": ids, "reasons": result.reasons},
            at=now,
        )
        move(session, issue.id, "reopened", reason[:2000], system, now)
        state.shipped_at = None
        session.add(state)
    elif result.outcome == "holding" and result.window_ended and state.confirm_requested_at is None:
        state.confirm_requested_at = now
        issues.record_event(
            session,
            issue.id,
            "confirmation_requested",
            system,
            reason="; ".join(result.reasons),
            after={"outcome": "holding"},
            at=now,
        )
        notify.confirm_request(session, journey, issue, result, now, settings)
    return result


def _shipped_event_at(session: Session, issue_id: int) -> datetime | None:

    stmt = (
        select(col(IssueEvent.at))
        .where(col(IssueEvent.issue_id) == issue_id, col(IssueEvent.kind) == "transition")
        .order_by(col(IssueEvent.id).desc())
        .limit(1)
    )
    return session.execute(stmt).scalar_one_or_none()


def confirm(
    session: Session,
    journey: Journey,
    issue_id: int,
    reason: str | None,
    actor: Actor,
    now: datetime,
    settings: Settings,
    root_cause: RootCauseIn | None = None,
) -> ExperienceIssue:
    """The owner confirms a shipped fix: when its window ended with the evidence holding, or earlier with
    a reason (recorded). Evidence that the fix regressed always refuses. Customers are then told. When
    the journey declares root causes, the fix is filed under one (given here or recorded before)."""

    issues.lock(session, [issue_id])
    issue = issues.get(session, issue_id)
    session.refresh(issue)
    if issue.status != "fix_shipped":
        raise Conflict(
            f"Only a shipped fix can be confirmed; this issue is '{issue.status}'.",
            errors=[field_error("status", "must be fix_shipped")],
            current=issue.status,
        )
    state = state_of(session, journey, issue, now)
    if state.shipped_at is None:
        state.shipped_at = _shipped_event_at(session, issue_id) or now
    result = evidence(session, journey, issue, state, now)
    why = (reason or "").strip()
    early = _confirming_early(result, why)
    root_causes.require_for_confirmation(session, journey, issue_id, root_cause, actor, now)
    evidence_text = "; ".join(result.reasons)
    recorded = f"{why} (confirmed early; evidence: {evidence_text})" if early else (why or evidence_text)
    state.verification_outcome = result.outcome
    state.verification_reason = evidence_text[:2000]
    state.verified_at = now
    session.add(state)
    issues.record_event(
        session,
        issue_id,
        "confirmation",
        actor,
        reason=recorded,
        after={"early": early, "outcome": result.outcome, "reasons": result.reasons},
        at=now,
    )
    move(session, issue_id, "confirmed", recorded[:2000], actor, now)
    checked = customers.how_checked(early, result.window_end - result.window_start)
    customers.notify(session, journey, issue, now, settings, checked=checked)
    return issue


def _confirming_early(result: Verification, why: str) -> bool:
    """Whether the owner confirms before the evidence holds. Refuses a fix the evidence says regressed,
    and an early confirmation without a reason."""
    if result.outcome == "regressed":
        raise Conflict(
            "The evidence says the fix did not hold; it cannot be confirmed.",
            errors=[field_error("evidence", r) for r in result.reasons],
        )
    early = not (result.window_ended and result.outcome == "holding")
    if early and not why:
        detail = (
            f"the verification window ends {result.window_end.isoformat()}"
            if not result.window_ended
            else "the window ended without enough evidence"
        )
        raise Conflict(
            f"Confirming now needs a reason: {detail}.",
            errors=[field_error("reason", "required to confirm before the evidence holds")],
        )
    return early
