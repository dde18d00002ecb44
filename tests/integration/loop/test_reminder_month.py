"""Reminders people don't learn to ignore: a simulated month with 40 open issues and one owner who never
answers. The reminder sweep runs every hour; every message is counted at the loopback SMTP server, per
person and per their own day: at most one reminder message a day, and at most one escalation summary."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from app import wiring
from app.core.actor import Actor
from app.core.clock import utcnow
from app.issues import service as issues
from app.journey import service as journeys
from app.loop import queries as loop_queries
from app.loop import service as loop
from app.loop.models import ReminderSent
from app.main import create_app
from tests.integration.loop.conftest import POLICY, Smtp, apply_journey, loop_settings, tick
from tests.support.api import auth, make_key
from tests.support.outbox import drain

UNRESPONSIVE = "ravi"  # owns "pay"
STAGES = ["pay"] * 16 + ["discover", "buy", "onboard", "use", "get-help", "renew"] * 4


def test_a_month_of_reminders_is_one_message_a_day_at_most(engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(engine, smtp)
    wiring.start_process(settings, engine)
    policy = {**POLICY, "quiet_hours": {"start": "20:00", "end": "08:00"}}
    apply_journey(engine, accountability=policy)
    t0 = datetime.combine(utcnow().date() + timedelta(days=1), time(6, 0), tzinfo=UTC)
    with Session(engine) as session:
        journey = journeys.current(session)
        people = {p.id: p for p in journey.people}
        by_email = {str(p.email): p for p in journey.people}
        ids = []
        for n, stage in enumerate(STAGES):
            moment = journey.stages[[s.key for s in journey.stages].index(stage)].moments[0].key
            opening = issues.Opening(stage=stage, moment=moment, fingerprint=f"month-{n}")
            # Opened over the first ten days, so their due dates and reminders spread over the month.
            ids.append(
                issues.resolve_issue(session, journey, opening, Actor("test"), at=t0 + n * timedelta(hours=6))
            )
        session.commit()
        owners = {i: journey.stage(s).owner for i, s in zip(ids, STAGES, strict=True)}  # type: ignore[union-attr]

    received: list[tuple[str, str, datetime]] = []  # (person, kind, when)
    box = smtp.mailbox
    at = t0
    end = t0 + timedelta(days=30)
    while at < end:
        at += timedelta(hours=1)
        tick(engine, "loop.reminders", at)
        before = len(box.received)
        drain(engine, settings, now=at)
        for message in box.received[before:]:
            key = str(message["X-Seam-Key"])
            kind = key.split(":", 1)[0]
            person = by_email[str(message["To"]).split("<")[-1].rstrip(">").strip()]
            received.append((person.id, kind, at))
            body = message.get_body(("plain",))
            text = body.get_content() if body is not None else ""
            if kind == "reminders" and person.id != UNRESPONSIVE:
                # Everyone else acknowledges what reached them, within the hour.
                with Session(engine) as session:
                    for issue_id, owner in owners.items():
                        if owner == person.id and f"EI-{issue_id}:" in text:
                            loop.acknowledge(session, journeys.current(session), issue_id, Actor(owner), at)
                    session.commit()

    def local(person: str, when: datetime) -> tuple[str, object]:
        return person, when.astimezone(ZoneInfo(people[person].timezone)).date()

    per_day = Counter((*local(p, w), k) for p, k, w in received)
    assert per_day and max(per_day.values()) == 1, per_day.most_common(3)
    # Nothing lands in anyone's quiet hours.
    for p, _, w in received:
        assert time(8, 0) <= w.astimezone(ZoneInfo(people[p].timezone)).time() < time(20, 0), (p, w)
    kinds = Counter((p, k) for p, k, _ in received)
    # The unresponsive owner hears about his issues daily, in one message; the CX lead gets the
    # escalations, one summary a day; the responsive owners hear less and are never escalated.
    ravi_days = {local(p, w)[1] for p, k, w in received if p == UNRESPONSIVE}
    assert kinds[(UNRESPONSIVE, "reminders")] == len(ravi_days) >= 20
    assert 20 <= kinds[("dana", "escalations")] <= 30
    with Session(engine) as session:
        recorded = session.execute(select(func.count()).select_from(ReminderSent)).scalar_one()
    assert recorded > 3 * len(received)  # many reminders, bundled into few messages

    # The bundling as the digest preview shows it: one message a day, each carrying many issues.
    with Session(engine) as session:
        week = loop_queries.reminder_bundles(
            session, journeys.current(session), UNRESPONSIVE, end - timedelta(days=7), end
        )
    days = [b["day"] for b in week if b["kind"] == "reminders"]
    assert len(days) == len(set(days)) >= 5 and max(len(b["issues"]) for b in week) >= 10
    key = make_key(engine, ["manage"])
    with TestClient(create_app(settings, engine)) as client:
        page = client.get(
            "/api/v1/digests/preview", params={"to": str(people[UNRESPONSIVE].email)}, headers=auth(key)
        )
        assert page.status_code == 200 and 'id="reminder-bundles"' in page.text
