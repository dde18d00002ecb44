"""Routing in the running service: the learned model, training data, the grouping index, triggers.

- The model: trained from the journey's `examples:` and from confirmations (a person chose an item's
  stage), stored as a versioned row; each process loads the newest row once and caches it by version.
  Retraining is an outbox message, queued when enough new confirmations arrived, never a request's work.
- The grouping index (the engine's `GroupingIndex`) is per process, built from the open issues and then
  kept in step with the database by tailing `feedback_items` and `issue_events` by id, so replicas see
  each other's issues (see `_Tail`).
- Triggers count a customer's items under a per-customer lock (PostgreSQL advisory lock; SQLite runs
  writers one at a time), so the count is exact under concurrent ingestion.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.core.errors import InvalidInput, field_error
from app.core.sql import insert_ignore, is_in
from app.feedback import placement
from app.feedback.models import FeedbackItem
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey.models import JourneyVersion
from app.journey.schemas import Journey
from app.journey.triggers import CustomerEvent, evaluate
from app.outbox import service as outbox
from app.routing.classifier import Prediction, StageModel, TrainingExample
from app.routing.grouping import GroupingIndex
from app.routing.models import RoutingConfirmation, RoutingModel

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
EVENTS = IssueEvent.__table__  # type: ignore[attr-defined]
MODELS = RoutingModel.__table__  # type: ignore[attr-defined]
CONFIRMATIONS = RoutingConfirmation.__table__  # type: ignore[attr-defined]
JOURNEYS = JourneyVersion.__table__  # type: ignore[attr-defined]
RETRAIN_KIND = "routing.retrain"
TRIGGER_PREFIX = "trigger:"

# How often a process reads other replicas' changes into its index (seconds), how long a missing id may
# still be an open transaction's, and how often the index is rebuilt whole to shed drift.
REFRESH_S = 0.0
GAP_WAIT_S = 60.0
REBUILD_S = 1800.0
# Items of one issue that make up its profile in the index (the first ones; later ones change little).
MAX_ITEMS_PER_ISSUE = 500


# -- the learned model ---------------------------------------------------------------------------


def training_examples(session: Session, journey: Journey) -> list[TrainingExample]:
    """The journey's examples plus each confirmed item's latest confirmation."""
    out: list[TrainingExample] = []
    for stage in journey.stages:
        out += [TrainingExample(t, stage.key) for t in stage.examples]
        for moment in stage.moments:
            out += [TrainingExample(t, stage.key, moment.key) for t in moment.examples]
    c = CONFIRMATIONS.c
    latest = select(func.max(c.id)).group_by(c.item_id).scalar_subquery()
    rows = session.execute(select(c.text, c.stage, c.moment).where(c.id.in_(latest)).order_by(c.id))
    for t, stage_key, moment_key in rows:
        if journey.stage(stage_key) is None:
            continue  # a stage since removed from the journey
        if moment_key is not None and journey.moment(stage_key, moment_key) is None:
            moment_key = None
        out.append(TrainingExample(t, stage_key, moment_key))
    return out


def _last_confirmation(session: Session) -> int:
    return int(session.execute(select(func.max(CONFIRMATIONS.c.id))).scalar_one_or_none() or 0)


def train(session: Session, journey: Journey, *, actor: str) -> RoutingModel:
    """Trains on everything confirmed so far and stores the model as the one in force."""
    through = _last_confirmation(session)
    examples = training_examples(session, journey)
    stages = {e.stage for e in examples}
    if len(stages) < 2:
        raise InvalidInput(
            "Too little training data: the model needs examples of at least two stages.",
            errors=[field_error("examples", f"{len(examples)} example(s) in {len(stages)} stage(s)")],
        )
    started = time.perf_counter()
    model = StageModel.train(examples)
    seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        model.save(path)
        data = path.read_bytes()
    metrics = {
        "stages": {s: sum(e.stage == s for e in examples) for s in sorted(stages)},
        "temperature": model.temperature,
        "train_seconds": round(seconds, 3),
        "bytes": len(data),
    }
    values = {
        "version": model.version,
        "created_at": utcnow(),
        "created_by": actor,
        "examples": len(examples),
        "confirmations_through": through,
        "metrics": metrics,
        "data": data,
    }
    session.execute(insert_ignore(session, MODELS, ["version"]).values(**values))
    row = session.execute(select(RoutingModel).where(col(RoutingModel.version) == model.version)).scalar_one()
    if row.confirmations_through < through:
        # Same data as an earlier model (e.g. a correction that changed nothing): it now covers these too.
        row.confirmations_through = through
        row.created_at = utcnow()
        session.add(row)
        session.flush()
    _models[model.version] = model
    return row


def train_if_missing(session: Session, journey: Journey, *, actor: str) -> RoutingModel | None:
    """The demo and first runs: a model from the journey's examples, unless one is in force already."""
    row = current_row(session)
    if row is not None or len({e.stage for e in training_examples(session, journey)}) < 2:
        return row
    return train(session, journey, actor=actor)


def current_row(session: Session) -> RoutingModel | None:
    stmt = select(RoutingModel).order_by(col(RoutingModel.created_at).desc(), col(RoutingModel.id).desc())
    return session.execute(stmt.limit(1)).scalars().first()


_models: dict[str, StageModel] = {}
_models_lock = threading.Lock()


def current_model(session: Session) -> StageModel | None:
    """The model in force, loaded once per process per version."""
    stmt = (
        select(MODELS.c.id, MODELS.c.version)
        .order_by(MODELS.c.created_at.desc(), MODELS.c.id.desc())
        .limit(1)
    )
    head = session.execute(stmt).first()
    if head is None:
        return None
    cached = _models.get(head.version)
    if cached is not None:
        return cached
    data = session.execute(select(MODELS.c.data).where(MODELS.c.id == head.id)).scalar_one()
    with _models_lock, tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        path.write_bytes(data)
        model = StageModel.load(path)
        _models[head.version] = model
    return model


def waiting_confirmations(session: Session, row: RoutingModel | None) -> int:
    since = row.confirmations_through if row else 0
    stmt = select(func.count()).select_from(CONFIRMATIONS).where(CONFIRMATIONS.c.id > since)
    return int(session.execute(stmt).scalar_one())


class Batched:
    """A batch's predictions in one call: per text, the model's cost is mostly fixed overhead (25x)."""

    def __init__(self, model: StageModel, texts: Sequence[str]) -> None:
        self._model = model
        unique = list(dict.fromkeys(texts))
        self._known = dict(zip(unique, model.predict_many(unique), strict=True))

    def predict(self, text: str) -> Prediction:
        found = self._known.get(text)
        return found if found is not None else self._model.predict(text)


def record_confirmation(
    session: Session, journey: Journey, item: FeedbackItem, *, method: str, actor: str
) -> None:
    """A person chose this item's stage: keep it as training data; queue a retrain when enough piled up."""
    if not (item.text and item.text.strip()) or item.stage is None or item.id is None:
        return
    session.add(
        RoutingConfirmation(
            item_id=item.id, text=item.text, stage=item.stage, moment=item.moment, method=method, actor=actor
        )
    )
    session.flush()
    head = session.execute(
        select(MODELS.c.version, MODELS.c.confirmations_through)
        .order_by(MODELS.c.created_at.desc(), MODELS.c.id.desc())
        .limit(1)
    ).first()
    since = head.confirmations_through if head else 0
    stmt = select(func.count()).select_from(CONFIRMATIONS).where(CONFIRMATIONS.c.id > since)
    waiting = int(session.execute(stmt).scalar_one())
    every = journey.routing.retrain_after
    if waiting >= every:
        # One message per batch of confirmations after a model: concurrent triages queue it once.
        key = f"routing-retrain:{head.version if head else 'none'}:{waiting // every}"
        outbox.enqueue(session, RETRAIN_KIND, key, {"confirmations": waiting})


# -- triggers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TriggerCandidate:
    index: int
    decision: placement.Decision | None
    customer: str | None
    source: str
    occurred_at: datetime


def _lock_customers(session: Session, customers: Sequence[str]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite transactions begin IMMEDIATE: writers already run one at a time
    for customer in sorted(set(customers)):
        digest = hashlib.sha256(f"seam-trigger:{customer}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def apply_triggers(
    session: Session, journey: Journey, rows: Sequence[TriggerCandidate]
) -> dict[int, placement.Decision]:
    """Items that take a customer over a moment's trigger join that moment's issue for the customer.

    Counting happens under a per-customer lock held to commit, so concurrent requests count in turn.
    Returns the new decisions by row index.
    """
    specs = [(s, m, m.trigger.spec()) for s in journey.stages for m in s.moments if m.trigger is not None]
    if not specs:
        return {}

    def event(r: TriggerCandidate, item_id: str) -> CustomerEvent:
        return CustomerEvent(r.occurred_at, r.decision.stage if r.decision else None, r.source, item_id)

    relevant = [r for r in rows if r.customer and any(spec.accepts(event(r, "new")) for _, _, spec in specs)]
    if not relevant:
        return {}
    _lock_customers(session, [r.customer for r in relevant if r.customer])
    out: dict[int, placement.Decision] = {}
    earlier: dict[str, list[CustomerEvent]] = {}
    c = ITEMS.c
    for r in relevant:
        assert r.customer is not None
        new = event(r, f"batch:{r.index}")
        for stage, moment, spec in specs:
            if not spec.accepts(new):
                continue
            stmt = select(c.id, c.occurred_at, c.stage, c.source).where(
                c.customer_ref == r.customer,
                c.occurred_at > r.occurred_at - spec.within,
                c.occurred_at <= r.occurred_at,
            )
            history = [CustomerEvent(t, s, src, str(i)) for i, t, s, src in session.execute(stmt)]
            history += earlier.get(r.customer, [])
            result = evaluate(spec, history, new, r.occurred_at)
            if result.count < spec.count:
                continue
            base = r.decision or placement.decide_manually(
                placement.ItemFacts(None, r.source, None, None, None, None),
                stage.key,
                moment.key,
                actor="trigger",
            )
            why = {
                "method": "trigger",
                "moment": moment.key,
                "count": result.count,
                "within": spec.within.total_seconds(),
                "fired": result.fired,
                "evidence": [e for e in result.evidence if not e.startswith("batch:")],
            }
            out[r.index] = placement.Decision(
                stage=stage.key,
                moment=moment.key,
                fingerprint=placement.bounded(f"{TRIGGER_PREFIX}{moment.key}:{r.customer}"),
                method=base.method if r.decision else "trigger",
                detail={**base.detail, "grouping": why},
            )
            break
        earlier.setdefault(r.customer, []).append(new)
    return out


# -- the grouping index, per process, in step with the database ------------------------------------


@dataclass
class _Tail:
    """Which rows of an id-ordered table this process has applied.

    Ids are handed out before commit, so a row can become visible after rows with higher ids. Ids skipped
    over are kept as gaps and looked up again until they appear or are older than GAP_WAIT_S (a rolled
    back insert, or a conflict that used up a sequence value, never appears).
    """

    top: int = 0
    gaps: dict[int, float] = field(default_factory=dict)

    def saw(self, ids: Sequence[int], now: float) -> None:
        for i in sorted(ids):
            if i > self.top:
                if i - self.top <= 10_000:
                    for gap in range(self.top + 1, i):
                        self.gaps[gap] = now
                self.top = i
            else:
                self.gaps.pop(i, None)

    def expire(self, now: float) -> None:
        for gap in [g for g, at in self.gaps.items() if now - at > GAP_WAIT_S]:
            del self.gaps[gap]
        if len(self.gaps) > 20_000:
            for gap in sorted(self.gaps)[: len(self.gaps) - 20_000]:
                del self.gaps[gap]

    def seen(self, item_id: int) -> bool:
        return item_id <= self.top and item_id not in self.gaps

    def where(self, session: Session, id_col: Any) -> Any:
        fresh = id_col > self.top
        if not self.gaps:
            return fresh
        return fresh | is_in(session, id_col, sorted(self.gaps), id_col.type)


@dataclass
class _IndexState:
    index: GroupingIndex
    epoch: tuple[Any, ...]
    items: _Tail = field(default_factory=_Tail)
    events: _Tail = field(default_factory=_Tail)
    built_at: float = field(default_factory=time.monotonic)
    synced_at: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock)


_indexes: dict[str, _IndexState] = {}
_indexes_lock = threading.Lock()
_ISSUE_COLS = (ISSUES.c.id, ISSUES.c.stage, ISSUES.c.moment, ISSUES.c.fingerprint)


def _epoch(session: Session, journey: Journey) -> tuple[Any, ...]:
    # The first journey row tells one database's life from the next (tests empty the tables).
    first = session.execute(
        select(JOURNEYS.c.created_at).order_by(JOURNEYS.c.version).limit(1)
    ).scalar_one_or_none()
    return (first, journey.routing.grouping.version)


def _add(index: GroupingIndex, key: str, text: str, rule_fp: str | None, where: str) -> None:
    # An issue's profile is settled long before its thousandth item, and adding to a large profile costs
    # in proportion to its vocabulary: past the cap only a rule fingerprint it has not seen is recorded.
    full = key in index and index.size(key) >= MAX_ITEMS_PER_ISSUE
    if full and (rule_fp is None or index.place("", where, rule_fp).issue_id == key):
        return
    index.add_item(key, text, rule_fp, stage=where)


def _add_rows(state: _IndexState, rows: Sequence[Any]) -> None:
    for row in rows:
        if not row.text or not row.fingerprint or row.fingerprint.startswith(TRIGGER_PREFIX):
            continue
        rule_fp = (row.placement or {}).get("rule_fingerprint")
        key = placement.index_key(row.stage, row.fingerprint)
        _add(state.index, key, row.text, rule_fp, placement.scope(row.stage, row.moment))


def _items_in_open_issues(session: Session) -> Any:
    c = ITEMS.c
    return (
        select(c.id, c.text, c.placement, *_ISSUE_COLS[1:])
        .join(ISSUES, ISSUES.c.id == c.issue_id)
        .where(ISSUES.c.open_fingerprint.is_not(None), c.text.is_not(None))
    )


def _build(session: Session, journey: Journey, epoch: tuple[Any, ...]) -> _IndexState:
    state = _IndexState(GroupingIndex(journey.routing.grouping), epoch)
    now = time.monotonic()
    state.events.saw([int(session.execute(select(func.max(EVENTS.c.id))).scalar_one_or_none() or 0)], now)
    state.events.gaps.clear()
    top = int(session.execute(select(func.max(ITEMS.c.id))).scalar_one_or_none() or 0)
    rows = list(session.execute(_items_in_open_issues(session).where(ITEMS.c.id <= top).order_by(ITEMS.c.id)))
    _add_rows(state, rows)
    state.items.saw([top], now)
    state.items.gaps.clear()
    state.synced_at = now
    return state


def _sync(session: Session, state: _IndexState) -> None:
    now = time.monotonic()
    c = ITEMS.c
    rows = list(
        session.execute(
            select(c.id, c.text, c.placement, *_ISSUE_COLS[1:], ISSUES.c.open_fingerprint)
            .outerjoin(ISSUES, ISSUES.c.id == c.issue_id)
            .where(state.items.where(session, c.id))
            .order_by(c.id)
        )
    )
    _add_rows(state, [r for r in rows if r.open_fingerprint is not None])
    state.items.saw([r.id for r in rows], now)
    state.items.expire(now)
    e = EVENTS.c
    events = list(
        session.execute(select(e.id, e.issue_id, e.kind, e.after).where(state.events.where(session, e.id)))
    )
    state.events.saw([ev.id for ev in events], now)
    state.events.expire(now)
    touched: set[int] = set()
    for ev in events:
        if ev.kind in ("merged", "absorbed", "transition", "item_moved_out", "item_added"):
            touched.add(ev.issue_id)
    if touched:
        _rebuild_issues(session, state, sorted(touched))
    state.synced_at = now


def _rebuild_issues(session: Session, state: _IndexState, issue_ids: Sequence[int]) -> None:
    """Reads these issues' membership again: a merge, a move or a close changed it somewhere."""
    issues = list(
        session.execute(select(*_ISSUE_COLS, ISSUES.c.open_fingerprint).where(ISSUES.c.id.in_(issue_ids)))
    )
    for issue in issues:
        state.index.close(placement.index_key(issue.stage, issue.fingerprint))
    open_ids = [i.id for i in issues if i.open_fingerprint is not None]
    if not open_ids:
        return
    c = ITEMS.c
    rows = session.execute(_items_in_open_issues(session).where(c.issue_id.in_(open_ids)).order_by(c.id))
    # Items this process has not read yet join when their own row is read.
    _add_rows(state, [r for r in rows if state.items.seen(r.id)])


class Grouper:
    """The index for one ingest or triage: groups decisions and remembers what it added."""

    def __init__(self, state: _IndexState, journey: Journey) -> None:
        self._state = state
        self._by_text = journey.routing.touchpoint_grouping == "similarity"

    @property
    def index(self) -> GroupingIndex:
        return self._state.index

    def group(self, d: placement.Decision, item_text: str | None) -> placement.Decision:
        grouped = placement.group(d, item_text, self._state.index, touchpoints_by_text=self._by_text)
        if item_text and item_text.strip():
            # Seen at once by later items of the same batch; the stored row is skipped when read back.
            _add(
                self._state.index,
                placement.index_key(grouped.stage, grouped.fingerprint),
                item_text,
                grouped.detail.get("rule_fingerprint"),
                placement.scope(grouped.stage, grouped.moment),
            )
        return grouped

    def stored(self, ids: Sequence[int]) -> None:
        with self._state.lock:
            self._state.items.saw(ids, time.monotonic())


@contextmanager
def grouping(session: Session, journey: Journey) -> Iterator[Grouper]:
    """This process's index for the journey's grouping settings, brought up to date, held for the caller.

    A new grouping version builds a new index; existing issues keep their items (nothing is regrouped).
    """
    url = str(session.get_bind().engine.url)
    epoch = _epoch(session, journey)
    with _indexes_lock:
        state = _indexes.get(url)
        if state is None or state.epoch != epoch or time.monotonic() - state.built_at > REBUILD_S:
            state = _indexes[url] = _build(session, journey, epoch)
    with state.lock:
        if time.monotonic() - state.synced_at >= REFRESH_S:
            _sync(session, state)
        yield Grouper(state, journey)


def refresh_now() -> None:
    """Tests and tools: make the next grouping read the database at once."""
    for state in _indexes.values():
        state.synced_at = 0.0
