"""Placing a batch's new rows: route each to a stage, set compliments and pinned items apart, group
the rest (moment triggers, then similarity), find or open their issues in a fixed order with the rows
locked, write the rows, then count each issue once. Inline ingest and the deferred worker both run it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlmodel import Session

from app.core.actor import SYSTEM_ACTOR, Actor
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn, IngestResult
from app.intake import metrics as ingest_metrics
from app.intake.rows import PlacedApart, Row, at_once, facts, opening, placement_json
from app.issues import counters, evidence
from app.issues import service as issues
from app.journey.schemas import Journey
from app.routing import index as grouping_index
from app.routing import model_store, placement, sentiment, trigger_count, vectors

Write = Callable[[list["Row"]], dict[tuple[str, str], int]]


def place(
    session: Session,
    journey: Journey | None,
    fresh: list[Row],
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


def _compliment(r: Row) -> sentiment.Sentiment | None:
    """Praise by its score (a promoter) or its words, with no complaint in it."""
    if r.decision is None:
        return None
    found = sentiment.classify(r.values["text"], r.values["score"], r.values["scale"])
    return found if found.is_praise else None


def _group(session: Session, journey: Journey, fresh: list[Row]) -> grouping_index.Grouper:
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
        similar = [r for r in fresh if r.index not in triggered and r.decision is not None]
        _embed(grouper, similar)
        grouper.prefetch([(r.decision, r.vector) for r in similar if r.decision is not None])
        for r in fresh:
            if r.index in triggered:
                r.decision = triggered[r.index]
            elif r.decision is not None:
                r.decision = grouper.group(r.decision, r.values["text"], r.vector)
    return grouper


def _embed(grouper: grouping_index.Grouper, rows: list[Row]) -> None:
    """The batch's texts through the encoder at once (it runs far faster on batches than one by one)."""
    encoder = grouper.encoder
    with_text = [r for r in rows if r.values["text"] and r.values["text"].strip()]
    if encoder is None or not with_text:
        return
    for r, v in zip(with_text, vectors.encode(encoder, [r.values["text"] for r in with_text]), strict=True):
        r.vector = v


def _resolve_issues(
    session: Session, journey: Journey | None, fresh: list[Row], actor: Actor, now: datetime
) -> set[int]:
    """Finds or opens each row's issue, in a fixed order so that concurrent batches queue rather than
    deadlock, then holds the issues' rows while items join them, so a merge cannot slip in between.
    Returns the ids of the issues opened here."""
    first: dict[tuple[str, str], Row] = {}
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
    fresh: list[Row],
    inserted: dict[tuple[str, str], int],
    actor: Actor,
    now: datetime,
) -> dict[int, IngestResult]:
    """Each issue's counters once for the batch; a fired trigger is an event on its issue; emerging
    groups that now hold enough evidence become issues."""
    results: dict[int, IngestResult] = {}
    deltas: dict[int, counters.Delta] = defaultdict(counters.Delta)
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
    counters.apply_deltas(session, deltas, at=now)
    if journey is not None and deltas:
        urgent = {
            r.values["issue_id"]
            for r in fresh
            if r.values["issue_id"] is not None and r.decision is not None and at_once(journey, r.decision)
        }
        evidence.promote_ready(session, journey, sorted(deltas), SYSTEM_ACTOR, at_once=urgent, at=now)
    return results
