"""Everything the issue page shows, read in a few queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.feedback.models import FeedbackItem
from app.issues import lifecycle
from app.issues import service as issues
from app.issues.models import IssueEvent
from app.journey.schemas import Journey
from app.loop import queries as loop_queries
from app.loop import service as loop
from app.people.roles import ACT, COMMENT, LEAD, Viewer
from app.sync.models import Contribution
from app.web import views

EVIDENCE_SHOWN = 12
EVIDENCE_ALL = 200
TIMELINE_LIMIT = 100


def _contributions(session: Session, issue_id: int) -> list[Any]:
    stmt = select(Contribution).where(col(Contribution.issue_id) == issue_id).order_by(col(Contribution.team))
    return list(session.execute(stmt).scalars())


def _evidence(session: Session, issue_id: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    total = session.execute(select(func.count()).where(col(FeedbackItem.issue_id) == issue_id)).scalar_one()
    stmt = (
        select(FeedbackItem)
        .where(col(FeedbackItem.issue_id) == issue_id)
        .order_by(col(FeedbackItem.occurred_at).desc(), col(FeedbackItem.id).desc())
        .limit(limit)
    )
    rows = [
        {
            "id": i.id,
            "text": i.text or "(no text)",
            "score": views.score_text(i.score, i.scale),
            "tone": views.tone(i.score, i.scale),
            "persona": i.persona,
            "source": i.source,
            "staff": i.staff,
            "when": i.occurred_at,
            "why": views.why_grouped(i.placement or {}, i.text or ""),
        }
        for i in session.execute(stmt).scalars()
    ]
    return int(total), rows


def _timeline(session: Session, issue_id: int, people: dict[str, str]) -> list[dict[str, Any]]:
    stmt = (
        select(IssueEvent)
        .where(col(IssueEvent.issue_id) == issue_id)
        .order_by(col(IssueEvent.id).desc())
        .limit(TIMELINE_LIMIT)
    )
    return [
        {
            "at": e.at,
            "who": views.actor_name(e.actor, people),
            "what": views.event_text(e.kind, e.before or {}, e.after or {}),
            "kind": e.kind,
            "reason": e.reason,
        }
        for e in session.execute(stmt).scalars()
    ]


def issue_page(
    session: Session,
    journey: Journey,
    issue_id: int,
    who: Viewer,
    now: datetime,
    *,
    all_evidence: bool = False,
) -> dict[str, Any]:
    issue = issues.get(session, issue_id)
    people = {p.id: p.name for p in journey.people}
    teams = {t.key: t.name for t in journey.teams}
    stage = journey.stage(issue.stage)
    moment = journey.moment(issue.stage, issue.moment) if issue.moment else None
    issue_teams = issues.teams_of(session, [issue_id])[issue_id]
    total, evidence = _evidence(session, issue_id, EVIDENCE_ALL if all_evidence else EVIDENCE_SHOWN)
    acts = loop.actions(session, [issue_id]).get(issue_id, [])
    return {
        "issue": issue,
        "stage_name": stage.name if stage else issue.stage,
        "moment_name": moment.name if moment else None,
        "owner_name": people.get(issue.owner, issue.owner),
        "teams": [(t, teams.get(t, t)) for t in issue_teams],
        "contributions": _contributions(session, issue_id),
        "acc": loop_queries.accountability(session, issue_id, now),
        "acks": [a for a in acts if a.kind == "ack"],
        "snoozes": [a for a in acts if a.kind == "snooze"],
        "evidence": evidence,
        "evidence_total": total,
        "timeline": _timeline(session, issue_id, people),
        # Confirm and decline have forms of their own; "acknowledged" is the Acknowledge button's move.
        "transitions": [
            t
            for t in lifecycle.allowed(issue.status)
            if t not in ("confirmed", "declined")
            and not (t == "acknowledged" and issue.status in ("open", "reopened"))
        ],
        "can_decline": "declined" in lifecycle.allowed(issue.status),
        "can_act": who.may(ACT, issue.stage, owner=issue.owner),
        "can_comment": who.may(COMMENT, issue.stage, issue_teams, owner=issue.owner),
        "can_lead": who.may(LEAD),
        "people": sorted(journey.people, key=lambda p: p.name),
        "people_names": people,
    }
