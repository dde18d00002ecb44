"""Feedback ingestion and triage: the only writer of feedback rows.

Every ingest, one item or a thousand, goes through `ingest`: dedupe, place, lock the issues it
touches in id order, insert, then bump the issues' counters once each. That one path keeps counts
exact under concurrency and makes a batch cost a handful of statements rather than a handful per item.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import String, func, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.errors import Conflict, InvalidInput, NotFound, field_error
from app.core.problems import validation_errors
from app.core.sql import insert_ignore, is_in
from app.feedback import placement
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn, IngestResult
from app.issues import service as issues
from app.journey.schemas import Journey
from app.routing import service as routing

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
_LOOKUP_CHUNK = 1000
STAFF_SOURCE = "staff"  # staff checks ("experience the experience"); stored with staff = true


@dataclass
class _Row:
    index: int
    values: dict[str, Any]
    decision: placement.Decision | None
    why: dict[str, Any]


def facts(item: FeedbackIn | FeedbackItem) -> placement.ItemFacts:
    meta = item.metadata if isinstance(item, FeedbackIn) else item.extra
    return placement.ItemFacts(
        text=item.text,
        source=item.source,
        touchpoint=item.touchpoint,
        persona=item.persona,
        score=item.score,
        scale=item.scale,
        metadata=dict(meta or {}),
    )


def validate_raw(raw: Sequence[dict[str, Any]]) -> tuple[list[tuple[int, FeedbackIn]], list[IngestResult]]:
    good: list[tuple[int, FeedbackIn]] = []
    bad: list[IngestResult] = []
    for index, obj in enumerate(raw):
        try:
            good.append((index, FeedbackIn.model_validate(obj)))
        except ValidationError as exc:
            errors = [
                {
                    "field": f"items[{index}]" + ("." + e["field"] if e["field"] != "body" else ""),
                    "message": e["message"],
                }
                for e in validation_errors(exc.errors())
            ]
            bad.append(IngestResult(index=index, status="rejected", errors=errors))
    return good, bad


@dataclass(frozen=True)
class _Stored:
    id: int
    issue_id: int | None
    state: str
    ingest_batch: str | None


def _lookup(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], _Stored]:
    """Stored items by (source, external_id): one query per source, ids passed as one array on PostgreSQL."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, external_id in keys:
        by_source[source].append(external_id)
    c = ITEMS.c
    cols = (c.id, c.source, c.external_id, c.issue_id, c.state, c.ingest_batch)
    found: dict[tuple[str, str], _Stored] = {}
    for source, ids in by_source.items():
        for i in range(0, len(ids), _LOOKUP_CHUNK):
            match = is_in(session, c.external_id, ids[i : i + _LOOKUP_CHUNK], String)
            for row in session.execute(select(*cols).where(c.source == source, match)):
                key = (row.source, row.external_id)
                found[key] = _Stored(row.id, row.issue_id, row.state, row.ingest_batch)
    return found


def ingest(
    session: Session,
    journey: Journey | None,
    items: Sequence[tuple[int, FeedbackIn]],
    actor: Actor,
    *,
    now: datetime | None = None,
) -> list[IngestResult]:
    now = now or utcnow()
    results: dict[int, IngestResult] = {}
    rows: list[_Row] = []
    seen: dict[tuple[str, str], int] = {}
    texts = journey is not None and any(item.text for _, item in items)
    model = routing.current_model(session) if texts else None
    predictor: placement.Predictor | None = None
    if model is not None:
        assert journey is not None
        # Only items no touchpoint or rule places need the model; predict those in one call.
        waiting = [i.text for _, i in items if i.text and placement.decide(facts(i), journey) is None]
        predictor = routing.Batched(model, waiting) if waiting else None
    for index, item in items:
        external_id = item.external_id or f"seam-{uuid.uuid4()}"
        key = (item.source, external_id)
        if key in seen:
            results[index] = IngestResult(index=index, status="duplicate")
            continue
        seen[key] = index
        decision, why = (
            placement.route(facts(item), journey, predictor) if journey is not None else (None, {})
        )
        rows.append(
            _Row(
                index=index,
                decision=decision,
                why=why,
                values={
                    "source": item.source,
                    "external_id": external_id,
                    "text": item.text,
                    "score": item.score,
                    "scale": item.scale,
                    "touchpoint": item.touchpoint,
                    "customer_ref": item.customer_ref,
                    "persona": item.persona,
                    "occurred_at": item.occurred_at or now,
                    "received_at": now,
                    "extra": item.metadata,
                    "created_by_key_id": actor.key_id,
                    "staff": item.source == STAFF_SOURCE,
                },
            )
        )

    existing = _lookup(session, [(r.values["source"], r.values["external_id"]) for r in rows])
    fresh = [r for r in rows if (r.values["source"], r.values["external_id"]) not in existing]
    grouper = _group(session, journey, fresh) if journey is not None and fresh else None
    for r in fresh:
        final = r.decision
        r.values.update(
            state="placed" if final else "triage",
            stage=final.stage if final else None,
            moment=final.moment if final else None,
            placement=_placement_json(final, r.why),
        )

    # Phase 1: find or open issues, in a fixed order so concurrent batches queue rather than deadlock.
    issue_ids: dict[tuple[str, str], int] = {}
    first_text: dict[tuple[str, str], str | None] = {}
    for r in fresh:
        if r.decision:
            first_text.setdefault((r.decision.stage, r.decision.fingerprint), r.values.get("text"))
    for d in sorted(
        {(r.decision.stage, r.decision.fingerprint): r.decision for r in fresh if r.decision}.items()
    ):
        assert journey is not None
        issue_ids[d[0]] = issues.resolve_issue(session, journey, d[1], actor, text=first_text.get(d[0]))
    # Phase 2: hold the issues' rows while items join them, so a merge cannot slip in between.
    issues.lock(session, issue_ids.values())
    for r in fresh:
        if r.decision:
            r.values["issue_id"] = issue_ids[(r.decision.stage, r.decision.fingerprint)]
        else:
            r.values["issue_id"] = None

    # A plain executemany (no RETURNING) is what drivers make fast. Our rows are then read back by id
    # range and batch token: ids only grow, so ours are all above the largest id before the insert,
    # and the token tells them from rows a concurrent request stored meanwhile.
    batch_token = uuid.uuid4().hex
    inserted: dict[tuple[str, str], int] = {}
    if fresh:
        for r in fresh:
            r.values["ingest_batch"] = batch_token
        conn = session.connection()  # Core, not the ORM's bulk layer: that costs more than the insert
        floor = conn.execute(select(func.coalesce(func.max(ITEMS.c.id), 0))).scalar_one()
        conn.execute(insert_ignore(session, ITEMS, ["source", "external_id"]), [r.values for r in fresh])
        mine = select(ITEMS.c.id, ITEMS.c.source, ITEMS.c.external_id).where(
            ITEMS.c.id > floor, ITEMS.c.ingest_batch == batch_token
        )
        for row in conn.execute(mine):
            inserted[(row.source, row.external_id)] = row.id
        lost = [k for r in fresh if (k := (r.values["source"], r.values["external_id"])) not in inserted]
        if lost:  # a concurrent request stored these first: report theirs
            existing.update(_lookup(session, lost))

    if grouper is not None:
        grouper.stored(list(inserted.values()))
    deltas: dict[int, issues.Delta] = defaultdict(issues.Delta)
    for r in fresh:
        key = (r.values["source"], r.values["external_id"])
        item_id = inserted.get(key)
        if item_id is None:  # a concurrent request stored the same item first
            continue
        v = r.values
        if v["issue_id"] is not None:
            # Staff checks are evidence of the problem, but not customers' voices: they add to the item
            # count and stay out of customers, detractors and impact.
            staff = bool(v.get("staff"))
            deltas[v["issue_id"]].add(
                v["occurred_at"],
                None if staff else v["score"],
                v["scale"],
                None if staff else v["customer_ref"],
            )
            trigger = v["placement"].get("grouping", {})
            if trigger.get("method") == "trigger" and trigger.get("fired"):
                issues.record_event(
                    session,
                    v["issue_id"],
                    "trigger_fired",
                    actor,
                    after={"item_id": item_id, "customer_ref": v["customer_ref"], **trigger},
                )
        results[r.index] = IngestResult(
            index=r.index, status="created", id=item_id, issue_id=v["issue_id"], state=v["state"]
        )
    issues.apply_deltas(session, deltas)

    for r in rows:
        if r.index in results:
            continue
        found = existing[(r.values["source"], r.values["external_id"])]
        results[r.index] = IngestResult(
            index=r.index,
            status="duplicate",
            id=found.id,
            issue_id=found.issue_id,
            state=found.state,
        )
    # Duplicates inside one batch point at their first occurrence.
    for index, item in items:
        if results[index].status == "duplicate" and results[index].id is None and item.external_id:
            first = results[seen[(item.source, item.external_id)]]
            results[index] = IngestResult(
                index=index, status="duplicate", id=first.id, issue_id=first.issue_id, state=first.state
            )
    return [results[i] for i in sorted(results)]


def _group(session: Session, journey: Journey, fresh: list[_Row]) -> routing.Grouper:
    """Moment triggers first (a customer's third contact joins that moment's issue), then grouping."""
    candidates = [
        routing.TriggerCandidate(
            r.index,
            r.decision,
            None
            if r.values.get("staff")
            else r.values["customer_ref"],  # staff checks are no customer's contacts
            r.values["source"],
            r.values["occurred_at"],
        )
        for r in fresh
    ]
    triggered = routing.apply_triggers(session, journey, candidates)
    with routing.grouping(session, journey) as grouper:
        for r in fresh:
            if r.index in triggered:
                r.decision = triggered[r.index]
            elif r.decision is not None:
                r.decision = grouper.group(r.decision, r.values["text"])
    return grouper


def _placement_json(d: placement.Decision | None, why: dict[str, Any] | None = None) -> dict[str, Any]:
    if d is None:
        return {
            "method": "none",
            **(why or {"reason": "no touchpoint, rule or model placed it; waiting in triage"}),
        }
    return {"method": d.method, "fingerprint": d.fingerprint, **d.detail}


def get(session: Session, item_id: int) -> FeedbackItem:
    item = session.get(FeedbackItem, item_id)
    if item is None:
        raise NotFound(f"No feedback item {item_id}.")
    return item


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
    """A person places an item. Placed items may be re-placed: a correction moves it between issues.

    Inside the chosen stage the item joins the most similar open issue (or opens one), and the choice is
    kept as training data for the learned router."""
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
    item = get(session, item_id)
    old_issue = item.issue_id
    decision = placement.decide_manually(facts(item), stage, moment, actor=actor.name, method=method)
    with routing.grouping(session, journey) as grouper:
        decision = grouper.group(decision, item.text)
    new_issue = issues.resolve_issue(session, journey, decision, actor)
    if old_issue == new_issue:
        raise Conflict(
            f"Item {item_id} is already in issue {new_issue}.", errors=[field_error("stage", "unchanged")]
        )
    issues.lock(session, [i for i in (old_issue, new_issue) if i is not None])
    session.refresh(item)
    item.state = "placed"
    item.stage = stage
    item.moment = moment
    item.issue_id = new_issue
    previous = {
        k: item.placement.get(k)
        for k in ("method", "rule", "model_version", "confidence")
        if k in item.placement
    }
    item.placement = {
        **_placement_json(decision),
        "reason": reason,
        "previous_issue_id": old_issue,
        "previous": previous,
    }
    session.add(item)
    session.flush()
    routing.record_confirmation(session, journey, item, method=method, actor=actor.name)
    for issue_id in (old_issue, new_issue):
        if issue_id is not None:
            issues.recompute(session, issue_id)
    after = {"item_id": item_id, "stage": stage, "moment": moment}
    if old_issue is not None:
        issues.record_event(
            session, old_issue, "item_moved_out", actor, reason=reason, after={**after, "to_issue": new_issue}
        )
    issues.record_event(
        session, new_issue, "item_added", actor, reason=reason, after={**after, "from_issue": old_issue}
    )
    return item


def list_items(
    session: Session,
    *,
    stage: str | None = None,
    issue_id: int | None = None,
    source: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[FeedbackItem]:
    c = ITEMS.c
    stmt = select(FeedbackItem)
    equal = {"stage": stage, "issue_id": issue_id, "source": source, "state": state}
    for name, value in equal.items():
        if value is not None:
            stmt = stmt.where(c[name] == value)
    if since is not None:
        stmt = stmt.where(c.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(c.occurred_at < until)
    if after_id is not None:
        stmt = stmt.where(c.id < after_id)
    stmt = stmt.order_by(c.id.desc()).limit(limit)
    return list(session.execute(stmt).scalars())


def to_out(item: FeedbackItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "source": item.source,
        "external_id": item.external_id,
        "text": item.text,
        "score": item.score,
        "scale": item.scale,
        "touchpoint": item.touchpoint,
        "customer_ref": item.customer_ref,
        "persona": item.persona,
        "occurred_at": item.occurred_at,
        "received_at": item.received_at,
        "metadata": item.extra,
        "state": item.state,
        "stage": item.stage,
        "moment": item.moment,
        "issue_id": item.issue_id,
        "placement": item.placement,
    }
