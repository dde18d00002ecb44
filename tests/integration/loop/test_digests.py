"""Weekly digests built from the database, queued by the scheduled job and received over SMTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage

from sqlalchemy import Engine, select
from sqlmodel import Session

from app import wiring
from app.core.actor import Actor
from app.core.clock import utcnow
from app.digests.jobs import digests_job
from app.feedback.schemas import FeedbackIn
from app.intake import ingest as feedback
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop import service as loop
from app.scheduler.registry import JobRun, SchedulerConfig
from tests.integration.loop.conftest import Smtp, apply_journey, loop_settings, tick
from tests.support.outbox import drain
from tests.unit.digests.htmltree import parse

HOSTILE = '<script>alert("x")</script><img src="https://evil.example/p.png"> & "quotes"'
OWNER = "ravi.menon@boxwise.example"  # owns "pay"
IDLE_OWNER = "tom.becker@boxwise.example"  # owns "buy", where nothing happens
LEAD = "dana.okafor@boxwise.example"
URGENT = {
    "sla": {p: "1h" for p in ("p1", "p2", "p3", "p4")},
    "reminders": {p: {"before_due": ["30m"]} for p in ("p1", "p2", "p3", "p4")},
    "quiet_hours": None,
}


def _ingest(
    engine: Engine, now: datetime, touchpoint: str, n: int, prefix: str, text: str, score: int
) -> None:
    items = [
        (
            i,
            FeedbackIn(
                source="survey",
                external_id=f"{prefix}-{i}",
                text=text,
                score=score,
                scale="nps",
                touchpoint=touchpoint,
                customer_ref=f"{prefix}-cust-{i}",
                occurred_at=now,
            ),
        )
        for i in range(n)
    ]
    with Session(engine) as session:
        feedback.ingest(session, journeys.current(session), items, Actor("test"), now=now)
        session.commit()


def _html(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_weekly_digests(engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(engine, smtp)
    wiring.start_process(settings, engine)  # transition reactions, whichever test ran before
    data_policy = {"accountability": URGENT}
    apply_journey(engine, **data_policy)
    t0 = utcnow()
    _ingest(engine, t0, "invoice-email", 4, "bill", HOSTILE, 2)  # pay / first-bill
    _ingest(
        engine, t0, "payment-settings", 2, "card", "The card form rejects my card", 8
    )  # pay / card-update
    with Session(engine) as session:
        rows = session.execute(select(ExperienceIssue).order_by(ExperienceIssue.id)).scalars().all()  # type: ignore[arg-type]
        bill, card = rows[0].id, rows[1].id
        assert bill is not None and card is not None
        loop.reassess(session, journeys.current(session), list(rows), t0)
        loop.move(session, card, "fixing", None, Actor("ravi"), t0)
        loop.move(session, card, "fix_shipped", "form fixed", Actor("ravi"), t0)
        session.commit()

    monday = t0.date() - timedelta(days=t0.weekday())
    run_at = datetime.combine(monday + timedelta(days=7), time(8, 30), tzinfo=UTC)
    assert tick(engine, "loop.digests", run_at)
    assert not tick(engine, "loop.digests", run_at + timedelta(minutes=5), holder="replica-2")
    # Even without the lease: keyed, nothing new.
    digests_job(JobRun(engine, settings, SchedulerConfig(), run_at + timedelta(minutes=10)))
    drain(engine, settings, now=run_at)
    box = smtp.mailbox

    # Nothing to say to the owner of an idle stage (nor to Tom as a member of a team with nothing open).
    assert box.to(IDLE_OWNER) == []
    (owner_mail,) = [m for m in box.to(OWNER) if "Seam weekly: Pay" in str(m["Subject"])]
    assert str(owner_mail["Subject"]) == f"Seam weekly: Pay, 1 open, 1 overdue (week of {monday:%-d %b})"
    week = monday.isocalendar()
    assert str(owner_mail["X-Seam-Key"]) == f"digest:owner:pay:ravi:{week.year}-W{week.week:02d}"
    assert len(box.keys()) == len(set(box.keys()))

    html = _html(owner_mail)
    root, _ = parse(html)
    figures = {
        k: root.by_id(f"fig-{k}").text() for k in ("open", "overdue", "shipped", "confirmed", "reopened")
    }
    assert figures == {"open": "1", "overdue": "1", "shipped": "1", "confirmed": "0", "reopened": "0"}
    overdue = root.by_id("overdue").table()
    assert overdue[0] == ["Issue", "Title", "Priority", "Overdue", "Waiting on"]
    assert overdue[1][0] == f"EI-{bill}" and overdue[1][4] == "owner"
    shipped = root.by_id("shipped").table()
    assert any(f"EI-{card}" in cell for row in shipped for cell in row)

    # Hostile feedback text comes out escaped; no script, no external resource; the text part is plain.
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert not re.search(r"<(link|iframe|object|embed|style)\b", html, re.I)
    assert not re.search(r"""(src|background)\s*=\s*["']?https?:""", html, re.I)
    assert all(src.startswith("cid:") for src in re.findall(r'src="([^"]*)"', html))
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith(settings.public_url) for h in hrefs)
    assert HOSTILE.replace('"', "") in _text(owner_mail).replace('"', "")

    # One scorecard for the leaders, with the whole journey.
    (lead_mail,) = [m for m in box.to(LEAD) if "scorecard" in str(m["Subject"])]
    assert "<script" not in _html(lead_mail).lower()
    assert "Pay" in _text(lead_mail) and "Buy" in _text(lead_mail)
