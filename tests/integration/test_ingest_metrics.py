"""Ingest's counters follow the transaction: a rolled-back ingest counts nothing, a committed one counts
each item once."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.actor import Actor
from app.core.metrics import REGISTRY
from app.feedback.schemas import FeedbackIn
from app.intake import ingest

ITEMS, PLACEMENTS = ("seam_ingest_items_total", "result"), ("seam_ingest_placements_total", "outcome")


def _count(family: tuple[str, str], label: str) -> float:
    found = REGISTRY.get_sample_value(family[0], {family[1]: label})
    assert found is not None, (family, label)
    return found


def test_a_rolled_back_ingest_counts_nothing_and_a_committed_one_counts_once(engine: Engine) -> None:
    items = [(0, FeedbackIn(source="app", external_id="r1", text="the app crashed"))]
    before = {r: _count(ITEMS, r) for r in ("received", "stored")}
    triage = _count(PLACEMENTS, "triage")
    with Session(engine) as session:
        (result,) = ingest.ingest(session, None, items, Actor("test"))
        assert result.status == "created"
        session.rollback()
    assert {r: _count(ITEMS, r) for r in before} == before
    with Session(engine) as session:
        ingest.ingest(session, None, items, Actor("test"))
        session.commit()
    assert {r: _count(ITEMS, r) - before[r] for r in before} == {"received": 1, "stored": 1}
    assert _count(PLACEMENTS, "triage") - triage == 1
