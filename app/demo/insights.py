"""Demo data for the insights, the same on every run (and safe to re-run): six months of first-box NPS by
persona (busy families drop in the latest month), 26 weeks of the shared metrics, two root causes that
span stages, one confirmed fix to credit, and three cycles of experience checks (some left open, so
some are overdue)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.actor import Actor
from app.core.settings import Settings
from app.insights import checks, metrics, root_causes
from app.insights.models import CheckTask, IssueRootCause
from app.insights.root_causes import RootCauseIn
from app.intake import ingest as feedback
from app.issues.models import ExperienceIssue
from app.journey.schemas import Journey
from app.loop import service as loop

DEMO = Actor("demo")
# (persona, month index 0 = six months ago .. 5 = this month) -> promoter, passive, detractor counts.
NPS_MIX = {
    "family": [(22, 10, 8)] * 5 + [(9, 11, 20)],
    "single": [(14, 8, 8)] * 6,
    "gifting": [(6, 3, 3)] * 6,
}
METRIC_BASE = {
    "on-time-delivery": ("logistics", 93.0, 2.0),
    "first-contact-resolution": ("support", 72.0, 4.0),
    "refund-cycle-time": ("support", 5.0, 0.8),
    "checkout-success": ("web", 96.0, 1.0),
}


def _month_start(now: datetime, back: int) -> datetime:
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def trend_items(now: datetime) -> list[dict[str, Any]]:
    """Index 5 of NPS_MIX is the last complete calendar month, index 0 the one five months before it."""
    rng = random.Random(11)
    out = []
    for persona, months in NPS_MIX.items():
        for m, (p, passive, d) in enumerate(months):
            start = _month_start(now, 6 - m)
            days = (_month_start(now, 5 - m) - start).days
            scores = [rng.choice((9, 10)) for _ in range(p)] + [rng.choice((7, 8)) for _ in range(passive)]
            scores += [rng.randint(0, 6) for _ in range(d)]
            for n, score in enumerate(scores):
                out.append(
                    {
                        "source": "demo-nps",
                        "external_id": f"nps-{persona}-{m}-{n}",
                        "score": score,
                        "scale": "nps",
                        "touchpoint": "first-box-nps",
                        "persona": persona,
                        "customer_ref": f"cust-{rng.randint(181, 900):04d}",
                        "occurred_at": (start + timedelta(days=rng.uniform(0.5, days - 0.5))).isoformat(),
                    }
                )
    return out


def metric_points(now: datetime) -> list[metrics.PointIn]:
    rng = random.Random(5)
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    points = []
    for key, (source, base, spread) in METRIC_BASE.items():
        for w in range(26, 0, -1):
            value = round(
                base
                + rng.uniform(-spread, spread)
                - (spread * 1.5 if w <= 3 and key == "on-time-delivery" else 0),
                1,
            )
            points.append(
                metrics.PointIn(metric=key, at=monday - timedelta(weeks=w), source=source, value=value)
            )
    return points


def _top(session: Session, stage: str) -> ExperienceIssue | None:
    stmt = (
        select(ExperienceIssue)
        .where(col(ExperienceIssue.stage) == stage, col(ExperienceIssue.status) == "open")
        .order_by(col(ExperienceIssue.item_count).desc(), col(ExperienceIssue.id))
        .limit(1)
    )
    return session.execute(stmt).scalars().first()


def load(session: Session, journey: Journey, now: datetime, settings: Settings) -> None:
    good, _ = feedback.validate_raw(trend_items(now))
    feedback.ingest(session, journey, good, DEMO, now=now)
    metrics.ingest(session, journey, metric_points(now), now)
    if session.execute(select(IssueRootCause).limit(1)).first() is None:
        causes = {
            "pay": ("system", "payments"),
            "buy": ("system", "payments"),
            "onboard": ("partner", "courier"),
        }
        causes["use"] = ("partner", "courier")
        for stage, (cause, sub) in causes.items():
            issue = _top(session, stage)
            if issue is not None and issue.id is not None:
                root_causes.record(
                    session, journey, issue.id, RootCauseIn(cause=cause, sub_cause=sub), DEMO, now
                )
        _confirm_one(session, journey, now)
    if session.execute(select(CheckTask).limit(1)).first() is None:
        _checks(session, journey, now, settings)


def _confirm_one(session: Session, journey: Journey, now: datetime) -> None:
    """The pay stage's top issue (its root cause already recorded): fixed a week ago, confirmed today.
    Every demo item was received just now, so the loop's evidence would call any earlier fix regressed;
    the demo moves the issue itself, and its credit reads the items by when customers gave them."""
    issue = _top(session, "pay")
    if issue is None or issue.id is None:
        return
    shipped = now - timedelta(days=7)
    loop.move(session, issue.id, "fixing", "demo: billing run corrected", DEMO, shipped - timedelta(days=1))
    loop.move(session, issue.id, "fix_shipped", "demo: invoice template fixed", DEMO, shipped)
    loop.move(session, issue.id, "confirmed", "demo: checked with the billing run", DEMO, now)


def _checks(session: Session, journey: Journey, now: datetime, settings: Settings) -> None:
    """Three cycles of the journey's checks: the two older ones recorded (but one), the current one open."""
    if not journey.checks:
        return
    cadence = journey.checks[0].cadence
    for back in (2, 1, 0):
        at = now - back * cadence
        for task in checks.assign_due(session, journey, at, settings):
            if (back == 1 and task.check_key == "billing-call") or (
                back == 0 and task.check_key != "promo-order"
            ):
                continue
            score = 2 if task.check_key == "return-box" else 4
            notes = (
                "The refund form lost my order number." if score == 2 else "Went as a customer would hope."
            )
            assert task.id is not None
            checks.record(
                session,
                journey,
                task.id,
                checks.ResultIn(score=score, notes=notes),
                DEMO,
                at + timedelta(days=2),
            )
