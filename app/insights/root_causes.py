"""An issue's root cause: recorded from the journey's vocabulary (or "unknown" with a reason), required
before a fix is confirmed when the journey declares a vocabulary, and rolled up across stages: which
causes hurt which stages and how many customers. Never commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import Field
from sqlalchemy import func, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.errors import InvalidInput, field_error
from app.core.types_api import ApiModel
from app.insights.counted import COUNTED
from app.insights.models import IssueRootCause
from app.issues import service as issues
from app.issues.models import ExperienceIssue, IssueCustomer
from app.journey.insights import KEY, UNKNOWN
from app.journey.schemas import Journey

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
CAUSES = IssueRootCause.__table__  # type: ignore[attr-defined]
CUSTOMERS = IssueCustomer.__table__  # type: ignore[attr-defined]


class RootCauseIn(ApiModel):
    cause: str = Field(pattern=KEY, description="a cause key from the journey's root_causes, or 'unknown'")
    sub_cause: str | None = Field(default=None, pattern=KEY)
    reason: str | None = Field(default=None, max_length=2000, description="required with 'unknown'")


def check(journey: Journey, choice: RootCauseIn, path: str = "root_cause") -> None:
    """Refuses a cause the journey does not declare, and "unknown" without a reason (422, by field)."""
    vocab = journey.root_causes
    if choice.cause == UNKNOWN:
        if not (choice.reason or "").strip():
            raise InvalidInput(
                "An unknown root cause needs the reason it is unknown.",
                errors=[field_error(f"{path}.reason", "required when the cause is 'unknown'")],
            )
        if choice.sub_cause is not None:
            raise InvalidInput(
                "An unknown root cause has no sub-cause.",
                errors=[field_error(f"{path}.sub_cause", "must be empty when the cause is 'unknown'")],
            )
        return
    cause = vocab.cause(choice.cause) if vocab is not None else None
    if cause is None:
        known = ", ".join([c.key for c in vocab.causes] + [UNKNOWN]) if vocab else UNKNOWN
        raise InvalidInput(
            f"Unknown root cause; the journey declares: {known}.",
            errors=[field_error(f"{path}.cause", "not in the journey's root_causes")],
        )
    if choice.sub_cause is not None and choice.sub_cause not in {s.key for s in cause.sub_causes}:
        raise InvalidInput(
            f"Unknown sub-cause of '{cause.key}'.",
            errors=[field_error(f"{path}.sub_cause", f"not a sub-cause of '{cause.key}'")],
        )


def record(
    session: Session, journey: Journey, issue_id: int, choice: RootCauseIn, actor: Actor, now: datetime
) -> IssueRootCause:
    """Sets (or replaces) the issue's root cause, with an issue event saying what it was before."""
    check(journey, choice)
    issue = issues.get(session, issue_id)
    assert issue.id is not None
    row = session.get(IssueRootCause, issue.id)
    before = {"cause": row.cause, "sub_cause": row.sub_cause} if row else {}
    reason = (choice.reason or "").strip() or None
    if row is None:
        row = IssueRootCause(issue_id=issue.id, cause=choice.cause, recorded_by=actor.name)
    row.cause, row.sub_cause = choice.cause, choice.sub_cause
    row.unknown_reason = reason if choice.cause == UNKNOWN else None
    row.recorded_by, row.recorded_at = actor.name, now
    session.add(row)
    issues.record_event(
        session,
        issue.id,
        "root_cause",
        actor,
        reason=reason,
        before=before,
        after={"cause": choice.cause, "sub_cause": choice.sub_cause},
        at=now,
    )
    return row


def require_for_confirmation(
    session: Session,
    journey: Journey,
    issue_id: int,
    choice: RootCauseIn | None,
    actor: Actor,
    now: datetime,
) -> None:
    """Confirming a fix files it under a root cause: the one given now (recorded), or one recorded before.
    Journeys that declare no root-cause vocabulary confirm as they did."""
    if choice is not None:
        record(session, journey, issue_id, choice, actor, now)
        return
    if journey.root_causes is None or session.get(IssueRootCause, issue_id) is not None:
        return
    raise InvalidInput(
        "Confirming a fix needs its root cause: a cause from the journey, or 'unknown' with a reason.",
        errors=[field_error("root_cause", "required to confirm a fix")],
    )


@dataclass
class StageHurt:
    stage: str
    stage_name: str
    issues: int = 0
    items: int = 0
    customers: int = 0


@dataclass
class CauseRollup:
    cause: str
    cause_name: str
    issues: int = 0
    items: int = 0
    customers: int = 0
    stages: list[StageHurt] = field(default_factory=list)
    sub_causes: dict[str, int] = field(default_factory=dict)

    @property
    def spans_stages(self) -> bool:
        return len(self.stages) > 1


def rollup(session: Session, journey: Journey) -> list[CauseRollup]:
    """Each cause with the stages it hurts: issues, items and distinct customers (a customer heard on two
    issues of one cause counts once), most customers first. Emerging and merged issues are left out."""
    i, c, k = ISSUES.c, CAUSES.c, CUSTOMERS.c
    counted = list(COUNTED)
    rows = session.execute(
        select(c.cause, c.sub_cause, i.stage, func.count(i.id), func.sum(i.item_count))
        .select_from(CAUSES.join(ISSUES, i.id == c.issue_id))
        .where(i.status.in_(counted))
        .group_by(c.cause, c.sub_cause, i.stage)
    )
    base = CAUSES.join(ISSUES, i.id == c.issue_id).join(CUSTOMERS, k.issue_id == i.id)
    per_stage = {
        (r[0], r[1]): int(r[2])
        for r in session.execute(
            select(c.cause, i.stage, func.count(func.distinct(k.customer_ref)))
            .select_from(base)
            .where(i.status.in_(counted))
            .group_by(c.cause, i.stage)
        )
    }
    per_cause = {
        r[0]: int(r[1])
        for r in session.execute(
            select(c.cause, func.count(func.distinct(k.customer_ref)))
            .select_from(base)
            .where(i.status.in_(counted))
            .group_by(c.cause)
        )
    }
    vocab = journey.root_causes
    names = {x.key: x.name for x in vocab.causes} if vocab else {}
    names[UNKNOWN] = "Unknown"
    stage_names = {s.key: s.name for s in journey.stages}
    order = {s.key: n for n, s in enumerate(journey.stages)}
    out: dict[str, CauseRollup] = {}
    hurts: dict[tuple[str, str], StageHurt] = {}
    for cause, sub, stage, n_issues, n_items in rows:
        roll = out.setdefault(cause, CauseRollup(cause, names.get(cause, cause)))
        roll.issues += int(n_issues)
        roll.items += int(n_items or 0)
        if sub is not None:
            roll.sub_causes[sub] = roll.sub_causes.get(sub, 0) + int(n_issues)
        hurt = hurts.get((cause, stage))
        if hurt is None:
            hurt = hurts[(cause, stage)] = StageHurt(stage, stage_names.get(stage, stage))
            hurt.customers = per_stage.get((cause, stage), 0)
            roll.stages.append(hurt)
        hurt.issues += int(n_issues)
        hurt.items += int(n_items or 0)
    for roll in out.values():
        roll.customers = per_cause.get(roll.cause, 0)
        roll.stages.sort(key=lambda h: order.get(h.stage, len(order)))
    return sorted(out.values(), key=lambda r: (-r.customers, -r.items, r.cause))


def of_issues(session: Session, issue_ids: list[int]) -> dict[int, IssueRootCause]:
    if not issue_ids:
        return {}
    rows = session.execute(select(IssueRootCause).where(CAUSES.c.issue_id.in_(issue_ids))).scalars()
    return {r.issue_id: r for r in rows}
