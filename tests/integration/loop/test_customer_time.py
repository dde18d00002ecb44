"""Customer time: an imported backlog is dated by when the customers wrote (`occurred_at`), not when Seam
received it. 1,000 items that occurred over the last 90 days arrive in one CSV import, after the fix
shipped: ages, trends, impact and the fix's verification are what a person computes by hand."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlmodel import Session

from app import wiring
from app.core.actor import Actor
from app.core.clock import utcnow
from app.digests.week import covered_week, snapshot
from app.feedback.schemas import FeedbackIn
from app.intake import ingest as feedback
from app.intake.csv_import import import_csv
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop import fixes
from app.loop import service as loop
from tests.integration.loop.conftest import apply_journey
from tests.support.api import settings_for

ACTOR = Actor("ravi")
N = 1000


def _score(i: int) -> int:
    return (i * 7) % 11  # 0..10, spread


def test_an_imported_backlog_keeps_the_customers_clock(engine: Engine, tmp_path: Path) -> None:
    wiring.start_process(settings_for(engine), engine)
    apply_journey(engine)
    now = utcnow()
    start = now - timedelta(days=90)
    ship = now - timedelta(days=1)
    # The first item occurred 90 days ago; the other 999 between then and an hour before the fix.
    occurred = [start + (ship - timedelta(hours=1) - start) * i / (N - 1) for i in range(N)]
    with Session(engine) as session:
        seed = FeedbackIn(
            source="survey",
            external_id="row-0",
            text="Charged twice on my first bill",
            score=_score(0),
            scale="nps",
            touchpoint="invoice-email",
            customer_ref="cust-0",
            occurred_at=occurred[0],
        )
        (first,) = feedback.ingest(session, journeys.current(session), [(0, seed)], ACTOR, now=now)
        issue_id = first.issue_id
        assert issue_id is not None
        loop.move(session, issue_id, "fixing", None, ACTOR, ship - timedelta(minutes=30))
        loop.move(session, issue_id, "fix_shipped", "card dedupe", ACTOR, ship)
        session.commit()

    path = tmp_path / "backlog.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["source", "external_id", "text", "score", "scale", "touchpoint", "customer_ref", "occurred_at"]
        )
        for i in range(1, N):
            w.writerow(
                [
                    "survey",
                    f"row-{i}",
                    f"Charged twice on my first bill ({i})",
                    _score(i),
                    "nps",
                    "invoice-email",
                    f"cust-{i % 400}",
                    occurred[i].isoformat(),
                ]
            )
    report = import_csv(engine, path, actor=ACTOR)
    assert report.created == N - 1 and not report.rejected

    check = ship + timedelta(days=1)
    with Session(engine) as session:
        journey = journeys.current(session)
        issue = session.get(ExperienceIssue, issue_id)
        assert issue is not None and issue.item_count == N
        assert issue.first_seen == occurred[0] and issue.last_seen == occurred[-1]

        # Impact counts what occurred in its 28-day window, not the whole backlog received today.
        inputs = loop.impact_inputs(session, journey, [issue], check)[issue_id]
        assert inputs.items == sum(1 for o in occurred if check - timedelta(days=28) <= o < check)

        # Verification: everything occurred before the fix, so nothing is a recurrence; the day before
        # the fix is the baseline.
        result = fixes.check_verification(session, journey, issue, check, settings_for(engine))
        assert result is not None
        assert result.rate.during == 0
        assert result.rate.before == sum(1 for o in occurred if ship - timedelta(days=1) <= o < ship)
        assert result.outcome == "holding"

        # The digest: the issue's age is 90 days, and each week's trend is the mean of what occurred in it.
        zone = ZoneInfo("UTC")
        snap = snapshot(session, journey, now, zone, "http://seam.test")
        assert snap.lines[issue_id].age_days == 90
        monday, _, _ = covered_week(now, zone)
        points = snap.trends["pay"].points
        for n, point in enumerate(points):
            week = monday - timedelta(weeks=len(points) - 1 - n)
            lo = datetime.combine(week, time(0), tzinfo=UTC)
            hi = lo + timedelta(days=7)
            scores = [_score(i) / 10 for i, o in enumerate(occurred) if lo <= o < hi]
            assert point.responses == len(scores)
            expected = round(100 * sum(scores) / len(scores), 1) if scores else None
            assert point.value == expected, (week, point)
        assert sum(p.responses for p in points) > 0
        assert len(session.execute(select(ExperienceIssue)).scalars().all()) == 1
