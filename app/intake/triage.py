"""A person places an item (triage) or corrects where it went: it moves between issues, and the choice
is kept as training data for the learned router."""

from __future__ import annotations

from sqlmodel import Session

from app.core.actor import SYSTEM_ACTOR, Actor
from app.core.errors import Conflict, InvalidInput, field_error
from app.feedback import queries
from app.feedback.models import FeedbackItem
from app.intake.rows import facts, opening, placement_json
from app.issues import counters, evidence
from app.issues import service as issues
from app.issues.lifecycle import TAKES_ITEMS
from app.journey.schemas import Journey
from app.routing import index as grouping_index
from app.routing import model_store, placement, vectors


def _check_place(journey: Journey, stage: str, moment: str | None) -> None:
    st = journey.stage(stage)
    if st is None:
        raise InvalidInput(
            f"Unknown stage '{stage}'.",
            errors=[field_error("stage", f"choose one of: {', '.join(s.key for s in journey.stages)}")],
        )
    if moment is not None and journey.moment(stage, moment) is None:
        raise InvalidInput(
            f"Unknown moment '{moment}' in stage '{stage}'.",
            errors=[
                field_error("moment", f"choose one of: {', '.join(m.key for m in st.moments) or 'none'}")
            ],
        )


def triage(
    session: Session,
    journey: Journey,
    item_id: int,
    stage: str,
    moment: str | None,
    reason: str | None,
    actor: Actor,
    *,
    method: str = "triage",
) -> FeedbackItem:
    """Places the item on the stage (placed items may be re-placed: a correction moves it between issues).

    Inside the chosen stage the item joins the most similar open issue, or opens one."""
    _check_place(journey, stage, moment)
    item = queries.get(session, item_id)
    old_issue = item.issue_id
    decision = placement.decide_manually(facts(item), stage, moment, actor=actor.name, method=method)
    with grouping_index.grouping(session, journey) as grouper:
        vector = None
        if grouper.encoder is not None and item.text and item.text.strip():
            assert item.id is not None
            vector = vectors.ensure(session, grouper.encoder, {item.id: item.text})[item.id]
        decision = grouper.group(decision, item.text, vector)
    new_issue = issues.resolve_issue(session, journey, opening(journey, decision, item.text), actor)
    if old_issue == new_issue:
        raise Conflict(
            f"Item {item_id} is already in issue {new_issue}.", errors=[field_error("stage", "unchanged")]
        )
    issues.lock(session, [i for i in (old_issue, new_issue) if i is not None])
    session.refresh(item)
    previous = {
        k: item.placement.get(k)
        for k in ("method", "rule", "model_version", "confidence")
        if k in item.placement
    }
    item.state, item.stage, item.moment, item.issue_id = "placed", stage, moment, new_issue
    item.placement = {
        **placement_json(decision),
        "reason": reason,
        "previous_issue_id": old_issue,
        "previous": previous,
    }
    session.add(item)
    session.flush()
    model_store.record_confirmation(session, journey, item, method=method, actor=actor.name)
    _record_move(session, item_id, stage, moment, old_issue, new_issue, reason, actor)
    evidence.promote_ready(session, journey, [new_issue], SYSTEM_ACTOR)
    return item


def triage_into(
    session: Session, journey: Journey, item_id: int, issue_id: int, reason: str | None, actor: Actor
) -> FeedbackItem:
    """A person puts the item into the issue they know it belongs to: it takes the issue's stage and
    moment, and the choice is training data for the router like any placement."""
    target = issues.get(session, issue_id)
    if target.status not in TAKES_ITEMS:
        raise Conflict(
            f"Issue {issue_id} is {target.status} and takes no items.",
            errors=[field_error("issue", f"status is '{target.status}'")],
        )
    item = queries.get(session, item_id)
    old_issue = item.issue_id
    if old_issue == issue_id:
        raise Conflict(
            f"Item {item_id} is already in issue {issue_id}.", errors=[field_error("issue", "unchanged")]
        )
    issues.lock(session, [i for i in (old_issue, issue_id) if i is not None])
    session.refresh(item)
    decision = placement.decide_manually(
        facts(item), target.stage, target.moment, actor=actor.name, method="triage"
    )
    item.state, item.stage, item.moment, item.issue_id = "placed", target.stage, target.moment, issue_id
    item.placement = {
        **placement_json(decision),
        "grouping": {"method": "person", "issue_id": issue_id},
        "reason": reason,
        "previous_issue_id": old_issue,
    }
    session.add(item)
    session.flush()
    model_store.record_confirmation(session, journey, item, method="triage", actor=actor.name)
    _record_move(session, item_id, target.stage, target.moment, old_issue, issue_id, reason, actor)
    evidence.promote_ready(session, journey, [issue_id], SYSTEM_ACTOR)
    return item


def _record_move(
    session: Session,
    item_id: int,
    stage: str,
    moment: str | None,
    old_issue: int | None,
    new_issue: int,
    reason: str | None,
    actor: Actor,
) -> None:
    for issue_id in (old_issue, new_issue):
        if issue_id is not None:
            counters.recompute(session, issue_id)
    after = {"item_id": item_id, "stage": stage, "moment": moment}
    if old_issue is not None:
        issues.record_event(
            session, old_issue, "item_moved_out", actor, reason=reason, after={**after, "to_issue": new_issue}
        )
    issues.record_event(
        session, new_issue, "item_added", actor, reason=reason, after={**after, "from_issue": old_issue}
    )
