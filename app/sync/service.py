"""Sync domain: the only writer of integrations and contributions, and of the issue state they imply.

Never commits (the router or the outbox job does). Never calls a vendor: outbound work is an outbox row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.connections import service as connections
from app.connections.models import Integration
from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound, field_error
from app.core.sql import lock_rows
from app.issues import service as issues
from app.journey.schemas import Journey
from app.outbox import service as outbox
from app.sync.models import Contribution
from integrations.base import TicketState

CONTRIBUTIONS = Contribution.__table__  # type: ignore[attr-defined]
# Keys of the adapter config that have their own columns (or come from Seam's settings).
# A contribution can be requested while the issue is still being worked on.
REQUESTABLE = frozenset({"open", "acknowledged", "fixing", "reopened"})
STARTED = frozenset({"in_progress", "done"})
CREATE_KIND = "sync.create_ticket"
ORIGIN_PREFIX = "contribution:"


def delete_integration(session: Session, integration_id: int) -> None:
    row = connections.get_integration(session, integration_id)
    used = session.execute(
        select(func.count()).where(CONTRIBUTIONS.c.integration_id == integration_id)
    ).scalar_one()
    if used:
        raise Conflict(
            f"Integration {integration_id} has {used} contribution(s); disable it instead.",
            errors=[field_error("id", "in use")],
        )
    session.delete(row)
    session.flush()


# --- contributions ------------------------------------------------------------------------------


def _journey_target(journey: Journey, team: str, vendor: str) -> dict[str, Any] | None:
    found = next((t for t in journey.teams if t.key == team), None)
    if found is None:
        return None
    if vendor == "jira" and found.jira:
        return {"project_key": found.jira.project, "issue_type": found.jira.issue_type}
    if vendor == "zendesk" and found.zendesk:
        return {"group_id": found.zendesk.group_id}
    return None


def _choose_integration(
    session: Session, journey: Journey, team: str, integration_id: int | None
) -> tuple[Integration, dict[str, Any]]:
    if integration_id is not None:
        row = session.get(Integration, integration_id)
        if row is None:
            raise InvalidInput("No such integration.", errors=[field_error("integration_id", "not found")])
        candidates = [row]
    else:
        candidates = [r for r in connections.list_integrations(session) if r.enabled]
        # An explicit per-team target wins over the journey's default for the vendor.
        candidates.sort(key=lambda r: (team not in r.targets, r.id or 0))
    for row in candidates:
        target = row.targets.get(team) or _journey_target(journey, team, row.vendor)
        if target and row.enabled:
            return row, dict(target)
    where = "integration_id" if integration_id is not None else "team"
    raise InvalidInput(
        f"No enabled integration has a target for team '{team}'.",
        errors=[field_error(where, "set a target for this team on the integration or in the journey")],
    )


def request_contribution(
    session: Session,
    journey: Journey,
    issue_id: int,
    team: str,
    *,
    integration_id: int | None,
    required: bool,
    actor: Actor,
) -> tuple[Contribution, bool]:
    """Asks a team for its part of the fix; the ticket is created by the outbox. (row, newly created)."""
    issues.lock(session, [issue_id])
    issue = issues.get(session, issue_id)
    session.refresh(issue)
    if not any(t.key == team for t in journey.teams):
        raise InvalidInput(f"No team '{team}' in the journey.", errors=[field_error("team", "unknown team")])
    existing = session.execute(
        select(Contribution).where(col(Contribution.issue_id) == issue_id, col(Contribution.team) == team)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    if issue.status not in REQUESTABLE:
        raise Conflict(
            f"An issue that is '{issue.status}' takes no new contributions.",
            errors=[field_error("issue", f"status is '{issue.status}'")],
        )
    row, target = _choose_integration(session, journey, team, integration_id)
    contribution = Contribution(
        issue_id=issue_id,
        team=team,
        integration_id=row.id or 0,
        required=required,
        state="requested",
        target=target,
        requested_by=actor.name,
    )
    session.add(contribution)
    session.flush()
    assert contribution.id is not None
    issues.record_event(
        session,
        issue_id,
        "contribution_requested",
        actor,
        after={"contribution": contribution.id, "team": team, "vendor": row.vendor, "required": required},
    )
    outbox.enqueue(
        session, CREATE_KIND, f"sync-create:{contribution.id}", {"contribution_id": contribution.id}
    )
    return contribution, True


def contributions_of(session: Session, issue_id: int) -> list[Contribution]:
    stmt = select(Contribution).where(col(Contribution.issue_id) == issue_id).order_by(col(Contribution.id))
    return list(session.execute(stmt).scalars())


def vendors_of(session: Session, rows: list[Contribution]) -> dict[int, str]:
    ids = sorted({r.integration_id for r in rows})
    if not ids:
        return {}
    found = session.execute(
        select(col(Integration.id), col(Integration.vendor)).where(col(Integration.id).in_(ids))
    )
    return {int(i): str(v) for i, v in found}


def sync_actor(contribution_id: int) -> Actor:
    """The actor of a change that came from a contribution's ticket: the outbound sync reads it back
    (see events.py) so it never echoes the change to the ticket it came from."""
    return Actor(f"sync:contribution:{contribution_id}", origin=f"{ORIGIN_PREFIX}{contribution_id}")


def source_contribution(actor: Actor) -> int | None:
    if actor.origin and actor.origin.startswith(ORIGIN_PREFIX):
        tail = actor.origin[len(ORIGIN_PREFIX) :]
        return int(tail) if tail.isdigit() else None
    return None


def derive_issue_state(
    session: Session, issue_id: int, actor: Actor, because: str, changed: Contribution
) -> list[str]:
    """Moves the issue as a change of `changed` implies. Returns the statuses it passed through.

    fixing: `changed` started (its ticket went in progress or done; others' older states do not count,
    so a reopened issue waits until a team picks the work up again).
    fix_shipped: every required contribution is done (won't do / duplicate do not ship a fix).
    reopened: after fix_shipped, a required contribution's ticket was reopened by the team.
    """
    issue = issues.get(session, issue_id)
    rows = contributions_of(session, issue_id)
    required = [r for r in rows if r.required]
    all_done = bool(required) and all(r.state == "done" for r in required)
    started = changed.state in STARTED
    moved: list[str] = []
    status = issue.status
    if status in ("open", "acknowledged", "reopened") and (started or all_done):
        issues.transition(session, issue_id, "fixing", because, actor)
        status = "fixing"
        moved.append(status)
    if status == "fixing" and all_done:
        issues.transition(session, issue_id, "fix_shipped", because, actor)
        moved.append("fix_shipped")
    elif status == "fix_shipped" and any(r.state in ("open", "in_progress") for r in required):
        issues.transition(session, issue_id, "reopened", because, actor)
        moved.append("reopened")
    return moved


def lock_contribution(session: Session, contribution_id: int) -> Contribution:
    """Locks the issue, then the contribution (always in that order, so no deadlock), and reads it fresh."""
    row = session.get(Contribution, contribution_id)
    if row is None:
        raise NotFound(f"No contribution {contribution_id}.")
    issues.lock(session, [row.issue_id])
    lock_rows(session, CONTRIBUTIONS, [contribution_id])
    session.refresh(row)
    return row


def apply_ticket_state(session: Session, contribution: Contribution, state: TicketState) -> str:
    """Records the vendor's view of a ticket. Returns 'stale', 'unchanged' or 'applied'.

    Call with the contribution locked (`lock_contribution`). Events arrive late and out of order:
    one older than the state we hold is dropped.
    """
    assert contribution.id is not None
    now = utcnow()
    held = contribution.vendor_updated_at
    if held is not None and state.updated_at is not None and state.updated_at < held:
        return "stale"
    before = {"state": contribution.state, "ticket_key": contribution.ticket_key}
    contribution.ticket_key = state.ref.key
    contribution.ticket_url = state.ref.url
    contribution.vendor_status = state.status[:200]
    contribution.vendor_resolution = (state.resolution or None) and state.resolution[:200]
    contribution.vendor_updated_at = state.updated_at or held
    contribution.last_synced_at = now
    changed = before != {"state": state.category, "ticket_key": state.ref.key}
    contribution.state = state.category
    if changed:
        contribution.updated_at = now
    session.add(contribution)
    session.flush()
    if not changed:
        return "unchanged"
    actor = sync_actor(contribution.id)
    issues.record_event(
        session,
        contribution.issue_id,
        "contribution_synced",
        actor,
        before={"team": contribution.team, **before},
        after={
            "team": contribution.team,
            "state": state.category,
            "ticket_key": state.ref.key,
            "vendor_status": state.status,
        },
    )
    because = f"{contribution.team}: ticket {state.ref.key} is {state.status} ({state.category})"
    derive_issue_state(session, contribution.issue_id, actor, because, contribution)
    return "applied"
