"""Realistic digests for the tests (the Boxwise example journey)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from app.digests.model import (
    ContributionLine,
    IssueLine,
    LeadershipDigest,
    OwnerDigest,
    Person,
    StageScore,
    TeamDigest,
    Trend,
    TrendPoint,
    Verbatim,
)

WEEK = date(2026, 11, 23)  # a Monday
SEAM = "https://seam.boxwise.example"
HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>', "{{ 7*7 }}"]


def issue(id_: int, title: str, **kw: Any) -> IssueLine:
    values: dict[str, Any] = {
        "id": id_,
        "title": title,
        "stage": "Pay",
        "moment": "First bill",
        "priority": "p2",
        "impact": 40.0,
        "status": "fixing",
        "opened": WEEK - timedelta(days=kw.get("age_days", 3)),
        "age_days": 3,
        "due": WEEK + timedelta(days=4),
    }
    values.update(kw)
    return IssueLine.model_validate(values)


def trend(values: list[float | None], label: str = "NPS") -> Trend:
    points = [
        TrendPoint(
            week_start=WEEK - timedelta(weeks=len(values) - 1 - i), value=v, responses=0 if v is None else 20
        )
        for i, v in enumerate(values)
    ]
    return Trend(label=label, points=points)


def owner_digest(**overrides: Any) -> OwnerDigest:
    values: dict[str, Any] = {
        "recipient": Person(name="Ravi Menon", email="ravi.menon@boxwise.example"),
        "week_start": WEEK,
        "seam_url": SEAM,
        "stage_key": "pay",
        "stage_name": "Pay",
        "open_issues": [
            issue(101, "Charged twice for the first box", priority="p1", impact=182.5, age_days=2),
            issue(
                102,
                "Card update form rejects valid cards",
                moment="Updating a payment card",
                impact=64.0,
                age_days=12,
                due=WEEK - timedelta(days=5),
                overdue_days=5,
                blocking_teams=["IT & Identity", "Billing"],
            ),
            issue(103, "Invoice PDF shows the wrong VAT number", priority="p3", impact=22.25, age_days=40),
            issue(104, "Refund takes two weeks", priority="p3", impact=31.0, age_days=100),
        ],
        "overdue": [
            issue(
                102,
                "Card update form rejects valid cards",
                moment="Updating a payment card",
                impact=64.0,
                age_days=12,
                due=WEEK - timedelta(days=5),
                overdue_days=5,
                blocking_teams=["IT & Identity", "Billing"],
            )
        ],
        "shipped": [issue(99, "Promo code applied twice on the first bill", status="fix_shipped")],
        "confirmed": [issue(90, "Direct debit date unclear", status="confirmed", priority="p4")],
        "reopened": [
            issue(95, "Bill arrives before the box", status="reopened", note="4 new items after the fix")
        ],
        "trend": trend([12, 8, None, 5, -3, 4, 10, 14]),
        "verbatims": [
            Verbatim(
                text="I was charged twice & nobody answered",
                score=2,
                scale="nps",
                persona="Busy family",
                received=WEEK,
            ),
            Verbatim(
                text="The card form\nkeeps saying 'invalid'",
                score=4,
                scale="nps",
                received=WEEK + timedelta(days=1),
            ),
            Verbatim(text="Where is my refund?", received=WEEK + timedelta(days=2)),
        ],
    }
    values.update(overrides)
    return OwnerDigest.model_validate(values)


def team_digest(**overrides: Any) -> TeamDigest:
    values: dict[str, Any] = {
        "recipient": Person(name="Lee Chen", email="lee.chen@boxwise.example"),
        "week_start": WEEK,
        "seam_url": SEAM,
        "team_key": "it",
        "team_name": "IT & Identity",
        "contributions": [
            ContributionLine(
                issue=issue(102, "Card update form rejects valid cards", overdue_days=5),
                state="in_progress",
                ticket_key="IT-311",
                ticket_status="In Review",
                since=WEEK - timedelta(days=10),
                due=WEEK - timedelta(days=5),
                overdue_days=5,
            ),
            ContributionLine(
                issue=issue(120, "Login link expires too fast", stage="Get help", moment=None, priority="p3"),
                since=WEEK - timedelta(days=1),
                due=WEEK + timedelta(days=13),
            ),
        ],
    }
    values.update(overrides)
    return TeamDigest.model_validate(values)


def stage(key: str, name: str, owner: str, values: list[float | None], **counts: int) -> StageScore:
    return StageScore(stage_key=key, stage_name=name, owner=owner, trend=trend(values), **counts)


def leadership_digest(**overrides: Any) -> LeadershipDigest:
    values: dict[str, Any] = {
        "recipient": Person(name="Dana Okafor", email="dana.okafor@boxwise.example"),
        "week_start": WEEK,
        "seam_url": SEAM,
        "journey_name": "Boxwise subscription journey",
        "stages": [
            stage(
                "discover",
                "Discover",
                "Sofia Reyes",
                [20, 22, 25, 24],
                open=2,
                confirmed=1,
                oldest_open_days=9,
            ),
            stage(
                "buy", "Buy", "Tom Becker", [10, 5, 0, -4], open=6, overdue=2, reopened=1, oldest_open_days=41
            ),
            stage("pay", "Pay", "Ravi Menon", [12, 8, None, 14], open=4, overdue=1, shipped=1, confirmed=1),
        ],
    }
    values.update(overrides)
    return LeadershipDigest.model_validate(values)
