"""A month of a small, hand-made fixture through the credit figures and the weekly digests' insight
sections. The covered week is Monday 16 to Sunday 22 November 2026 (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app import wiring
from app.core.actor import Actor
from app.digests import build
from app.digests.model import LeadershipDigest, OwnerDigest, TeamDigest
from app.digests.render import render
from app.feedback.schemas import FeedbackIn
from app.insights import credits, metrics, root_causes
from app.insights.root_causes import RootCauseIn
from app.intake import ingest as feedback
from app.issues import service as issues
from app.journey import service as journeys
from app.loop import fixes
from app.loop import service as loop
from tests.support.api import example_journey, settings_for

SHIP = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
CONFIRM = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
RUN = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)  # the digests for the week of 16 November
ACTOR = Actor("ravi")


def _ingest(engine: Engine, now: datetime, rows: list[dict[str, Any]]) -> list[int]:
    items = [FeedbackIn(**{"source": "survey", "text": "not right", **r}) for r in rows]
    with Session(engine) as session:
        out = feedback.ingest(session, journeys.current(session), list(enumerate(items)), Actor("t"), now=now)
        session.commit()
    return [r.issue_id for r in out if r.issue_id is not None]


def _at(day: int, hour: int = 12) -> str:
    return datetime(2026, 11, day, hour, tzinfo=UTC).isoformat()


@pytest.fixture
def fixture(engine: Engine) -> dict[str, int]:
    wiring.start_process(settings_for(engine), engine)
    with Session(engine) as session:
        journeys.apply(session, example_journey(), actor="test")
        session.commit()
    # Pay / first bill: two items on 8 November, four on 13 November (all CSAT 1, i.e. 0 % of the scale).
    bill = [
        {"external_id": f"bill-{n}", "touchpoint": "invoice-email", "customer_ref": f"c{n}", "score": 1,
         "scale": "csat", "occurred_at": _at(8 if n < 2 else 13)}
        for n in range(6)
    ]  # fmt: skip
    (pay, *_) = _ingest(engine, datetime(2026, 11, 14, tzinfo=UTC), bill)
    # Buy / checkout: the same system cause, two customers.
    buy_rows = [
        {"external_id": f"buy-{n}", "touchpoint": "checkout-survey", "customer_ref": f"b{n}",
         "occurred_at": _at(10)}
        for n in range(2)
    ]  # fmt: skip
    (buy, *_) = _ingest(engine, datetime(2026, 11, 14, tzinfo=UTC), buy_rows)
    with Session(engine) as session:
        loop.move(session, pay, "fixing", None, ACTOR, SHIP - timedelta(hours=1))
        loop.move(session, pay, "fix_shipped", "invoice template fixed", ACTOR, SHIP)
        session.commit()
    # After the fix: one happier customer on the same moment (CSAT 5, i.e. 100 %).
    after = [{"external_id": "bill-after", "touchpoint": "invoice-email", "customer_ref": "c7", "score": 5,
              "scale": "csat", "occurred_at": _at(18)}]  # fmt: skip
    _ingest(engine, datetime(2026, 11, 18, 13, tzinfo=UTC), after)
    with Session(engine) as session:
        journey = journeys.current(session)
        root_causes.record(
            session, journey, buy, RootCauseIn(cause="system", sub_cause="payments"), ACTOR, SHIP
        )
        fixes.confirm(
            session, journey, pay, "customers confirmed on the phone", ACTOR, CONFIRM,
            settings_for(engine), RootCauseIn(cause="system", sub_cause="payments"),
        )  # fmt: skip
        metrics.ingest(
            session,
            journey,
            [
                metrics.PointIn(
                    metric="on-time-delivery",
                    at=datetime(2026, 11, d, tzinfo=UTC),
                    source="logistics",
                    value=v,
                )
                for d, v in ((9, 95), (17, 88))
            ],
            SHIP,
        )
        session.commit()
    # Families' first box: NPS 25 in September (n = 40), -30 in October (n = 40), the last complete month:
    # a significant drop.
    nps = [(10, 20), (8, 10), (2, 10)], [(10, 8), (7, 12), (0, 20)]
    rows = []
    for month, mix in zip((9, 10), nps, strict=True):
        scores = [s for s, k in mix for _ in range(k)]
        rows += [
            {"external_id": f"nps-{month}-{n}", "touchpoint": "first-box-nps", "customer_ref": f"f{n}",
             "persona": "family", "score": s, "scale": "nps",
             "occurred_at": datetime(2026, month, 5, tzinfo=UTC).isoformat()}
            for n, s in enumerate(scores)
        ]  # fmt: skip
    _ingest(engine, datetime(2026, 11, 6, tzinfo=UTC), rows)
    return {"pay": pay, "buy": buy}


def test_a_confirmed_fix_is_credited_with_its_evidence(engine: Engine, fixture: dict[str, int]) -> None:
    with Session(engine) as session:
        journey = journeys.current(session)
        (c,) = credits.credits(session, journey, SHIP, CONFIRM + timedelta(days=1))
        teams = issues.teams_of(session, [fixture["pay"]])[fixture["pay"]]
        records = {
            r.stage: r for r in credits.stage_records(session, journey, SHIP - timedelta(days=30), RUN)
        }
    assert c.issue_id == fixture["pay"] and c.owner == "ravi" and c.owner_name == "Ravi Menon"
    assert c.teams == sorted(teams) and c.teams  # the contributing teams share the credit
    # The four days before shipping hold the four items of 13 November; the four after hold one.
    assert (c.items_before, c.items_after) == (4, 1)
    # The moment's score: CSAT 1 (0 %) before, CSAT 5 (100 %) after.
    assert (c.score_before, c.score_after, c.score_change) == (0.0, 100.0, 100.0)
    # First seen 8 November 12:00, confirmed 20 November 10:00: 11 days 22 hours.
    assert c.days_to_confirm == pytest.approx(11 + 22 / 24)
    pay = records["pay"]
    assert (pay.confirmed, pay.reopened, pay.reopen_rate, pay.issues) == (1, 0, 0.0, 1)
    assert pay.median_days == pytest.approx(11 + 22 / 24)
    assert records["buy"].confirmed == 0 and records["buy"].reopen_rate is None


def test_a_reopened_confirmation_counts_against_the_stage(engine: Engine, fixture: dict[str, int]) -> None:
    with Session(engine) as session:
        loop.move(session, fixture["pay"], "reopened", "came back", ACTOR, CONFIRM + timedelta(days=1))
        session.commit()
        (pay,) = [
            r
            for r in credits.stage_records(session, journeys.current(session), SHIP, RUN)
            if r.stage == "pay"
        ]
    assert (pay.confirmed, pay.reopened, pay.reopen_rate) == (1, 1, 1.0)


def _digests(engine: Engine) -> list[build.Addressed]:
    with Session(engine) as session:
        snap = build.snapshot(session, journeys.current(session), RUN, ZoneInfo("UTC"), "http://seam.test")
        return list(build.digests(snap))


def test_digests_carry_drops_metrics_credits_and_root_causes(engine: Engine, fixture: dict[str, int]) -> None:
    out = _digests(engine)
    by_key = {(a.key, a.person): a.digest for a in out}
    onboard = by_key[("owner:onboard", "kim")]
    assert isinstance(onboard, OwnerDigest) and onboard.insights is not None
    (drop,) = onboard.insights.drops
    assert (drop.persona, drop.before, drop.after, drop.n_before, drop.n_after) == (
        "Busy family",
        25.0,
        -30.0,
        40,
        40,
    )
    (otd,) = [m for m in onboard.insights.metrics if m.name == "On-time delivery rate"]
    assert (otd.latest, otd.change, otd.improving) == (88.0, -7.0, False)
    pay = by_key[("owner:pay", "ravi")]
    assert isinstance(pay, OwnerDigest) and pay.insights is not None
    (credit,) = pay.insights.credits
    assert (credit.issue_id, credit.items_before, credit.items_after, credit.score_change) == (
        fixture["pay"],
        4,
        1,
        100.0,
    )
    html = render(pay).html
    assert "Fixes confirmed this week" in html and "4 &rarr; 1" in html and "+100 pts" in html

    lead = by_key[("leadership", "dana")]
    assert isinstance(lead, LeadershipDigest) and lead.insights is not None
    (cause, *_) = lead.insights.causes
    # System hurts Buy (b0, b1) and Pay (c0..c5, c7): nine customers.
    assert (cause.cause, cause.stages, cause.issues, cause.customers) == ("System", ["Buy", "Pay"], 2, 9)
    assert [d.stage for d in lead.insights.drops] == ["Onboard"]
    assert [c.issue_id for c in lead.insights.credits] == [fixture["pay"]]
    rendered = render(lead)
    assert (
        "Root causes across the journey" in rendered.html
        and "System: Buy, Pay; 2 issues, 9 customers" in rendered.text
    )
    assert "never by raw counts" in rendered.text
    assert len(rendered.html.encode()) < 102 * 1024

    teams = [a for a in out if a.key.startswith("team:") and isinstance(a.digest, TeamDigest)]
    credited = {a.key for a in teams if a.digest.insights and a.digest.insights.credits}  # type: ignore[union-attr]
    with Session(engine) as session:
        pay_teams = issues.teams_of(session, [fixture["pay"]])[fixture["pay"]]
    assert credited == {f"team:{t}" for t in pay_teams}


def test_customer_items_only_the_staff_check_stays_out(engine: Engine, fixture: dict[str, int]) -> None:
    staff = [{"external_id": "staff-1", "source": "staff", "touchpoint": "invoice-email", "score": 1,
              "scale": "csat", "occurred_at": _at(19)}]  # fmt: skip
    _ingest(engine, datetime(2026, 11, 19, tzinfo=UTC), staff)
    with Session(engine) as session:
        (c,) = credits.credits(session, journeys.current(session), SHIP, RUN)
    assert (c.items_after, c.score_after) == (1, 100.0)
