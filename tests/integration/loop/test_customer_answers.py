"""Customers' answers to "did this fix it for you?" belong to the issue they answer: a "yes" is evidence
on the confirmed issue, a "no" a regression signal on it, and neither opens or joins another issue. The
notice says how the fix was judged."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from app import wiring
from app.core.actor import Actor
from app.core.clock import utcnow
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn
from app.insights.root_causes import RootCauseIn
from app.intake import ingest as feedback
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey import service as journeys
from app.loop import customers, fixes
from app.loop import service as loop
from app.loop.models import CustomerNotice
from app.main import create_app
from tests.integration.loop.conftest import POLICY, Smtp, apply_journey, loop_settings, tick
from tests.support.api import auth, make_key
from tests.support.outbox import drain

ACTOR = Actor("ravi")


def _open_issue(engine: Engine, at: datetime, n: int) -> int:
    items = [
        (
            i,
            FeedbackIn(
                source="survey",
                external_id=f"c-{i}",
                text="Charged twice on my first bill",
                score=1,
                scale="nps",
                touchpoint="invoice-email",
                customer_ref=f"cust-{i}",
                metadata={"email": f"cust{i}@example.org"},
                occurred_at=at,
            ),
        )
        for i in range(n)
    ]
    with Session(engine) as session:
        feedback.ingest(session, journeys.current(session), items, Actor("test"), now=at)
        session.commit()
        (issue_id,) = session.execute(select(col(ExperienceIssue.id))).scalars().all()
    assert issue_id is not None
    return issue_id


def _ship(engine: Engine, issue_id: int, at: datetime) -> None:
    with Session(engine) as session:
        loop.move(session, issue_id, "fixing", None, ACTOR, at - timedelta(hours=1))
        loop.move(session, issue_id, "fix_shipped", "dedupe the card charge", ACTOR, at)
        session.commit()


def _confirm(engine: Engine, issue_id: int, reason: str | None, at: datetime, settings: Any) -> None:
    with Session(engine) as session:
        cause = RootCauseIn(cause="system")
        fixes.confirm(
            session, journeys.current(session), issue_id, reason, ACTOR, at, settings, root_cause=cause
        )
        session.commit()


def _answer(engine: Engine, notice_id: int, yes: bool, at: datetime) -> None:
    with Session(engine) as session:
        customers.answer(session, journeys.current(session), notice_id, yes, at)
        session.commit()


def _notices(engine: Engine, issue_id: int) -> list[int]:
    with Session(engine) as session:
        stmt = select(col(CustomerNotice.id)).where(col(CustomerNotice.issue_id) == issue_id)
        return [int(i) for i in session.execute(stmt.order_by(col(CustomerNotice.id))).scalars()]


def _status(engine: Engine, issue_id: int) -> str:
    with Session(engine) as session:
        issue = session.get(ExperienceIssue, issue_id)
        assert issue is not None
        return issue.status


def test_three_yes_two_no_stay_on_the_confirmed_issue_and_reopen_it(engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(engine, smtp)
    wiring.start_process(settings, engine)
    apply_journey(engine)  # reopen_after_no: the default, 2
    t0 = utcnow()
    issue_id = _open_issue(engine, t0, 5)
    shipped = t0 + timedelta(days=1)
    _ship(engine, issue_id, shipped)
    _confirm(engine, issue_id, "the provider confirmed the fix", shipped + timedelta(hours=3), settings)
    drain(engine, settings, now=shipped + timedelta(hours=3))
    notices = [m for m in smtp.mailbox.received if "did it work for you" in str(m["Subject"])]
    assert len(notices) == 5
    body = notices[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "confirmed by its owner" in body and "checked" not in body

    ids = _notices(engine, issue_id)
    at = shipped + timedelta(days=1)
    for n, notice_id in enumerate(ids[:3]):
        _answer(engine, notice_id, True, at + timedelta(minutes=n))
    _answer(engine, ids[3], False, at + timedelta(hours=1))
    assert _status(engine, issue_id) == "confirmed"  # one "no" is a signal, not yet a regression
    _answer(engine, ids[4], False, at + timedelta(hours=2))
    _answer(engine, ids[4], True, at + timedelta(hours=3))  # the first answer counts
    assert _status(engine, issue_id) == "reopened"

    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(ExperienceIssue)).scalar_one() == 1
        answers = list(
            session.execute(
                select(FeedbackItem).where(col(FeedbackItem.source) == customers.FOLLOWUP_SOURCE)
            ).scalars()
        )
        assert len(answers) == 5
        for a in answers:
            assert a.issue_id is None and a.state == "placed"
            assert (a.stage, a.moment) == ("pay", "first-bill")
            assert a.placement["grouping"]["method"] == "answer"
            assert a.placement["grouping"]["answers_issue"] == issue_id
        assert sorted(a.placement["grouping"]["answer"] for a in answers) == ["no", "no", "yes", "yes", "yes"]
        issue = session.get(ExperienceIssue, issue_id)
        assert issue is not None and (issue.answers_yes, issue.answers_no) == (3, 2)
        assert issue.item_count == 5  # the answers are not items of the problem
        reopen = session.execute(
            select(IssueEvent).where(
                col(IssueEvent.issue_id) == issue_id,
                col(IssueEvent.kind) == "transition",
                col(IssueEvent.reason).contains("did not work"),
            )
        ).scalar_one()
        assert "2 customers" in (reopen.reason or "")

    key = make_key(engine, ["read"])
    with TestClient(create_app(settings, engine)) as client:
        got = client.get(f"/api/v1/issues/{issue_id}", headers=auth(key)).json()
        assert (got["answers_yes"], got["answers_no"]) == (3, 2)
        acc = client.get(f"/api/v1/issues/{issue_id}/accountability", headers=auth(key)).json()
        assert (acc["answers_yes"], acc["answers_no"]) == (3, 2)


def test_the_journey_sets_how_many_noes_reopen(engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(engine, smtp)
    wiring.start_process(settings, engine)
    policy = {**POLICY, "verification": {**POLICY["verification"], "reopen_after_no": 3}}
    apply_journey(engine, accountability=policy)
    t0 = utcnow()
    issue_id = _open_issue(engine, t0, 4)
    # A baseline, then a window that holds: the notice says how long the fix was checked.
    shipped = t0 + timedelta(hours=1)
    _ship(engine, issue_id, shipped)
    ended = shipped + timedelta(days=2, hours=1)
    tick(engine, "loop.verification", ended)
    _confirm(engine, issue_id, None, ended + timedelta(minutes=5), settings)
    drain(engine, settings, now=ended + timedelta(minutes=5))
    notices = [m for m in smtp.mailbox.received if "did it work for you" in str(m["Subject"])]
    body = notices[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "checked it against new feedback for 2 days" in body and "confirmed by its owner" not in body

    ids = _notices(engine, issue_id)
    for n, notice_id in enumerate(ids[:2]):
        _answer(engine, notice_id, False, ended + timedelta(hours=n + 1))
    assert _status(engine, issue_id) == "confirmed"
    _answer(engine, ids[2], False, ended + timedelta(hours=4))
    assert _status(engine, issue_id) == "reopened"


def test_the_answer_page_records_on_the_answered_issue(engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(engine, smtp)
    wiring.start_process(settings, engine)
    apply_journey(engine)
    t0 = utcnow()
    issue_id = _open_issue(engine, t0, 1)
    _ship(engine, issue_id, t0 + timedelta(hours=1))
    _confirm(engine, issue_id, "verified by hand", t0 + timedelta(hours=2), settings)
    drain(engine, settings)
    (notice,) = [m for m in smtp.mailbox.received if "did it work for you" in str(m["Subject"])]
    text = notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"http://\S+/feedback/fixed/(\S+)\?answer=yes", text)
    assert link is not None
    with TestClient(create_app(settings, engine)) as client:
        page = client.get(f"/feedback/fixed/{link.group(1)}", params={"answer": "yes"})
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        resp = client.post(f"/feedback/fixed/{link.group(1)}", data={"answer": "yes", "csrf": csrf.group(1)})
        assert resp.status_code == 200
    with Session(engine) as session:
        issue = session.get(ExperienceIssue, issue_id)
        assert issue is not None and issue.answers_yes == 1 and issue.status == "confirmed"
        assert session.execute(select(func.count()).select_from(ExperienceIssue)).scalar_one() == 1
