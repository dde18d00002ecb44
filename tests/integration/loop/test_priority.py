"""Impact raises priority (never lowers it): the due date comes forward, and an event says why."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from app.core.clock import utcnow
from app.issues.models import ExperienceIssue
from app.loop.models import IssueAccountability
from tests.integration.loop.conftest import apply_journey, tick
from tests.integration.loop.test_full_life import events, ingest


def _state(engine: Engine, issue_id: int) -> IssueAccountability:
    with Session(engine) as session:
        state = session.get(IssueAccountability, issue_id)
        assert state is not None
        return state


def test_priority_rises_with_impact(engine: Engine) -> None:
    apply_journey(engine)  # thresholds p3 200, p2 500, p1 1000; first-bill weighs 1.7
    t0 = utcnow()
    ingest(engine, t0, 2, "few", customer_ref=None)
    with Session(engine) as session:
        issue = session.execute(select(ExperienceIssue)).scalar_one()
        issue_id, opened = issue.id, issue.created_at
    assert issue_id is not None
    tick(engine, "loop.reminders", t0 + timedelta(hours=1))
    first = _state(engine, issue_id)
    assert (first.priority, first.due_at) == ("p4", opened + timedelta(days=4))
    assert events(engine, issue_id, "priority_raised") == []

    # 100 detractors from distinct customers: (100 + 2*100) * (1 + 1) * 1.7 = 1020 -> p1, due in 1 day.
    for i in range(100):
        ingest(engine, t0 + timedelta(hours=2), 1, f"many-{i}", customer_ref=f"cust-{i}")
    tick(engine, "loop.reminders", t0 + timedelta(hours=3))
    raised = _state(engine, issue_id)
    assert raised.priority == "p1"
    assert raised.due_at == opened + timedelta(days=1)
    (event,) = events(engine, issue_id, "priority_raised")
    assert event.before["priority"] == "p4" and event.after["priority"] == "p1"
    assert "p1 threshold" in (event.reason or "")

    # Three weeks later the window has moved on and impact fell: the priority stays where a rise put it.
    tick(engine, "loop.reminders", t0 + timedelta(days=40))
    later = _state(engine, issue_id)
    assert later.priority == "p1" and later.impact_score < raised.impact_score
    assert len(events(engine, issue_id, "priority_raised")) == 1
