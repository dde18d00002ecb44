"""Experience checks over a simulated quarter, counted from the loopback SMTP server: every due check is
assigned once, rotated across the eligible teams, reminded once, recorded as a staff item on its moment,
and the overdue one reported. The example journey has three checks, every four weeks, a week to do each."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from app import wiring
from app.core.actor import Actor
from app.feedback.models import FeedbackItem
from app.insights import checks
from app.insights.checks import ResultIn
from app.insights.digest import build as sections
from app.insights.models import CheckTask
from app.insights.rotation import EPOCH
from app.journey import service as journeys
from app.scheduler.registry import JobRun, SchedulerConfig
from tests.integration.loop.conftest import Smtp, loop_settings, smtp  # noqa: F401
from tests.support.api import example_journey
from tests.support.outbox import drain

START = EPOCH + timedelta(days=28 * 10, hours=7, minutes=5)  # Monday 19 October 2026, 07:05 UTC
DAYS = 91
EMAIL = {
    "maya": "maya.cohen@boxwise.example",
    "lee": "lee.chen@boxwise.example",
    "sofia": "sofia.reyes@boxwise.example",
    "kim": "kim.lee@boxwise.example",
    "omar": "omar.haddad@boxwise.example",
    "tom": "tom.becker@boxwise.example",
}


def _tasks(engine: Engine) -> list[CheckTask]:
    with Session(engine) as session:
        return list(session.execute(select(CheckTask).order_by(CheckTask.id)).scalars())  # type: ignore[arg-type]


def _record(engine: Engine, task: CheckTask, score: int, at: datetime) -> None:
    assert task.id is not None
    with Session(engine) as session:
        checks.record(
            session, journeys.current(session), task.id, ResultIn(score=score, notes="done as a customer"),
            Actor(f"person:{task.person}"), at,
        )  # fmt: skip
        session.commit()


def test_a_quarter_of_experience_checks(engine: Engine, smtp: Smtp) -> None:  # noqa: F811
    settings = loop_settings(engine, smtp)
    wiring.start_process(settings, engine)
    with Session(engine) as session:
        journeys.apply(session, example_journey(), actor="test")
        session.commit()
    # Who records when, by (cycle, check): days after the cycle's start; absent = never.
    plan = {
        (0, "promo-order"): 1, (0, "return-box"): 1, (0, "billing-call"): 1,
        (1, "promo-order"): 1, (1, "return-box"): 1, (1, "billing-call"): 5,  # after its reminder
        (2, "promo-order"): 1, (2, "return-box"): 1,  # billing-call, cycle 3: never recorded
    }  # fmt: skip
    for day in range(DAYS):
        now = START + timedelta(days=day)
        for _ in range(2):  # a second run the same day changes nothing
            checks.checks_job(JobRun(engine, settings, SchedulerConfig(), now))
        drain(engine, settings, now=now)
        for task in _tasks(engine):
            cycle = (task.cycle_start - (START - timedelta(hours=7, minutes=5))).days // 28
            after = plan.get((cycle, task.check_key))
            if task.done_at is None and after is not None and day == cycle * 28 + after:
                _record(engine, task, 2 if task.check_key == "return-box" else 4, now + timedelta(hours=3))
    end = START + timedelta(days=DAYS - 1)

    tasks = _tasks(engine)
    # Four cycles (days 0, 28, 56, 84) of three checks: twelve tasks, one per check and cycle.
    assert len(tasks) == 12
    assert len({(t.check_key, t.cycle_start) for t in tasks}) == 12
    rotation = {
        k: [t.person for t in tasks if t.check_key == k]
        for k in ("promo-order", "return-box", "billing-call")
    }
    # Across the eligible teams in the journey's order; within a team the least-loaded member (Lee, in
    # both Web and IT, already has a check in cycle 2, so Tom runs the billing call).
    assert rotation == {
        "promo-order": ["maya", "lee", "sofia", "maya"],
        "return-box": ["sofia", "kim", "maya", "sofia"],
        "billing-call": ["omar", "tom", "kim", "omar"],
    }

    box = smtp.mailbox
    keys = box.keys()
    assert len(keys) == len(set(keys))  # nothing sent twice
    sent = Counter(k.split(":")[1] for k in keys if k.startswith("check:"))
    # Reminded once: cycle 2's late billing call, cycle 3's unrecorded one, and cycle 4's three (day 88).
    assert sent == {"task": 12, "reminder": 5}
    reminded = [t for t in tasks if t.reminded_at is not None]
    assert len(reminded) == 5
    first = tasks[0]
    (mail,) = [m for m in box.to(EMAIL[first.person]) if str(m["X-Seam-Key"]) == f"check:task:{first.id}"]
    assert "Place an order with a promo code" in str(mail["Subject"])
    body = mail.get_body(("plain",))
    assert body is not None and f"/checks/{first.id}" in str(body.get_content())

    # Recorded checks are staff items on their moment.
    with Session(engine) as session:
        done = [t for t in tasks if t.done_at is not None]
        assert len(done) == 8
        items = {
            i.id: i
            for i in session.execute(select(FeedbackItem).where(FeedbackItem.staff.is_(True))).scalars()
        }  # type: ignore[attr-defined]
        assert {t.item_id for t in done} == set(items)
        promo = [items[t.item_id] for t in done if t.check_key == "promo-order" and t.item_id]
        assert {(i.stage, i.moment, i.source, i.score) for i in promo} == {("buy", "promo-code", "staff", 4)}
        refunds = [items[t.item_id] for t in done if t.check_key == "return-box" and t.item_id]
        # A check that finds a problem joins an issue like any item.
        assert all(i.issue_id is not None and (i.stage, i.moment) == ("get-help", "refund") for i in refunds)

        overdue = checks.tasks(session, journeys.current(session), end, "overdue")
        assert [(v.task.check_key, v.task.person, v.days_late) for v in overdue] == [
            ("billing-call", "kim", 27)
        ]
        lead = sections(session, journeys.current(session), end - timedelta(days=7), end).leadership
        assert [(c.check, c.person, c.days_late) for c in lead.overdue_checks] == [
            ("Call support with a billing question", "Kim Lee", 27)
        ]
