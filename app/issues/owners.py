"""Owners that exist: a new journey may not leave an active issue on a stage it removes, or with an owner
it removes. Such an apply is refused, naming the issues by id, unless the file says where they go:

    reassign:
      pay: billing          # a removed stage's issues move to this stage, and to its owner
      ravi: sofia           # a removed person's issues go to this person

Each move is an event on the issue (`reassigned`), in the apply's transaction.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session, col

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.errors import InvalidInput, field_error
from app.issues.lifecycle import ACTIVE
from app.issues.models import ExperienceIssue
from app.issues.service import record_event
from app.journey.schemas import Journey

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]


def check_owners(session: Session, journey: Journey, reassign: dict[str, str], actor: str) -> None:
    """The apply guard (installed by app.wiring): refuse, or move as `reassign` says."""
    stages = {s.key: s for s in journey.stages}
    people = {p.id for p in journey.people}
    errors = [
        field_error(f"reassign.{old}", f"'{new}' is not a stage or a person of the new journey")
        for old, new in reassign.items()
        if new not in stages and new not in people
    ]
    if errors:
        raise InvalidInput("The journey's reassign names unknown targets.", errors=errors)
    active = list(
        session.execute(
            select(ExperienceIssue)
            .where(col(ExperienceIssue.status).in_(sorted(ACTIVE)))
            .order_by(col(ExperienceIssue.id))
        ).scalars()
    )
    orphaned: dict[str, list[int]] = {}
    moves: list[tuple[ExperienceIssue, str, str]] = []  # (issue, stage, owner)
    for issue in active:
        assert issue.id is not None
        stage, owner = issue.stage, issue.owner
        if stage not in stages:
            target = reassign.get(stage)
            if target not in stages:
                orphaned.setdefault(f"stage '{stage}'", []).append(issue.id)
                continue
            stage, owner = target, stages[target].owner
        if owner not in people:
            target = reassign.get(owner)
            if target not in people:
                orphaned.setdefault(f"owner '{owner}'", []).append(issue.id)
                continue
            owner = target
        if (stage, owner) != (issue.stage, issue.owner):
            moves.append((issue, stage, owner))
    if orphaned:
        raise InvalidInput(
            "This journey would leave open issues without an owner; say where they go with "
            "`reassign: {old: new}` (a stage or a person).",
            errors=[
                field_error("reassign", f"{what} is removed: open issues {', '.join(f'EI-{i}' for i in ids)}")
                for what, ids in orphaned.items()
            ],
            issues=sorted(i for ids in orphaned.values() for i in ids),
        )
    now = utcnow()
    for issue, stage, owner in moves:
        before = {"stage": issue.stage, "moment": issue.moment, "owner": issue.owner}
        moment = issue.moment if stage == issue.stage else None  # moments belong to their stage
        session.execute(
            update(ISSUES)
            .where(ISSUES.c.id == issue.id)
            .values(stage=stage, moment=moment, owner=owner, updated_at=now)
        )
        assert issue.id is not None
        record_event(
            session,
            issue.id,
            "reassigned",
            Actor(actor),
            reason="the journey removed its stage or owner",
            before=before,
            after={"stage": stage, "moment": moment, "owner": owner},
            at=now,
        )
        session.expire(issue)
