"""Experience issues: the only writer of issue rows, their counts and their history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound, field_error
from app.core.sql import insert_ignore, lock_rows
from app.feedback import store
from app.issues import lifecycle, reactions
from app.issues.counters import recompute
from app.issues.models import ExperienceIssue, IssueCustomer, IssueEvent, IssueTeam
from app.journey.schemas import Journey

ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
CUSTOMERS = IssueCustomer.__table__  # type: ignore[attr-defined]
TEAMS = IssueTeam.__table__  # type: ignore[attr-defined]


def record_event(
    session: Session,
    issue_id: int,
    kind: str,
    actor: Actor,
    *,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    session.add(
        IssueEvent(
            issue_id=issue_id,
            kind=kind,
            actor=actor.name,
            actor_key_id=actor.key_id,
            reason=reason,
            before=before or {},
            after=after or {},
            at=at or utcnow(),
        )
    )


@dataclass(frozen=True)
class Opening:
    """What an issue is opened with: where it sits, and the fingerprint that identifies it while active."""

    stage: str
    moment: str | None
    fingerprint: str
    touchpoint: str | None = None
    # When items were grouped by what they say, the first voice names the issue better than the place.
    text: str | None = None
    # Gathering evidence first (`lifecycle.GATHERING`): promoted once the journey's evidence rule holds.
    emerging: bool = False
    # The first item had no words (a score alone).
    wordless: bool = False


def _title(journey: Journey, o: Opening) -> str:
    stage = journey.stage(o.stage)
    parts = [stage.name if stage else o.stage]
    if o.moment:
        moment = journey.moment(o.stage, o.moment)
        parts.append(moment.name if moment else o.moment)
    if o.text and o.text.strip():
        snippet = " ".join(o.text.split())
        if len(snippet) > 80:
            snippet = snippet[:80].rsplit(" ", 1)[0] + "..."
        parts.append(f'"{snippet}"')
    elif o.touchpoint:
        tp = journey.touchpoint(o.touchpoint)
        name = (tp.name if tp and tp.name else None) or o.touchpoint
        # Opened by an item without words: say so, so nobody looks for a described problem in it.
        parts.append(f"scores without comment from {name}" if o.wordless else name)
    return ": ".join(parts)[:300]


def resolve_issue(
    session: Session,
    journey: Journey,
    o: Opening,
    actor: Actor,
    *,
    at: datetime | None = None,
    opened: set[int] | None = None,
) -> int:
    """The active issue for this stage and fingerprint, opened now (or `at`) if there is none; the id
    of one opened here is also added to `opened`.

    Concurrent first items race on the (stage, open_fingerprint) unique key, so exactly one issue opens.
    """
    find = select(col(ExperienceIssue.id)).where(
        col(ExperienceIssue.stage) == o.stage, col(ExperienceIssue.open_fingerprint) == o.fingerprint
    )
    found = session.execute(find).scalar_one_or_none()
    if found is not None:
        return int(found)
    stage = journey.stage(o.stage)
    if stage is None:
        raise InvalidInput(f"Unknown stage '{o.stage}'.", errors=[field_error("stage", "not in the journey")])
    now = at or utcnow()
    values = {
        "title": _title(journey, o),
        "stage": o.stage,
        "moment": o.moment,
        "touchpoint": o.touchpoint,
        "fingerprint": o.fingerprint,
        "open_fingerprint": o.fingerprint,
        "status": "emerging" if o.emerging else "open",
        "owner": stage.owner,
        "item_count": 0,
        "customer_count": 0,
        "detractor_count": 0,
        "impact": 0.0,
        "created_at": now,
        "updated_at": now,
    }
    stmt = (
        insert_ignore(session, ISSUES, ["stage", "open_fingerprint"]).values(**values).returning(ISSUES.c.id)
    )
    new_id = session.execute(stmt).scalar_one_or_none()
    if new_id is None:
        return int(session.execute(find).scalar_one())
    if stage.teams:
        session.execute(TEAMS.insert(), [{"issue_id": new_id, "team": t} for t in stage.teams])
    record_event(
        session,
        new_id,
        "created",
        actor,
        after={"status": "emerging" if o.emerging else "open", "stage": o.stage, "moment": o.moment},
    )
    if opened is not None:
        opened.add(int(new_id))
    return int(new_id)


def lock(session: Session, issue_ids: Iterable[int]) -> None:
    lock_rows(session, ISSUES, list(issue_ids))


def get(session: Session, issue_id: int) -> ExperienceIssue:
    issue = session.get(ExperienceIssue, issue_id)
    if issue is None:
        raise NotFound(f"No issue {issue_id}.")
    return issue


def teams_of(session: Session, issue_ids: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in issue_ids}
    if issue_ids:
        rows = session.execute(
            select(TEAMS.c.issue_id, TEAMS.c.team)
            .where(TEAMS.c.issue_id.in_(issue_ids))
            .order_by(TEAMS.c.team)
        )
        for issue_id, team in rows:
            out[issue_id].append(team)
    return out


def transition(
    session: Session,
    issue_id: int,
    to: str,
    reason: str | None,
    actor: Actor,
    *,
    at: datetime | None = None,
) -> ExperienceIssue:
    """Moves the issue, records the event, and runs every installed reaction in the same transaction,
    whatever the entry point (a person, a ticket's webhook, a scheduled check)."""
    lock(session, [issue_id])
    issue = get(session, issue_id)
    session.refresh(issue)
    if not lifecycle.can_move(issue.status, to):
        raise Conflict(
            f"An issue that is '{issue.status}' cannot move to '{to}'.",
            errors=[
                field_error(
                    "to",
                    f"allowed from '{issue.status}': {', '.join(lifecycle.allowed(issue.status)) or 'none'}",
                )
            ],
            allowed=lifecycle.allowed(issue.status),
            current=issue.status,
        )
    if to in lifecycle.REASON_REQUIRED and not (reason and reason.strip()):
        raise InvalidInput(
            f"Moving to '{to}' needs a reason.", errors=[field_error("reason", "required for this move")]
        )
    before = issue.status
    issue.status = to
    # Closing frees the fingerprint, so the same problem seen later opens a fresh issue.
    issue.open_fingerprint = issue.fingerprint if to in lifecycle.TAKES_ITEMS else None
    at = at or utcnow()
    issue.updated_at = at
    session.add(issue)
    try:
        session.flush()
    except IntegrityError as exc:
        # Reopening while another active issue took over the fingerprint in the meantime.
        raise Conflict(
            "Another active issue now has the same fingerprint; merge this one into it instead.",
            errors=[field_error("to", "an active issue with this fingerprint exists")],
        ) from exc
    record_event(
        session,
        issue_id,
        "transition",
        actor,
        reason=reason,
        before={"status": before},
        after={"status": to},
        at=at,
    )
    change = reactions.Transition(before=before, to=to, reason=reason, actor=actor, at=at)
    for react in reactions.installed():
        react(session, issue, change)
    return issue


def merge(
    session: Session, source_id: int, into_id: int, reason: str | None, actor: Actor
) -> ExperienceIssue:
    if source_id == into_id:
        raise InvalidInput(
            "An issue cannot be merged into itself.", errors=[field_error("into", "same issue")]
        )
    lock(session, [source_id, into_id])
    source, target = get(session, source_id), get(session, into_id)
    session.refresh(source)
    session.refresh(target)
    for which, issue in (("id", source), ("into", target)):
        if issue.status == "merged":
            raise Conflict(
                f"Issue {issue.id} was already merged into {issue.merged_into_id}.",
                errors=[field_error(which, "already merged")],
            )
    before = {"status": source.status, "item_count": source.item_count}
    # Which items moved: what an undo (app.issues.curation.unmerge) moves back.
    moved_ids = store.move_items(session, source_id, into_id)
    moved = len(moved_ids)
    source.status = "merged"
    source.open_fingerprint = None
    source.merged_into_id = into_id
    source.updated_at = utcnow()
    session.add(source)
    session.flush()
    missing = set(teams_of(session, [source_id])[source_id]) - set(teams_of(session, [into_id])[into_id])
    if missing:
        session.execute(TEAMS.insert(), [{"issue_id": into_id, "team": t} for t in sorted(missing)])
    recompute(session, source_id)
    target_before = {"item_count": target.item_count, "customer_count": target.customer_count}
    recompute(session, into_id)
    session.refresh(target)
    record_event(
        session,
        source_id,
        "merged",
        actor,
        reason=reason,
        before=before,
        after={"status": "merged", "merged_into_id": into_id, "items_moved": moved, "item_ids": moved_ids},
    )
    record_event(
        session,
        into_id,
        "absorbed",
        actor,
        reason=reason,
        before=target_before,
        after={
            "from_issue": source_id,
            "item_count": target.item_count,
            "customer_count": target.customer_count,
        },
    )
    return target
