"""The live grouping index: one per process, built from the open issues and emerging groups and then
kept in step with the database by tailing `feedback_items` and `issue_events` by id, so replicas see
each other's groups (see `Tail`). A new grouping version, encoder or calibration builds a new index;
existing issues keep their items.

With the sentence encoder loaded (the default install) the index is a `VectorIndex` over the items'
stored vectors, centred and thresholded per stage by the newest calibration; without it, the lexical
`GroupingIndex` (TF-IDF), and the startup log and `/readyz` say so."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from app.core.sql import is_in
from app.feedback.models import FeedbackItem
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey.models import JourneyVersion
from app.journey.schemas import Journey
from app.routing import placement, threshold_store, vectors
from app.routing.embedding import Embedder
from app.routing.grouping import GroupingIndex
from app.routing.trigger_count import TRIGGER_PREFIX
from app.routing.vector_index import VectorIndex

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
EVENTS = IssueEvent.__table__  # type: ignore[attr-defined]
JOURNEYS = JourneyVersion.__table__  # type: ignore[attr-defined]
# How often a process reads other replicas' changes into its index (seconds), how long a missing id may
# still be an open transaction's, and how often the index is rebuilt whole to shed drift.
REFRESH_S = 0.0
GAP_WAIT_S = 60.0
REBUILD_S = 1800.0
# Items of one issue that make up its profile in the index (the first ones; later ones change little).
MAX_ITEMS_PER_ISSUE = 500


@dataclass
class Tail:
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


Index = GroupingIndex | VectorIndex


@dataclass
class _IndexState:
    index: Index
    epoch: tuple[Any, ...]
    encoder: Embedder | None = None
    items: Tail = field(default_factory=Tail)
    events: Tail = field(default_factory=Tail)
    built_at: float = field(default_factory=time.monotonic)
    synced_at: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock)


# This process's indexes, by database URL. A test swaps the dict to act as another process would.
PROCESS_INDEXES: dict[str, _IndexState] = {}
_indexes_lock = threading.Lock()
_ISSUE_COLS = (ISSUES.c.id, ISSUES.c.stage, ISSUES.c.moment, ISSUES.c.fingerprint)


def _epoch(session: Session, journey: Journey, encoder: Embedder | None) -> tuple[Any, ...]:
    # The first journey row tells one database's life from the next (tests empty the tables).
    first = session.execute(
        select(JOURNEYS.c.created_at).order_by(JOURNEYS.c.version).limit(1)
    ).scalar_one_or_none()
    name = encoder.name if encoder is not None else None
    calibrated = threshold_store.latest_id(session, name) if name is not None else None
    return (first, journey.routing.grouping.version, name, calibrated)


def _add(
    index: Index,
    key: str,
    text: str,
    rule_fp: str | None,
    where: str,
    vector: Any = None,
    facet: str | None = None,
) -> None:
    # An issue's profile is settled long before its thousandth item, and adding to a large profile costs
    # in proportion to its vocabulary: past the cap only a rule fingerprint it has not seen is recorded.
    full = key in index and index.size(key) >= MAX_ITEMS_PER_ISSUE
    if full and (rule_fp is None or index.place("", where, rule_fp).issue_id == key):
        return
    if isinstance(index, VectorIndex):
        index.add_item(key, text, rule_fp, stage=where, vector=vector, facet=facet)
    else:
        index.add_item(key, text, rule_fp, stage=where, vector=vector)


def _groupable(row: Any) -> bool:
    return bool(row.text and row.fingerprint and not row.fingerprint.startswith(TRIGGER_PREFIX))


def _add_rows(session: Session, state: _IndexState, rows: Sequence[Any]) -> None:
    rows = [r for r in rows if _groupable(r)]
    found: dict[int, Any] = {}
    if state.encoder is not None and rows:
        found = vectors.ensure(session, state.encoder, {int(r.id): r.text for r in rows})
    for row in rows:
        rule_fp = (row.placement or {}).get("rule_fingerprint")
        key = placement.index_key(row.stage, row.fingerprint)
        where = placement.scope(row.stage, row.moment)
        # The group the item first joined: after a merge, its old group is a facet of the new one.
        facet = (row.placement or {}).get("fingerprint") or row.fingerprint
        _add(state.index, key, row.text, rule_fp, where, found.get(int(row.id)), facet)


def _items_in_open_issues(session: Session) -> Any:
    c = ITEMS.c
    return (
        select(c.id, c.text, c.placement, *_ISSUE_COLS[1:])
        .join(ISSUES, ISSUES.c.id == c.issue_id)
        .where(ISSUES.c.open_fingerprint.is_not(None), c.text.is_not(None))
    )


def _new_index(session: Session, journey: Journey, encoder: Embedder | None) -> Index:
    if encoder is None:
        return GroupingIndex(journey.routing.grouping)
    found = threshold_store.latest(session, encoder.name)
    if found is None:
        return VectorIndex(journey.routing.grouping)
    return VectorIndex(journey.routing.grouping, mean=found.mean, stage_thresholds=found.thresholds)


def _build(
    session: Session, journey: Journey, epoch: tuple[Any, ...], encoder: Embedder | None
) -> _IndexState:
    state = _IndexState(_new_index(session, journey, encoder), epoch, encoder)
    now = time.monotonic()
    state.events.saw([int(session.execute(select(func.max(EVENTS.c.id))).scalar_one_or_none() or 0)], now)
    state.events.gaps.clear()
    top = int(session.execute(select(func.max(ITEMS.c.id))).scalar_one_or_none() or 0)
    rows = list(session.execute(_items_in_open_issues(session).where(ITEMS.c.id <= top).order_by(ITEMS.c.id)))
    _add_rows(session, state, rows)
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
    _add_rows(session, state, [r for r in rows if r.open_fingerprint is not None])
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
    _add_rows(session, state, [r for r in rows if state.items.seen(r.id)])


class Grouper:
    """The index for one ingest or triage: groups decisions and remembers what it added."""

    def __init__(self, state: _IndexState, journey: Journey) -> None:
        self._state = state
        self._by_text = journey.routing.touchpoint_grouping == "similarity"

    @property
    def index(self) -> Index:
        return self._state.index

    @property
    def encoder(self) -> Embedder | None:
        return self._state.encoder

    def group(self, d: placement.Decision, item_text: str | None, vector: Any = None) -> placement.Decision:
        """``vector``: the item's (raw) sentence vector when the index is a `VectorIndex`."""
        grouped = placement.group(
            d, item_text, self._state.index, touchpoints_by_text=self._by_text, vector=vector
        )
        if item_text and item_text.strip() and not grouped.fingerprint.startswith(TRIGGER_PREFIX):
            # Seen at once by later items of the same batch; the stored row is skipped when read back.
            _add(
                self._state.index,
                placement.index_key(grouped.stage, grouped.fingerprint),
                item_text,
                grouped.detail.get("rule_fingerprint"),
                placement.scope(grouped.stage, grouped.moment),
                vector,
                grouped.fingerprint,
            )
        return grouped

    def prefetch(self, batch: Sequence[tuple[placement.Decision, Any]]) -> None:
        """The (decision, raw vector) pairs of a batch about to be grouped one by one."""
        index = self._state.index
        if isinstance(index, VectorIndex):
            index.prefetch([(placement.scope(d.stage, d.moment), v) for d, v in batch if v is not None])

    def stored(self, ids: Sequence[int]) -> None:
        with self._state.lock:
            self._state.items.saw(ids, time.monotonic())


@contextmanager
def grouping(session: Session, journey: Journey) -> Iterator[Grouper]:
    """This process's index for the journey's grouping settings, brought up to date, held for the caller.

    A new grouping version builds a new index; existing issues keep their items (nothing is regrouped).
    """
    url = str(session.get_bind().engine.url)
    encoder = vectors.process_encoder()
    epoch = _epoch(session, journey, encoder)
    with _indexes_lock:
        state = PROCESS_INDEXES.get(url)
        if state is None or state.epoch != epoch or time.monotonic() - state.built_at > REBUILD_S:
            state = PROCESS_INDEXES[url] = _build(session, journey, epoch, encoder)
    with state.lock:
        if time.monotonic() - state.synced_at >= REFRESH_S:
            _sync(session, state)
        try:
            yield Grouper(state, journey)
        finally:
            if isinstance(state.index, VectorIndex):
                state.index.release()


def refresh_now() -> None:
    """Tests and tools: make the next grouping read the database at once."""
    for state in PROCESS_INDEXES.values():
        state.synced_at = 0.0
