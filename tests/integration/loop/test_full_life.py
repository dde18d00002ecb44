"""The full life of an experience issue with a clock moved by the test: first feedback, reminders,
escalation, acknowledge, snooze, fix shipped, a regression that reopens it, a second fix, the owner's
confirmation and the customer notices, whose one-click answer comes back as feedback."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app import wiring
from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.errors import Conflict, InvalidInput
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn
from app.insights.root_causes import RootCauseIn
from app.intake import ingest as feedback
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey import service as journeys
from app.loop import customers, fixes
from app.loop import service as loop
from app.loop.models import CustomerNotice, IssueAccountability
from app.main import create_app
from tests.integration.loop.conftest import Smtp, apply_journey, loop_settings, tick
from tests.support.outbox import drain

OWNER = "ravi.menon@boxwise.example"  # owns "pay"; Asia/Kolkata
SPONSOR = "dana.okafor@boxwise.example"  # sponsor of "pay" and CX lead
ACTOR = Actor("ravi")


def ingest(engine: Engine, now: datetime, n: int, prefix: str, **fields: Any) -> list[int]:
    items = [
        (
            i,
            FeedbackIn(
                source="survey",
                external_id=f"{prefix}-{i}",
                text=f"The first bill charged me twice ({prefix} {i})",
                score=2,
                scale="nps",
                touchpoint="invoice-email",
                occurred_at=now,
                **fields,
            ),
        )
        for i in range(n)
    ]
    with Session(engine) as session:
        results = feedback.ingest(session, journeys.current(session), items, Actor("test"), now=now)
        session.commit()
    return [r.id for r in results if r.id is not None]


def ingest_customers(engine: Engine, now: datetime, customers: list[dict[str, Any]]) -> None:
    items = [
        (
            i,
            FeedbackIn(
                source="survey",
                external_id=f"c-{i}",
                text="My first bill was wrong: twice the price",
                score=1,
                scale="nps",
                touchpoint="invoice-email",
                occurred_at=now,
                **c,
            ),
        )
        for i, c in enumerate(customers)
    ]
    with Session(engine) as session:
        feedback.ingest(session, journeys.current(session), items, Actor("test"), now=now)
        session.commit()


def with_session(engine: Engine, fn: Any, *args: Any) -> Any:
    with Session(engine, expire_on_commit=False) as session:
        out = fn(session, journeys.current(session), *args)
        session.commit()
        return out


def events(engine: Engine, issue_id: int, kind: str) -> list[IssueEvent]:
    with Session(engine) as session:
        stmt = select(IssueEvent).where(col(IssueEvent.issue_id) == issue_id, col(IssueEvent.kind) == kind)
        return list(session.execute(stmt.order_by(col(IssueEvent.id))).scalars())


def status(engine: Engine, issue_id: int) -> str:
    with Session(engine) as session:
        issue = session.get(ExperienceIssue, issue_id)
        assert issue is not None
        return issue.status


def test_full_life(engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(engine, smtp)
    wiring.start_process(settings, engine)
    apply_journey(engine)
    box = smtp.mailbox
    # 03:00 UTC: the due date falls at 08:30 in the owner's Kolkata, so the reminders before it, at it
    # and a day after it fall on three of his days (each person gets one reminder message a day).
    t0 = datetime.combine(utcnow().date() + timedelta(days=1), time(3, 0), tzinfo=UTC)
    ingest_customers(
        engine,
        t0,
        [
            {"customer_ref": "cust-1", "metadata": {"email": "ann@example.org"}},
            {"customer_ref": "cust-1", "metadata": {"email": "ann@example.org"}},  # same customer again
            {"customer_ref": "bob@example.org"},  # the reference is the address
            {"customer_ref": "cust-3", "metadata": {"email": "cy@example.org", "contact": False}},
            {"customer_ref": "cust-4"},  # no way to reach them
        ],
    )
    with Session(engine) as session:
        (issue,) = session.execute(select(ExperienceIssue)).scalars().all()
        issue_id = issue.id
        opened = issue.created_at
    assert issue_id is not None
    due = opened + timedelta(days=4)

    # Nothing is due until 12 hours before the due date.
    tick(engine, "loop.reminders", opened + timedelta(days=1))
    assert drain(engine, settings, now=opened + timedelta(days=1)).handled == 0
    with Session(engine) as session:
        state = session.get(IssueAccountability, issue_id)
        assert state is not None and state.priority == "p4" and state.due_at == due

    # Before due, at due: the owner only. Then overdue, two unacknowledged: the sponsor as well.
    for at in (due - timedelta(hours=11), due + timedelta(minutes=5), due + timedelta(days=1, minutes=5)):
        tick(engine, "loop.reminders", at)
        drain(engine, settings, now=at)
    assert len(box.to(OWNER)) == 3
    assert len(box.to(SPONSOR)) == 1
    escalated = box.to(SPONSOR)[0]
    assert f"EI-{issue_id}" in str(escalated["Subject"]) and "overdue" in str(escalated["Subject"])
    assert "nobody acknowledged" in escalated.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # A second sweep in a later tick of the same slot sends nothing again.
    tick(engine, "loop.reminders", due + timedelta(days=1, minutes=40))
    assert drain(engine, settings, now=due + timedelta(days=1, minutes=40)).handled == 0

    # Acknowledged: the next overdue reminder goes to the owner alone (escalation starts again).
    with_session(engine, loop.acknowledge, issue_id, ACTOR, due + timedelta(days=1, hours=2))
    assert status(engine, issue_id) == "acknowledged"
    tick(engine, "loop.reminders", due + timedelta(days=2, minutes=5))
    drain(engine, settings, now=due + timedelta(days=2, minutes=5))
    assert (len(box.to(OWNER)), len(box.to(SPONSOR))) == (4, 1)

    # Snoozed for two days with a reason: the slots inside it are skipped.
    with pytest.raises(InvalidInput):
        with_session(
            engine, loop.snooze, issue_id, " ", due + timedelta(days=5), ACTOR, due + timedelta(days=2)
        )
    snooze_end = due + timedelta(days=4, hours=12)
    with_session(
        engine,
        loop.snooze,
        issue_id,
        "waiting on the payment provider",
        snooze_end,
        ACTOR,
        due + timedelta(days=2, hours=1),
    )
    for day in (3, 4):
        tick(engine, "loop.reminders", due + timedelta(days=day, minutes=5))
        drain(engine, settings, now=due + timedelta(days=day, minutes=5))
    assert len(box.to(OWNER)) == 4
    assert [e.reason for e in events(engine, issue_id, "snoozed")] == ["waiting on the payment provider"]

    # A baseline shortly before the fix, then the fix ships: no reminders while it is verified.
    shipped = due + timedelta(days=5)
    ingest(engine, shipped - timedelta(hours=3), 3, "base")
    with Session(engine) as session:
        loop.move(session, issue_id, "fixing", None, ACTOR, shipped - timedelta(hours=1))
        loop.move(session, issue_id, "fix_shipped", "card dedupe fix", ACTOR, shipped)
        session.commit()
    tick(engine, "loop.reminders", shipped + timedelta(days=1, minutes=5))
    assert drain(engine, settings, now=shipped + timedelta(days=1, minutes=5)).handled == 0

    # It comes back: three new items in six hours against three before. The check reopens the issue,
    # with the new items as the evidence, and only raises it once.
    back = ingest(engine, shipped + timedelta(hours=2), 3, "back")
    assert len(back) == 3
    with pytest.raises(Conflict):  # the owner cannot confirm against the evidence
        with_session(
            engine, fixes.confirm, issue_id, "looks fine to me", ACTOR, shipped + timedelta(hours=5), settings
        )
    tick(engine, "loop.verification", shipped + timedelta(hours=6))
    assert status(engine, issue_id) == "reopened"
    (verification,) = events(engine, issue_id, "verification")
    assert verification.after["outcome"] == "regressed"
    assert sorted(verification.after["new_item_ids"]) == sorted(back)
    reopen = [e for e in events(engine, issue_id, "transition") if e.after["status"] == "reopened"]
    assert len(reopen) == 1 and all(str(i) in (reopen[0].reason or "") for i in back)

    # The second fix holds through its window: the owner is asked once to confirm.
    second = shipped + timedelta(days=1)
    with Session(engine) as session:
        loop.move(session, issue_id, "fixing", None, ACTOR, second - timedelta(hours=1))
        loop.move(session, issue_id, "fix_shipped", "second fix", ACTOR, second)
        session.commit()
    with pytest.raises(Conflict) as early:  # before the window ended, only with a reason
        with_session(engine, fixes.confirm, issue_id, None, ACTOR, second + timedelta(days=1), settings)
    assert "reason" in str(early.value.detail)
    tick(engine, "loop.verification", second + timedelta(days=1))
    assert status(engine, issue_id) == "fix_shipped"
    ended = second + timedelta(days=2, hours=1)
    tick(engine, "loop.verification", ended)
    tick(engine, "loop.verification", ended + timedelta(hours=1))
    drain(engine, settings, now=ended + timedelta(hours=1))
    asks = [m for m in box.to(OWNER) if "please confirm" in str(m["Subject"])]
    assert len(asks) == 1

    # Confirmed by the owner with the evidence holding; reminders stay stopped.
    cause = RootCauseIn(cause="system", sub_cause="payments")
    with_session(engine, fixes.confirm, issue_id, None, ACTOR, ended + timedelta(hours=2), settings, cause)
    assert status(engine, issue_id) == "confirmed"
    (confirmation,) = events(engine, issue_id, "confirmation")
    assert confirmation.after["early"] is False and confirmation.after["outcome"] == "holding"
    tick(engine, "loop.reminders", ended + timedelta(days=3))
    drain(engine, settings, now=ended + timedelta(days=3))

    # Each contactable customer is told once: not the one who said no, not the one without an address.
    notices = {str(m["To"]): m for m in box.received if "did it work for you" in str(m["Subject"])}
    assert sorted(notices) == ["ann@example.org", "bob@example.org"]
    assert len([m for m in box.received if "did it work for you" in str(m["Subject"])]) == 2
    reminders = [e.after for e in events(engine, issue_id, "reminder")]
    assert [(r["person"], r["kind"], r["level"]) for r in reminders] == [
        ("ravi", "before_due", 0),
        ("ravi", "at_due", 0),
        ("ravi", "overdue", 1),
        ("dana", "overdue", 1),
        ("ravi", "overdue", 0),
    ]

    # Ann follows "no": the link shows the question (a GET changes nothing), her button answers, once.
    text = notices["ann@example.org"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"http://\S+/feedback/fixed/(\S+)\?answer=no", text)
    assert link is not None
    with TestClient(create_app(settings, engine)) as client:
        page = client.get(f"/feedback/fixed/{link.group(1)}", params={"answer": "no"})
        assert page.status_code == 200 and "Did this fix it for you?" in page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        for _ in range(2):
            resp = client.post(
                f"/feedback/fixed/{link.group(1)}", data={"answer": "no", "csrf": csrf.group(1)}
            )
            assert resp.status_code == 200, resp.text
        assert client.get(f"/feedback/fixed/{link.group(1)}x", params={"answer": "yes"}).status_code == 404
    with Session(engine) as session:
        answers = (
            session.execute(select(FeedbackItem).where(col(FeedbackItem.source) == "seam-followup"))
            .scalars()
            .all()
        )
        assert [(a.stage, a.moment, a.score, a.scale, a.customer_ref) for a in answers] == [
            ("pay", "first-bill", 1, "csat", "cust-1")
        ]
        notice = session.execute(
            select(CustomerNotice).where(col(CustomerNotice.customer_ref) == "cust-1")
        ).scalar_one()
        assert notice.answer == "no"

    # Telling again finds everyone told already; Ann's "no" is a signal on the confirmed issue, placed at
    # its moment and in no other issue (one "no" does not reopen it: the journey's rule needs two).
    with Session(engine) as session:
        confirmed = session.get(ExperienceIssue, issue_id)
        assert confirmed is not None
        assert (
            customers.notify(
                session, journeys.current(session), confirmed, ended + timedelta(days=4), settings
            )
            == 0
        )
        (answer,) = answers
        assert answer.issue_id is None and answer.placement["grouping"]["answers_issue"] == issue_id
        assert (confirmed.answers_no, confirmed.status) == (1, "confirmed")
        assert session.execute(select(ExperienceIssue)).scalars().all() == [confirmed]
