"""Close the loop: with app.loop.fixes, the only writer of accountability state. Never commits; every
function takes `now`.

- `reassess`: impact, priority and due date from the issue's recent items (priority only ever rises
  automatically; a rise is an event). It writes the issue's one impact number (`experience_issues.impact`,
  mirrored in `issue_accountability.impact_score`), and runs whenever the issue's evidence changes
  (`on_evidence`, in that transaction) as well as in the reminder sweep.
- `acknowledge` / `snooze`: pause the reminder cadence (app.loop.reminders reads them back).
- `move` / `mark_shipped`: a shipped fix starts its verification window; app.loop.fixes judges it
  (`check_verification`) and takes the owner's confirmation (`confirm`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col

from app.core.actor import SYSTEM_ACTOR, Actor
from app.core.errors import Conflict, InvalidInput, field_error
from app.core.sql import insert_ignore
from app.feedback.models import FeedbackItem
from app.issues import lifecycle
from app.issues import service as issues
from app.issues.models import ExperienceIssue
from app.issues.reactions import Transition
from app.issues.scores import THRESHOLDS
from app.journey import service as journeys
from app.journey.accountability import Priority
from app.journey.schemas import Journey
from app.loop import impact
from app.loop.models import IssueAccountability, LoopAction
from app.loop.reminders import REMINDING
from app.outbox import service as outbox

ACCOUNTABILITY = IssueAccountability.__table__  # type: ignore[attr-defined]
# Announced when an issue's priority or due date changed; the composition root has the tickets follow.
ASSESSED_KIND = "loop.assessed"
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
MAX_SNOOZE_DAYS = 90


# --- impact, priority and due date ----------------------------------------------------------------


def _detractor_expr() -> Any:
    c = ITEMS.c
    whens = [((c.scale == scale) & (c.score <= low), 1) for scale, (low, _high) in THRESHOLDS.items()]
    return func.sum(case(*whens, else_=0))


def impact_inputs(
    session: Session, journey: Journey, issues_: Sequence[ExperienceIssue], now: datetime
) -> dict[int, impact.ImpactInputs]:
    """What each issue's items in the policy's recent window weigh: two grouped queries for all issues."""
    policy = journey.accountability
    start, end = impact.recent_window(now, policy.impact)
    ids = [i.id for i in issues_ if i.id is not None]
    if not ids:
        return {}
    c = ITEMS.c
    # The customer's clock: an imported backlog weighs by when it happened, not when it arrived.
    window = (c.issue_id.in_(ids)) & (c.occurred_at >= start) & (c.occurred_at < end) & (c.staff.is_(False))
    counts: dict[int, Any] = {
        r.issue_id: r
        for r in session.execute(
            select(
                c.issue_id,
                func.count().label("items"),
                func.count(c.customer_ref.distinct()).label("customers"),
                func.count(c.score).label("scored"),
                _detractor_expr().label("detractors"),
            )
            .where(window)
            .group_by(c.issue_id)
        )
    }
    personas: dict[int, dict[str | None, int]] = defaultdict(dict)
    for row in session.execute(
        select(c.issue_id, c.persona, func.count()).where(window).group_by(c.issue_id, c.persona)
    ):
        personas[row[0]][row[1]] = int(row[2])
    weights = {p.key: p.weight for p in journey.personas}
    out = {}
    for issue in issues_:
        assert issue.id is not None
        got = counts.get(issue.id)
        moment = journey.moment(issue.stage, issue.moment) if issue.moment else None
        out[issue.id] = impact.ImpactInputs(
            items=int(got.items) if got else 0,
            customers=int(got.customers) if got else 0,
            scored=int(got.scored) if got else 0,
            detractors=int(got.detractors or 0) if got else 0,
            moment_weight=moment.weight if moment else 1.0,
            persona_weight=impact.persona_weight(personas.get(issue.id, {}), weights),
        )
    return out


def states(session: Session, issue_ids: Iterable[int]) -> dict[int, IssueAccountability]:
    ids = sorted(set(issue_ids))
    if not ids:
        return {}
    stmt = select(IssueAccountability).where(col(IssueAccountability.issue_id).in_(ids))
    return {s.issue_id: s for s in session.execute(stmt).scalars()}


def reassess(
    session: Session, journey: Journey, issues_: Sequence[ExperienceIssue], now: datetime
) -> dict[int, IssueAccountability]:
    """Impact, priority and due date of each issue, stored; an event records each rise of priority."""
    policy = journey.accountability
    inputs = impact_inputs(session, journey, issues_, now)
    known = states(session, inputs)
    for issue in issues_:
        assert issue.id is not None
        state = known.get(issue.id)
        result = impact.reassess(
            inputs[issue.id],
            current=_priority(state.priority) if state else None,
            current_due=state.due_at if state else None,
            opened_at=issue.created_at,
            now=now,
            policy=policy,
        )
        _store_impact(session, issue, result.score)
        if state is None:
            # Insert-or-skip: a concurrent sweep may have created it first; then it is read back.
            session.execute(
                insert_ignore(session, ACCOUNTABILITY, ["issue_id"]).values(
                    issue_id=issue.id,
                    priority=result.priority,
                    impact_score=result.score,
                    due_at=result.due,
                    updated_at=now,
                )
            )
            state = session.get(IssueAccountability, issue.id)
            assert state is not None
            known[issue.id] = state
            continue
        state.impact_score = result.score
        if result.changed:
            before = {"priority": state.priority, "due_at": state.due_at.isoformat()}
            state.priority = result.priority
            state.due_at = result.due
            issues.record_event(
                session,
                issue.id,
                "priority_raised",
                SYSTEM_ACTOR,
                reason=result.reason,
                before=before,
                after={"priority": result.priority, "due_at": result.due.isoformat(), "impact": result.score},
                at=now,
            )
            outbox.enqueue(
                session,
                ASSESSED_KIND,
                f"assessed:{issue.id}:{result.priority}:{result.due:%Y%m%dT%H%M%S}",
                {"issue_id": issue.id},
            )
        state.updated_at = now
        session.add(state)
    session.flush()
    return known


def _store_impact(session: Session, issue: ExperienceIssue, score: float) -> None:
    """The issue's one impact number, on the issue row (what lists sort by) and in memory."""
    if issue.impact != score:
        session.execute(update(ISSUES).where(ISSUES.c.id == issue.id).values(impact=score))
        set_committed_value(issue, "impact", score)


def on_evidence(session: Session, issue_ids: Sequence[int], at: datetime) -> None:
    """Items joined or left these issues: weigh them again now, in the same transaction, so the impact
    and priority shown are never those of the last sweep."""
    journey = journeys.current_or_none(session)
    if journey is None or not issue_ids:
        return
    stmt = select(ExperienceIssue).where(col(ExperienceIssue.id).in_(sorted(set(issue_ids))))
    # Emerging groups are nobody's yet: no priority or due date until they become an issue.
    found = [
        i
        for i in session.execute(stmt).scalars()
        if journey.stage(i.stage) is not None and i.status not in lifecycle.GATHERING
    ]
    if found:
        reassess(session, journey, found, at)


def _priority(value: str) -> Priority:
    return value if value in ("p1", "p2", "p3", "p4") else "p4"  # type: ignore[return-value]


def state_of(
    session: Session, journey: Journey, issue: ExperienceIssue, now: datetime
) -> IssueAccountability:
    return reassess(session, journey, [issue], now)[issue.id or 0]


# --- acknowledge and snooze -----------------------------------------------------------------------


def _active(issue: ExperienceIssue, what: str) -> None:
    if issue.status not in REMINDING:
        raise Conflict(
            f"An issue that is '{issue.status}' has no reminders to {what}.",
            errors=[field_error("status", f"'{issue.status}' is not waiting for people")],
            current=issue.status,
        )


def acknowledge(
    session: Session, journey: Journey, issue_id: int, actor: Actor, now: datetime
) -> ExperienceIssue:
    """The owner (or a team) has it in hand: settles the reminders so far and resets escalation; an open
    or reopened issue moves to `acknowledged`."""
    issues.lock(session, [issue_id])
    issue = issues.get(session, issue_id)
    session.refresh(issue)
    _active(issue, "acknowledge")
    state_of(session, journey, issue, now)
    session.add(LoopAction(issue_id=issue_id, kind="ack", at=now, actor=actor.name))
    issues.record_event(session, issue_id, "acknowledged", actor, at=now)
    if issue.status in ("open", "reopened"):
        issues.transition(session, issue_id, "acknowledged", "acknowledged", actor)
    return issue


def snooze(
    session: Session,
    journey: Journey,
    issue_id: int,
    reason: str,
    until: datetime,
    actor: Actor,
    now: datetime,
) -> ExperienceIssue:
    if not reason.strip():
        raise InvalidInput("A snooze needs a reason.", errors=[field_error("reason", "required")])
    if until <= now:
        raise InvalidInput("A snooze must end in the future.", errors=[field_error("until", "in the past")])
    if (until - now).days > MAX_SNOOZE_DAYS:
        raise InvalidInput(
            f"A snooze may last at most {MAX_SNOOZE_DAYS} days.",
            errors=[field_error("until", f"more than {MAX_SNOOZE_DAYS} days away")],
        )
    issues.lock(session, [issue_id])
    issue = issues.get(session, issue_id)
    session.refresh(issue)
    _active(issue, "snooze")
    state_of(session, journey, issue, now)
    session.add(
        LoopAction(
            issue_id=issue_id, kind="snooze", at=now, until=until, reason=reason.strip(), actor=actor.name
        )
    )
    issues.record_event(
        session, issue_id, "snoozed", actor, reason=reason.strip(), after={"until": until.isoformat()}, at=now
    )
    return issue


def actions(session: Session, issue_ids: Iterable[int]) -> dict[int, list[LoopAction]]:
    ids = sorted(set(issue_ids))
    out: dict[int, list[LoopAction]] = defaultdict(list)
    if ids:
        stmt = select(LoopAction).where(col(LoopAction.issue_id).in_(ids)).order_by(col(LoopAction.at))
        for a in session.execute(stmt).scalars():
            out[a.issue_id].append(a)
    return out


# --- shipping (verification, reopening and confirming: app.loop.fixes) ----------------------------


def on_transition(session: Session, issue: ExperienceIssue, change: Transition) -> None:
    """A shipped fix starts its verification window when it shipped (whatever the entry point). An
    emerging group that becomes an issue is opened then: its due date runs from now, not from when its
    first item arrived."""
    if change.to == "fix_shipped" and issue.id is not None:
        mark_shipped(session, issue.id, change.at)
    if change.before in lifecycle.GATHERING and change.to in lifecycle.ACTIVE:
        issue.created_at = change.at
        session.add(issue)
        session.flush()
        journey = journeys.current_or_none(session)
        if journey is not None and journey.stage(issue.stage) is not None:
            reassess(session, journey, [issue], change.at)


def mark_shipped(session: Session, issue_id: int, at: datetime) -> None:
    state = session.get(IssueAccountability, issue_id)
    if state is None:
        return  # reassess creates it; the verification check then takes shipped_at from the event
    state.shipped_at = at
    state.verification_outcome = None
    state.verification_reason = None
    state.verified_at = None
    state.confirm_requested_at = None
    state.updated_at = at
    session.add(state)


def move(
    session: Session, issue_id: int, to: str, reason: str | None, actor: Actor, now: datetime
) -> ExperienceIssue:
    """`issues.service.transition` at this domain's clock."""
    return issues.transition(session, issue_id, to, reason, actor, at=now)
