"""The demo's feedback, imported in two different orders, ends in the same groups once the
consolidation pass has run: arrival order does not decide what an owner gets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sklearn.metrics import adjusted_rand_score
from sqlalchemy import select
from sqlmodel import Session

from app import wiring
from app.core.actor import Actor
from app.demo.data import demo_items
from app.feedback.models import FeedbackItem
from app.intake import ingest as intake
from app.journey import service as journeys
from app.routing import consolidation
from tests.support import databases
from tests.support.api import EXAMPLE_JOURNEY, settings_for


def _groups(directory: Path, items: list[dict[str, Any]], batch: int) -> dict[str, int]:
    directory.mkdir()
    engine = databases.migrated_engine(databases.sqlite_url(directory))
    wiring.start_process(settings_for(engine), engine)
    with Session(engine, expire_on_commit=False) as session:
        journeys.apply(session, journeys.parse_text(EXAMPLE_JOURNEY.read_text()), actor="test")
        session.commit()
        for n, start in enumerate(range(0, len(items), batch)):
            good, bad = intake.validate_raw(items[start : start + batch])
            assert not bad
            intake.ingest(session, journeys.current(session), good, Actor("test"))
            session.commit()
            if n % 4 == 3:
                consolidation.run_pass(session, journeys.current(session))
                session.commit()
        consolidation.run_pass(session, journeys.current(session))
        session.commit()
        c = FeedbackItem.__table__.c  # type: ignore[attr-defined]
        rows = session.execute(select(c.external_id, c.issue_id, c.id))
        # An item in no group (praise, triage) is a group of its own.
        out = {r.external_id: r.issue_id if r.issue_id is not None else -r.id for r in rows}
    engine.dispose()
    return out


@pytest.mark.parametrize("batch", [360, 20])
def test_the_demo_in_two_orders_gives_the_same_groups(tmp_path: Path, batch: int) -> None:
    items = demo_items()
    forward = _groups(tmp_path / "forward", items, batch)
    backward = _groups(tmp_path / "backward", items[::-1], batch)
    keys = sorted(forward)
    agreement = adjusted_rand_score([forward[k] for k in keys], [backward[k] for k in keys])
    assert agreement >= 0.9, agreement
