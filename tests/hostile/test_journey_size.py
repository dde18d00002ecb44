"""A journey too big to be real cannot stall the service.

Before: a journey with 2,000 stages was accepted; applying it held SQLite's write lock for seconds, and
training the router on its examples held it for minutes (the retrain ran in a write transaction), so
every ingest waited and then failed."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlmodel import Session

from app.core.db import READ_ONLY
from app.journey import service as journeys
from app.journey.models import JourneyVersion
from app.routing import classifier
from app.routing import model_store as routing
from tests.support.api import auth, example_journey


def _with_stages(count: int) -> dict[str, Any]:
    journey = example_journey()
    first = journey["stages"][0]
    for n in range(count - len(journey["stages"])):
        stage = copy.deepcopy(first)
        stage["key"], stage["name"] = f"extra-{n}", f"Extra stage {n}"
        journey["stages"].append(stage)
    return journey


def _versions(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(JourneyVersion)).scalar_one())


def test_two_thousand_stages_are_refused_at_once(client: TestClient, admin_key: str, engine: Engine) -> None:
    started = time.perf_counter()
    resp = client.put("/api/v1/journey", json=_with_stages(2000), headers=auth(admin_key))
    elapsed = time.perf_counter() - started
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in resp.json()["errors"]] == ["stages"]
    assert "at most 1000" in resp.json()["errors"][0]["message"]
    assert elapsed < 5, f"refusing took {elapsed:.1f} s"
    assert _versions(engine) == 0


def test_a_thousand_stages_are_accepted(client: TestClient, admin_key: str, engine: Engine) -> None:
    resp = client.put("/api/v1/journey", json=_with_stages(1000), headers=auth(admin_key))
    assert resp.status_code == 200, resp.text
    assert _versions(engine) == 1


def test_the_sum_of_routing_examples_is_bounded(client: TestClient, admin_key: str, engine: Engine) -> None:
    journey = _with_stages(50)
    for n, stage in enumerate(journey["stages"]):
        stage["examples"] = [f"stage {n} example {k}" for k in range(450)]
    in_moments = sum(len(m.get("examples", [])) for s in journey["stages"] for m in s.get("moments", []))
    resp = client.put("/api/v1/journey", json=journey, headers=auth(admin_key))
    assert resp.status_code == 422, resp.text
    (error,) = resp.json()["errors"]
    assert error["field"] == "stages"
    assert f"{50 * 450 + in_moments} routing examples in all" in error["message"]
    assert _versions(engine) == 0


def test_a_retrain_fits_before_it_takes_the_write_lock(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retrain fits on a read snapshot and writes only to store the model: on SQLite the write lock
    (BEGIN IMMEDIATE) is taken after the fit, never held through it."""
    with Session(engine) as session:
        journeys.apply(session, example_journey(), actor="test")
        session.commit()
    events: list[str] = []
    fit = classifier.StageModel.train

    def recording_fit(*args: Any, **kwargs: Any) -> classifier.StageModel:
        model = fit(*args, **kwargs)
        events.append("fitted")
        return model

    monkeypatch.setattr(classifier.StageModel, "train", staticmethod(recording_fit))

    @event.listens_for(engine, "begin")
    def _record(conn: Any) -> None:
        events.append("read" if conn.get_execution_options().get(READ_ONLY) else "write")

    try:
        row = routing.train_apart(engine, actor="test")
    finally:
        event.remove(engine, "begin", _record)
    assert row.examples > 0
    assert "fitted" in events
    assert "write" in events[events.index("fitted") :]
    assert "write" not in events[: events.index("fitted")], events
