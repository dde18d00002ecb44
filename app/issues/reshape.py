"""Reshaping issues: a merge's preview and its undo, and splitting items out into a new issue. Never
commits. Moves are recorded as `item_moved_out` / `item_added` events (flagged `split` or `unmerge`),
the kinds the grouping index follows, so later items group with the issues as they now are."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.core.actor import SYSTEM_ACTOR, Actor
from app.core.clock import utcnow
from app.core.errors import Conflict, InvalidInput, field_error
from app.feedback.models import FeedbackItem
from app.issues import counters, lifecycle
from app.issues import service as issues
from app.issues.models import ExperienceIssue, IssueEvent

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
MAX_SPLIT = 1000


def merge_preview(session: Session, source_id: int, into_id: int) -> dict[str, Any]:
    """What a merge of `source_id` into `into_id` would move, without moving it."""
    if source_id == into_id:
        raise InvalidInput(
            "An issue cannot be merged into itself.", errors=[field_error("into", "same issue")]
        )
    source, target = issues.get(session, source_id), issues.get(session, into_id)
    for which, issue in (("id", source), ("into", target)):
        if issue.status == "merged":
            raise Conflict(
                f"Issue {issue.id} is already merged.", errors=[field_error(which, "already merged")]
            )
    c = ITEMS.c
    customers = session.execute(
        select(func.count(c.customer_ref.distinct())).where(
            c.issue_id.in_([source_id, into_id]), c.customer_ref.is_not(None)
        )
    ).scalar_one()
    teams = issues.teams_of(session, [source_id, into_id])
    return {
        "source": source,
        "into": target,
        "items_moving": source.item_count,
        "items_after": source.item_count + target.item_count,
        "customers_after": int(customers),
        "teams_added": sorted(set(teams[source_id]) - set(teams[into_id])),
    }


def _last_merge(session: Session, source_id: int) -> IssueEvent:
    stmt = (
        select(IssueEvent)
        .where(col(IssueEvent.issue_id) == source_id, col(IssueEvent.kind) == "merged")
        .order_by(col(IssueEvent.id).desc())
        .limit(1)
    )
    found = session.execute(stmt).scalar_one_or_none()
    if found is None:
        raise Conflict("This issue was never merged.", errors=[field_error("id", "not merged")])
    return found


def unmerge(session: Session, source_id: int, actor: Actor) -> ExperienceIssue:
    """Undo the merge of `source_id`: its items still in the absorbing issue come back, and it takes up
    the status it had. Items a person moved since stay where they are."""
    source = issues.get(session, source_id)
    if source.status != "merged" or source.merged_into_id is None:
        raise Conflict("Only a merged issue can be unmerged.", errors=[field_error("id", "not merged")])
    into_id = source.merged_into_id
    issues.lock(session, [source_id, into_id])
    session.refresh(source)
    event = _last_merge(session, source_id)
    ids = [int(i) for i in (event.after or {}).get("item_ids", [])]
    status = str((event.before or {}).get("status") or "open")
    moved = int(
        session.execute(  # type: ignore[attr-defined]
            update(ITEMS).where(ITEMS.c.id.in_(ids), ITEMS.c.issue_id == into_id).values(issue_id=source_id)
        ).rowcount
    ) if ids else 0  # fmt: skip
    source.status = status
    source.merged_into_id = None
    source.open_fingerprint = source.fingerprint if status in lifecycle.TAKES_ITEMS else None
    source.updated_at = utcnow()
    session.add(source)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "Since the merge another active issue took this issue's fingerprint; merge that one instead.",
            errors=[field_error("id", "fingerprint taken")],
        ) from exc
    counters.recompute(session, source_id)
    counters.recompute(session, into_id)
    after = {"unmerge": True, "items": moved, "from_issue": into_id}
    issues.record_event(session, source_id, "item_added", actor, before={"status": "merged"}, after=after)
    issues.record_event(
        session,
        into_id,
        "item_moved_out",
        actor,
        after={"unmerge": True, "items": moved, "to_issue": source_id},
    )
    return source


def split(
    session: Session,
    issue_id: int,
    item_ids: Sequence[int],
    title: str | None,
    actor: Actor,
) -> ExperienceIssue:
    """The chosen items leave for a new issue in the same stage and moment, with the same owner and
    teams; their customers go with them (counts are recomputed from the items)."""
    ids = sorted(set(item_ids))
    if not ids or len(ids) > MAX_SPLIT:
        raise InvalidInput(
            f"Choose between 1 and {MAX_SPLIT} items.", errors=[field_error("items", "empty or too many")]
        )
    issues.lock(session, [issue_id])
    source = issues.get(session, issue_id)
    session.refresh(source)
    if source.status == "merged":
        raise Conflict("A merged issue cannot be split.", errors=[field_error("id", "merged")])
    c = ITEMS.c
    found = set(session.execute(select(c.id).where(c.id.in_(ids), c.issue_id == issue_id)).scalars())
    if found != set(ids):
        missing = sorted(set(ids) - found)[:10]
        raise InvalidInput(
            "Some items are not in this issue.",
            errors=[field_error("items", f"not in issue {issue_id}: {', '.join(map(str, missing))}")],
        )
    if len(ids) == source.item_count:
        raise InvalidInput("Leave at least one item behind.", errors=[field_error("items", "all of them")])
    new = _open_split(session, source, title, actor)
    assert new.id is not None
    session.execute(update(ITEMS).where(c.id.in_(ids)).values(issue_id=new.id))
    counters.recompute(session, issue_id)
    counters.recompute(session, new.id)
    session.refresh(new)
    issues.record_event(
        session,
        issue_id,
        "item_moved_out",
        actor,
        after={"split": True, "items": len(ids), "to_issue": new.id},
    )
    issues.record_event(
        session, new.id, "item_added", actor, after={"split": True, "items": len(ids), "from_issue": issue_id}
    )
    return new


def _open_split(
    session: Session, source: ExperienceIssue, title: str | None, actor: Actor
) -> ExperienceIssue:
    name = " ".join((title or "").split())[:300] or f"Split from EI-{source.id}: {source.title}"[:300]
    # A fingerprint of its own: new feedback keeps finding the issue it resembles by text, not by key.
    fp = f"split:{source.id}:{secrets.token_hex(6)}"
    now = utcnow()
    status = source.status if source.status in lifecycle.TAKES_ITEMS else "open"
    new = ExperienceIssue(
        title=name, stage=source.stage, moment=source.moment, touchpoint=source.touchpoint, fingerprint=fp,
        open_fingerprint=fp, status=status, owner=source.owner, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(new)
    session.flush()
    assert new.id is not None
    teams = issues.teams_of(session, [source.id or 0])[source.id or 0]
    if teams:
        session.execute(issues.TEAMS.insert(), [{"issue_id": new.id, "team": t} for t in teams])
    issues.record_event(
        session,
        new.id,
        "created",
        SYSTEM_ACTOR,
        after={"status": status, "split_from": source.id},
    )
    return new


def move_items(
    session: Session, item_ids: Sequence[int], from_id: int, into_id: int, reason: str, actor: Actor
) -> int:
    """Some items of one issue join another of the same stage (regrouping emerging groups); both
    issues' counts are recomputed from their items and each side records the move."""
    ids = sorted(set(item_ids))
    if not ids or from_id == into_id:
        return 0
    issues.lock(session, [from_id, into_id])
    c = ITEMS.c
    moved = int(
        session.execute(  # type: ignore[attr-defined]
            update(ITEMS).where(c.id.in_(ids), c.issue_id == from_id).values(issue_id=into_id)
        ).rowcount
    )
    if not moved:
        return 0
    counters.recompute(session, from_id)
    counters.recompute(session, into_id)
    after = {"items": moved, "item_ids": ids}
    issues.record_event(
        session, from_id, "item_moved_out", actor, reason=reason, after={**after, "to_issue": into_id}
    )
    issues.record_event(
        session, into_id, "item_added", actor, reason=reason, after={**after, "from_issue": from_id}
    )
    return moved
