"""Feedback ingestion: every item, one or a thousand, from any entry point, goes through `ingest`.

The phases, each a named function (here, then in `app.intake.placing` from routing on): validate,
dedupe (inside the batch and against what is stored), route (a stage per item), set compliments apart
(praise is placed on its stage and moment but joins no issue: a problem's issue must not fill with
people saying what works), group (triggers, then similarity, into issues), resolve issues (found or
opened in a fixed order), insert (with the issues' rows locked), count (each issue's counters bumped
once). That one path keeps counts exact under concurrency and makes a batch cost a handful of
statements rather than a handful per item.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.problems import validation_errors
from app.feedback import queries, store
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn, IngestResult
from app.intake import metrics as ingest_metrics
from app.intake.placing import Write, place
from app.intake.rows import PlacedApart, Row
from app.journey.schemas import Journey
from app.outbox import service as outbox
from app.routing import vectors

# Stored at once, placed by the worker (`defer`): no stage and no issue until then.
PENDING = "pending"
PENDING_PLACEMENT = {"method": "pending", "reason": "stored; the worker places it shortly"}
PLACE_KIND = "intake.place"


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

    def insert(batch: list[Row]) -> dict[tuple[str, str], int]:
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


def _store_pending(session: Session, fresh: list[Row], write: Write) -> dict[int, IngestResult]:
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
        Row(
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

    def update(batch: list[Row]) -> dict[tuple[str, str], int]:
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
) -> tuple[list[Row], dict[tuple[str, str], int]]:
    """One row per (source, external_id); later repeats in the batch point at the first (by position)."""
    rows: list[Row] = []
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
        rows.append(Row(index=index, item=item, values=values, decision=None, why={}))
    return rows, first_of


def _results(
    items: Sequence[tuple[int, FeedbackIn]],
    rows: list[Row],
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
