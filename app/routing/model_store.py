"""The learned stage model in the running service: trained from the journey's `examples:` and from
confirmations (a person chose an item's stage), stored as a versioned row; each process loads the newest
row once and caches it by version. Retraining is an outbox message, queued when enough new confirmations
arrived, never a request's work."""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.core.db import reader
from app.core.errors import InvalidInput, field_error
from app.core.sql import insert_ignore
from app.feedback.models import FeedbackItem
from app.journey import service as journeys
from app.journey.schemas import Journey
from app.outbox import service as outbox
from app.routing import vectors
from app.routing.classifier import Prediction, StageModel, TrainingExample
from app.routing.models import RoutingConfirmation, RoutingModel

MODELS = RoutingModel.__table__  # type: ignore[attr-defined]
CONFIRMATIONS = RoutingConfirmation.__table__  # type: ignore[attr-defined]
RETRAIN_KIND = journeys.RETRAIN_KIND
log = logging.getLogger("seam.routing")


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


@dataclass(frozen=True)
class Fitted:
    """A model trained from a snapshot of the examples, not yet stored."""

    model: StageModel
    examples: int
    stages: dict[str, int]
    through: int
    seconds: float


def fit(session: Session, journey: Journey) -> Fitted:
    """Trains on everything confirmed so far. It only reads: a caller that wants no lock held while the
    model fits (seconds to minutes with many examples) passes a reading session."""
    through = _last_confirmation(session)
    examples = training_examples(session, journey)
    stages = {e.stage for e in examples}
    if len(stages) < 2:
        raise InvalidInput(
            "Too little training data: the model needs examples of at least two stages.",
            errors=[field_error("examples", f"{len(examples)} example(s) in {len(stages)} stage(s)")],
        )
    started = time.perf_counter()
    # The sentence encoder's features next to TF-IDF's when it runs (+0.04 to +0.10 stage accuracy
    # on every shared data set, docs/benchmarks.md); without it, TF-IDF alone.
    model = StageModel.train(examples, embedder=vectors.cached_encoder())
    counts = {s: sum(e.stage == s for e in examples) for s in sorted(stages)}
    return Fitted(model, len(examples), counts, through, time.perf_counter() - started)


def store(session: Session, fitted: Fitted, *, actor: str) -> RoutingModel:
    """Puts a fitted model in force (the same data as an earlier model only moves that one forward)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.npz"
        fitted.model.save(path)
        data = path.read_bytes()
    metrics = {
        "stages": fitted.stages,
        "temperature": fitted.model.temperature,
        "train_seconds": round(fitted.seconds, 3),
        "bytes": len(data),
    }
    values = {
        "version": fitted.model.version,
        "created_at": utcnow(),
        "created_by": actor,
        "examples": fitted.examples,
        "confirmations_through": fitted.through,
        "metrics": metrics,
        "data": data,
    }
    session.execute(insert_ignore(session, MODELS, ["version"]).values(**values))
    stmt = select(RoutingModel).where(col(RoutingModel.version) == fitted.model.version)
    row = session.execute(stmt).scalar_one()
    if row.confirmations_through < fitted.through:
        # Same data as an earlier model (e.g. a correction that changed nothing): it now covers these too.
        row.confirmations_through = fitted.through
        row.created_at = utcnow()
        session.add(row)
        session.flush()
    _models[fitted.model.version] = fitted.model
    return row


def train(session: Session, journey: Journey, *, actor: str) -> RoutingModel:
    """Fits and stores in the caller's transaction (a fresh database's first model)."""
    return store(session, fit(session, journey), actor=actor)


def train_apart(engine: Engine, *, actor: str) -> RoutingModel:
    """Fits on a read snapshot with no write lock held (on SQLite, ingest goes on meanwhile), then
    stores the model in a short transaction of its own."""
    with Session(reader(engine), expire_on_commit=False) as session:
        fitted = fit(session, journeys.current(session))
    with Session(engine, expire_on_commit=False) as session:
        row = store(session, fitted, actor=actor)
        session.commit()
        return row


def on_journey_applied(session: Session, before: Journey | None, after: Journey) -> None:
    """A journey whose examples or descriptions changed retrains the model in force, in the background.
    With no model yet there is nothing to keep in step: `seam journey apply` trains the first one."""
    taught = journeys.teaching(after)
    if before is None or journeys.teaching(before) == taught:
        return
    head = current_row(session)
    if head is not None:
        outbox.enqueue(session, RETRAIN_KIND, f"journey:{taught[:16]}", {"reason": "journey"})


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
        try:
            model = StageModel.load(path, embedder=vectors.cached_encoder())
        except ValueError as exc:
            # Trained with an encoder this process does not have: items wait in triage until a retrain.
            log.error("routing model %s cannot be used here: %s", head.version, exc)
            return None
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
