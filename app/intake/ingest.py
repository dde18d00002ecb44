"""Feedback ingestion: every item, one or a thousand, from any entry point, goes through `ingest`.

The phases, each a function below: validate, dedupe (inside the batch and against what is stored),
route (a stage per item), set compliments apart (praise is placed on its stage and moment but joins no
issue: a problem's issue must not fill with people saying what works), group (triggers, then
similarity, into issues), resolve issues (found or opened in a fixed order), insert (with the issues'
rows locked), count (each issue's counters bumped once). That one path keeps counts exact under
concurrency and makes a batch cost a handful of statements rather than a handful per item.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.core.actor import SYSTEM_ACTOR, Actor
from app.core.clock import utcnow
from app.core.problems import validation_errors
from app.feedback import queries, store
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn, IngestResult
from app.intake import metrics as ingest_metrics
from app.issues import evidence
from app.issues import service as issues
from app.journey.schemas import Journey
from app.outbox import service as outbox
from app.routing import index as grouping_index
from app.routing import model_store, placement, sentiment, trigger_count, vectors

# Stored at once, placed by the worker (`defer`): no stage and no issue until then.
PENDING = "pending"
PENDING_PLACEMENT = {"method": "pending", "reason": "stored; the worker places it shortly"}
PLACE_KIND = "intake.place"


@dataclass(frozen=True)
class PlacedApart:
    """Where an item goes that is placed on a stage and moment and joins no issue, and why: `grouping`
    becomes its `placement.grouping` (its `method` names the reason, e.g. `answer`)."""

    stage: str
    moment: str | None
    grouping: dict[str, Any]


@dataclass
class _Row:
    index: int
    item: FeedbackIn | FeedbackItem
    values: dict[str, Any]
    decision: placement.Decision | None
    why: dict[str, Any]
    # Placed on its stage and moment, counted there, but in no issue.
    compliment: sentiment.Sentiment | None = None
    # The item's sentence vector (when the encoder runs), stored with it for the index to reuse.
    vector: Any = None
    # The `placement.grouping` of an item placed apart (a compliment, an answer): it joins no issue.
    apart: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.values["source"], self.values["external_id"])


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
    # Counted at once: nothing of a rejected item is stored, so no rollback can take it back.
    ingest_metrics.ITEMS.labels("rejected").inc(len(bad))
    return good, bad


def prepare(items: Sequence[FeedbackIn]) -> None:
    """Work that needs no database, done before the caller's transaction begins: the vectors of
    validated texts."""
    vectors.warm(i.text for i in items)


def ingest(
    session: Session,
    journey: Journey | None,
    items: Sequence[tuple[int, FeedbackIn]],
    actor: Actor,
    *,
    now: datetime | None = None,
    placed_apart: dict[int, PlacedApart] | None = None,
    defer: bool = False,
) -> list[IngestResult]:
    """`placed_apart` pins items (by their index) to a stage and moment outside every issue: the caller
    knows where they belong and that they are no new evidence of a problem to group.

    `defer` stores the new items as `pending` and queues their placement for the worker in the same
    transaction (`app.intake.deferred`); pinned items are always placed at once."""
    now = now or utcnow()
    rows, first_of = _dedupe_batch(items, actor, now)
    existing = queries.lookup(session, [r.key for r in rows])
    fresh = [r for r in rows if r.key not in existing]

    def insert(batch: list[_Row]) -> dict[tuple[str, str], int]:
        inserted = store.insert_new(session, [r.values for r in batch])
        lost = [r.key for r in batch if r.key not in inserted]
        if lost:  # a concurrent request stored these first: report theirs
            existing.update(queries.lookup(session, lost))
        return inserted

    if defer and not placed_apart:
        results = _store_pending(session, fresh, insert)
        answered = _results(items, rows, results, existing, first_of)
        ingest_metrics.count(session, answered, [])
        return answered
    results, outcomes = place(session, journey, fresh, actor, now, insert, placed_apart or {})
    answered = _results(items, rows, results, existing, first_of)
    ingest_metrics.count(session, answered, outcomes)
    return answered


Write = Callable[[list["_Row"]], dict[tuple[str, str], int]]


def place(
    session: Session,
    journey: Journey | None,
    fresh: list[_Row],
    actor: Actor,
    now: datetime,
    write: Write,
    pinned: dict[int, PlacedApart],
) -> tuple[dict[int, IngestResult], list[str]]:
    """Routes, sets apart, groups and counts rows not stored yet (`write` inserts them) or stored and
    pending (`write` updates them); returns each row's result and the placement outcomes to count."""
    predictor = _predictor(session, journey, [r.item for r in fresh if r.index not in pinned])
    for r in fresh:
        if r.index in pinned:
            where = pinned[r.index]
            r.decision = placement.decide_manually(
                facts(r.item), where.stage, where.moment, actor=actor.name, method=where.grouping["method"]
            )
            r.apart = dict(where.grouping)
        elif journey is not None:
            r.decision, r.why = placement.route(facts(r.item), journey, predictor)
            r.compliment = _compliment(r)
            if r.compliment is not None:
                r.apart = {
                    # A staff check that found the experience as it should be is no problem, and no
                    # customer's compliment either.
                    "method": "check_passed" if r.values["staff"] else "compliment",
                    "basis": r.compliment.basis,
                    "positive_terms": list(r.compliment.positive_terms),
                }
    grouped = [r for r in fresh if r.apart is None]
    grouper = _group(session, journey, grouped) if journey is not None and grouped else None
    opened = _resolve_issues(session, journey, fresh, actor, now)
    written = write(fresh)
    if grouper is not None:
        grouper.stored(list(written.values()))
        if grouper.encoder is not None:
            made = {written[r.key]: r.vector for r in fresh if r.vector is not None and r.key in written}
            vectors.store(session, grouper.encoder.name, made)
    results = _count(session, journey, fresh, written, actor, now)
    stored = [(r.apart, r.values["issue_id"]) for r in fresh if r.key in written]
    return results, ingest_metrics.outcomes(stored, opened)


def _store_pending(session: Session, fresh: list[_Row], write: Write) -> dict[int, IngestResult]:
    """Stores the rows as `pending` (no stage, no issue yet) and queues one placement for all of them."""
    for r in fresh:
        r.values.update(
            state=PENDING, stage=None, moment=None, issue_id=None, placement=dict(PENDING_PLACEMENT)
        )
    written = write(fresh)
    if written:
        ids = sorted(written.values())
        outbox.enqueue(session, PLACE_KIND, f"{PLACE_KIND}:{ids[0]}", {"item_ids": ids})
    return {
        r.index: IngestResult(
            index=r.index, status="created", id=written[r.key], issue_id=None, state=PENDING
        )
        for r in fresh
        if r.key in written
    }


def place_stored(
    session: Session, journey: Journey | None, items: Sequence[FeedbackItem], actor: Actor, now: datetime
) -> list[str]:
    """Places items stored `pending` (locked by the caller) as ingest would have placed them then;
    returns the placement outcomes counted."""
    rows = [
        _Row(
            index=item.id or 0,
            item=item,
            values={
                "source": item.source,
                "external_id": item.external_id,
                "text": item.text,
                "score": item.score,
                "scale": item.scale,
                "customer_ref": item.customer_ref,
                "persona": item.persona,
                "occurred_at": item.occurred_at,
                "staff": item.staff,
            },
            decision=None,
            why={},
        )
        for item in items
    ]
    ids = {r.key: r.index for r in rows}

    def update(batch: list[_Row]) -> dict[tuple[str, str], int]:
        store.place_stored(
            session,
            [
                {
                    "id": ids[r.key],
                    **{k: r.values[k] for k in ("state", "stage", "moment", "placement", "issue_id")},
                }
                for r in batch
            ],
        )
        return {r.key: ids[r.key] for r in batch}

    _, outcomes = place(session, journey, rows, actor, now, update, {})
    ingest_metrics.count(session, [], outcomes)
    return outcomes


def _dedupe_batch(
    items: Sequence[tuple[int, FeedbackIn]], actor: Actor, now: datetime
) -> tuple[list[_Row], dict[tuple[str, str], int]]:
    """One row per (source, external_id); later repeats in the batch point at the first (by position)."""
    rows: list[_Row] = []
    first_of: dict[tuple[str, str], int] = {}
    for position, (index, item) in enumerate(items):
        external_id = item.external_id or f"seam-{uuid.uuid4()}"
        key = (item.source, external_id)
        if key in first_of:
            continue
        first_of[key] = position
        values = {
            "source": item.source,
            "external_id": external_id,
            "text": item.text,
            "score": item.score,
            "scale": item.scale,
            "touchpoint": item.touchpoint,
            "customer_ref": item.customer_ref,
            "persona": item.persona,
            # The customer's clock, never ahead of ours (a skewed source cannot date an item ahead).
            "occurred_at": min(item.occurred_at, now) if item.occurred_at else now,
            "received_at": now,
            "extra": item.metadata,
            "created_by_key_id": actor.key_id,
            "staff": item.source == store.STAFF_SOURCE,
        }
        rows.append(_Row(index=index, item=item, values=values, decision=None, why={}))
    return rows, first_of


def _predictor(
    session: Session, journey: Journey | None, items: Sequence[FeedbackIn | FeedbackItem]
) -> placement.Predictor | None:
    """The learned model, asked once for every text that no touchpoint or rule places."""
    if journey is None or not any(item.text for item in items):
        return None
    model = model_store.current_model(session)
    if model is None:
        return None
    waiting = [i.text for i in items if i.text and placement.decide(facts(i), journey) is None]
    return model_store.Batched(model, waiting) if waiting else None


def _compliment(r: _Row) -> sentiment.Sentiment | None:
    """Praise by its score (a promoter) or its words, with no complaint in it."""
    if r.decision is None:
        return None
    found = sentiment.classify(r.values["text"], r.values["score"], r.values["scale"])
    return found if found.is_praise else None


def _group(session: Session, journey: Journey, fresh: list[_Row]) -> grouping_index.Grouper:
    """Moment triggers first (a customer's third contact joins that moment's issue), then similarity.
    Items placed apart (compliments, answers) are not given to it."""
    candidates = [
        trigger_count.TriggerCandidate(
            r.index,
            r.decision,
            None if r.values["staff"] else r.values["customer_ref"],  # staff checks are no customer's
            r.values["source"],
            r.values["occurred_at"],
        )
        for r in fresh
    ]
    triggered = trigger_count.apply_triggers(session, journey, candidates)
    with grouping_index.grouping(session, journey) as grouper:
        _embed(grouper, [r for r in fresh if r.index not in triggered and r.decision is not None])
        for r in fresh:
            if r.index in triggered:
                r.decision = triggered[r.index]
            elif r.decision is not None:
                r.decision = grouper.group(r.decision, r.values["text"], r.vector)
    return grouper


def _embed(grouper: grouping_index.Grouper, rows: list[_Row]) -> None:
    """The batch's texts through the encoder at once (it runs far faster on batches than one by one)."""
    encoder = grouper.encoder
    with_text = [r for r in rows if r.values["text"] and r.values["text"].strip()]
    if encoder is None or not with_text:
        return
    for r, v in zip(with_text, vectors.encode(encoder, [r.values["text"] for r in with_text]), strict=True):
        r.vector = v


def at_once(journey: Journey, d: placement.Decision) -> bool:
    """Whether this decision opens an owner's issue at once rather than an emerging group: the journey
    asks for no evidence, a moment-of-truth trigger fired, or the moment or rule says so."""
    if journey.routing.evidence.at_once or d.detail.get("grouping", {}).get("method") == "trigger":
        return True
    moment = journey.moment(d.stage, d.moment) if d.moment else None
    if moment is not None and moment.open_at_once:
        return True
    rule_id = d.detail.get("rule")
    return any(rule.id == rule_id and rule.open_at_once for rule in journey.rules) if rule_id else False


def placement_json(d: placement.Decision | None, why: dict[str, Any] | None = None) -> dict[str, Any]:
    if d is None:
        return {
            "method": "none",
            **(why or {"reason": "no touchpoint, rule or model placed it; waiting in triage"}),
        }
    return {"method": d.method, "fingerprint": d.fingerprint, **d.detail}


def opening(journey: Journey, d: placement.Decision, text: str | None = None) -> issues.Opening:
    return issues.Opening(
        stage=d.stage,
        moment=d.moment,
        fingerprint=d.fingerprint,
        touchpoint=d.detail.get("touchpoint"),
        text=text if d.grouped_by_text else None,
        wordless=not (text and text.strip()),
        emerging=not at_once(journey, d),
    )


def _resolve_issues(
    session: Session, journey: Journey | None, fresh: list[_Row], actor: Actor, now: datetime
) -> set[int]:
    """Finds or opens each row's issue, in a fixed order so that concurrent batches queue rather than
    deadlock, then holds the issues' rows while items join them, so a merge cannot slip in between.
    Returns the ids of the issues opened here."""
    first: dict[tuple[str, str], _Row] = {}
    for r in fresh:
        d = r.decision
        r.values.update(
            state="placed" if d else "triage",
            stage=d.stage if d else None,
            moment=d.moment if d else None,
            placement=placement_json(d, r.why),
            issue_id=None,
        )
        if r.apart is not None:
            r.values["placement"]["grouping"] = r.apart
        elif d is not None:
            first.setdefault((d.stage, d.fingerprint), r)
    ids: dict[tuple[str, str], int] = {}
    opened: set[int] = set()
    for key, r in sorted(first.items()):
        assert journey is not None and r.decision is not None
        ids[key] = issues.resolve_issue(
            session, journey, opening(journey, r.decision, r.values["text"]), actor, at=now, opened=opened
        )
    issues.lock(session, ids.values())
    for r in fresh:
        if r.decision is not None and r.apart is None:
            r.values["issue_id"] = ids[(r.decision.stage, r.decision.fingerprint)]
    return opened


def _count(
    session: Session,
    journey: Journey | None,
    fresh: list[_Row],
    inserted: dict[tuple[str, str], int],
    actor: Actor,
    now: datetime,
) -> dict[int, IngestResult]:
    """Each issue's counters once for the batch; a fired trigger is an event on its issue; emerging
    groups that now hold enough evidence become issues."""
    results: dict[int, IngestResult] = {}
    deltas: dict[int, issues.Delta] = defaultdict(issues.Delta)
    for r in fresh:
        item_id = inserted.get(r.key)
        if item_id is None:  # a concurrent request stored the same item first
            continue
        v = r.values
        if v["issue_id"] is not None:
            # Staff checks are evidence of the problem, but not customers' voices: they add to the item
            # count and stay out of customers, detractors and impact.
            staff = bool(v["staff"])
            deltas[v["issue_id"]].add(
                v["occurred_at"],
                None if staff else v["score"],
                v["scale"],
                None if staff else v["customer_ref"],
                persona=v["persona"],
                staff=staff,
            )
            trigger = v["placement"].get("grouping", {})
            if trigger.get("method") == "trigger" and trigger.get("fired"):
                after = {"item_id": item_id, "customer_ref": v["customer_ref"], **trigger}
                issues.record_event(session, v["issue_id"], "trigger_fired", actor, after=after)
        results[r.index] = IngestResult(
            index=r.index, status="created", id=item_id, issue_id=v["issue_id"], state=v["state"]
        )
    issues.apply_deltas(session, deltas, at=now)
    if journey is not None and deltas:
        urgent = {
            r.values["issue_id"]
            for r in fresh
            if r.values["issue_id"] is not None and r.decision is not None and at_once(journey, r.decision)
        }
        evidence.promote_ready(session, journey, sorted(deltas), SYSTEM_ACTOR, at_once=urgent, at=now)
    return results


def _results(
    items: Sequence[tuple[int, FeedbackIn]],
    rows: list[_Row],
    results: dict[int, IngestResult],
    existing: dict[tuple[str, str], queries.Stored],
    first_of: dict[tuple[str, str], int],
) -> list[IngestResult]:
    """One result per input, in input order; duplicates point at the stored item or their first twin."""
    for r in rows:
        if r.index not in results:
            found = existing[r.key]
            results[r.index] = IngestResult(
                index=r.index, status="duplicate", id=found.id, issue_id=found.issue_id, state=found.state
            )
    for index, item in items:
        if index in results:
            continue
        first = results[items[first_of[(item.source, item.external_id or "")]][0]]
        results[index] = IngestResult(
            index=index, status="duplicate", id=first.id, issue_id=first.issue_id, state=first.state
        )
    return [results[i] for i in sorted(results)]
