"""Merge proposals from the consolidation pass: listed for people, accepted (the issues merge) or
rejected (kept, so the pair is not proposed again, and as a correction for the stage's threshold)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.errors import Conflict, NotFound, field_error
from app.issues import lifecycle
from app.issues import service as issues
from app.issues.models import ExperienceIssue
from app.routing.models import MergeProposal


def get(session: Session, proposal_id: int) -> MergeProposal:
    row = session.get(MergeProposal, proposal_id)
    if row is None:
        raise NotFound(f"Merge proposal {proposal_id} does not exist.")
    return row


def listing(session: Session, status: str | None, stage: str | None, limit: int) -> list[dict[str, Any]]:
    stmt = select(MergeProposal).order_by(col(MergeProposal.similarity).desc(), col(MergeProposal.id))
    if status is not None:
        stmt = stmt.where(col(MergeProposal.status) == status)
    if stage is not None:
        stmt = stmt.where(col(MergeProposal.stage) == stage)
    rows = list(session.execute(stmt.limit(limit)).scalars())
    return [out(session, r) for r in rows]


def out(session: Session, row: MergeProposal) -> dict[str, Any]:
    def brief(issue_id: int) -> dict[str, Any]:
        issue = session.get(ExperienceIssue, issue_id)
        assert issue is not None
        return {
            "id": issue.id,
            "title": issue.title,
            "status": issue.status,
            "item_count": issue.item_count,
            "moment": issue.moment,
        }

    return {
        "id": row.id,
        "stage": row.stage,
        "status": row.status,
        "similarity": row.similarity,
        "shared_terms": row.shared_terms,
        "keep": brief(row.keep_issue_id),
        "merge": brief(row.merge_issue_id),
        "created_at": row.created_at,
        "decided_at": row.decided_at,
        "decided_by": row.decided_by,
    }


def _pending(session: Session, proposal_id: int) -> MergeProposal:
    row = get(session, proposal_id)
    if row.status != "proposed":
        raise Conflict(
            f"Merge proposal {proposal_id} is already {row.status}.", errors=[field_error("id", row.status)]
        )
    return row


def accept(session: Session, proposal_id: int, reason: str | None, actor: Actor) -> MergeProposal:
    row = _pending(session, proposal_id)
    for issue_id in (row.keep_issue_id, row.merge_issue_id):
        issue = issues.get(session, issue_id)
        if issue.status not in lifecycle.TAKES_ITEMS:
            raise Conflict(
                f"Issue {issue_id} is {issue.status}; the proposal no longer applies.",
                errors=[field_error("id", "stale")],
            )
    why = reason or f"merge proposal {proposal_id}: similarity {row.similarity:.2f}"
    issues.merge(session, row.merge_issue_id, row.keep_issue_id, why, actor)
    return _decide(session, row, "accepted", actor)


def reject(session: Session, proposal_id: int, actor: Actor) -> MergeProposal:
    return _decide(session, _pending(session, proposal_id), "rejected", actor)


def _decide(session: Session, row: MergeProposal, status: str, actor: Actor) -> MergeProposal:
    row.status, row.decided_at, row.decided_by = status, utcnow(), actor.name
    session.add(row)
    session.flush()
    return row
