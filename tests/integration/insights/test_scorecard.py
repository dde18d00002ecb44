"""The moments-of-truth scorecard on a small fixture worked out by hand. The period is the 28 days
before Monday 30 November 2026 (2 to 30 November); the trend compares it with 5 October to 2 November."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.actor import Actor
from app.digests import build
from app.digests.render import render
from app.feedback.schemas import FeedbackIn
from app.intake import ingest as feedback
from app.journey import service as journeys
from tests.support.api import apply_example_journey, auth

UNTIL = "2026-11-30T00:00:00Z"


def _at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def _ingest(engine: Engine, now: datetime, rows: list[dict[str, Any]]) -> list[int]:
    items = [FeedbackIn(**{"source": "survey", "text": "not right", **r, "occurred_at": now}) for r in rows]
    with Session(engine) as session:
        out = feedback.ingest(session, journeys.current(session), list(enumerate(items)), Actor("t"), now=now)
        session.commit()
    return [r.issue_id for r in out if r.issue_id is not None]


def _csat(prefix: str, touchpoint: str, scores: list[int | None]) -> list[dict[str, Any]]:
    return [
        {"external_id": f"{prefix}-{n}", "touchpoint": touchpoint, "customer_ref": f"{prefix}-c{n}",
         "score": s, "scale": "csat" if s is not None else None}
        for n, s in enumerate(scores)
    ]  # fmt: skip


@pytest.fixture
def scored(client: TestClient, admin_key: str, engine: Engine) -> TestClient:
    apply_example_journey(client, admin_key)
    # Pay / first bill: six CSAT 1 (0 % of the scale) on 21 October open an issue, overdue by 30 November
    # whatever its priority (the longest SLA is 30 days); four in the period score 5, 5, 3, 1
    # (100, 100, 50, 0 %: mean 62.5, trend +62.5) and join it.
    _ingest(engine, _at(10, 21), _csat("bill-old", "invoice-email", [1] * 6))
    _ingest(engine, _at(11, 20), _csat("bill-new", "invoice-email", [5, 5, 3, 1]))
    # Use / delivery day: three CSAT 2 (25 %) on 28 November: an issue, open, due after 30 November.
    _ingest(engine, _at(11, 28), _csat("late-box", "delivery-csat", [2, 2, 2]))
    # Onboard / first box: NPS 10 and 9 (100 and 90 %: 95); a staff check scoring 0 does not count in
    # the figures, but as an item it makes three with two customers: an issue opens, due after 30 November.
    first_box = [
        {"external_id": f"fb-{n}", "touchpoint": "first-box-nps", "customer_ref": f"fb-c{n}", "score": s,
         "scale": "nps"}
        for n, s in enumerate([10, 9])
    ]  # fmt: skip
    _ingest(engine, _at(11, 10), first_box)
    staff = {"external_id": "fb-staff", "touchpoint": "first-box-nps", "score": 0, "scale": "nps"}
    _ingest(engine, _at(11, 11), [{**staff, "source": "staff"}])
    # Discover / first visit: one item without a score: volume 1, no score (ingest opens an issue for it).
    _ingest(engine, _at(11, 12), _csat("visit", "web-homepage-survey", [None]))
    return client


def test_the_scorecard_puts_pain_first_with_figures_worked_by_hand(
    scored: TestClient, admin_key: str
) -> None:
    resp = scored.get("/api/v1/insights/scorecard", params={"until": UNTIL}, headers=auth(admin_key))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["since"].startswith("2026-11-02") and body["moments_declared"] == 16
    rows = body["moments"]
    assert len(rows) == 16
    figures = [
        (r["moment"], r["volume"], r["previous_volume"], r["score"], r["trend"], r["open_issues"],
         r["overdue_issues"])
        for r in rows[:4]
    ]  # fmt: skip
    assert figures == [
        ("first-bill", 4, 6, 62.5, 62.5, 1, 1),  # overdue first
        ("delivery-day", 3, 0, 25.0, None, 1, 0),  # then open issues
        ("first-box", 2, 0, 95.0, None, 1, 0),  # as many open: the lower score first
        ("first-visit", 1, 0, None, None, 1, 0),  # unscored after scored
    ]
    assert [r["moment"] for r in rows[4:6]] == ["price-check", "checkout"]  # nothing wrong: journey order
    bill = rows[0]
    assert bill["weeks"][0]["week_start"] == "2026-10-05"
    assert len(bill["weeks"]) == 8
    weekly = {w["week_start"]: (w["score"], w["n"]) for w in bill["weeks"] if w["n"]}
    assert weekly == {"2026-10-19": (0.0, 6), "2026-11-16": (62.5, 4)}


def test_the_scorecard_refuses_a_bad_period_naming_the_field(scored: TestClient, admin_key: str) -> None:
    resp = scored.get("/api/v1/insights/scorecard", params={"days": 3}, headers=auth(admin_key))
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "days" in resp.text
    resp = scored.get("/api/v1/insights/scorecard", params={"until": "yesterday"}, headers=auth(admin_key))
    assert resp.status_code == 422 and "until" in resp.text


def test_the_leadership_digest_opens_with_the_scorecard(scored: TestClient, engine: Engine) -> None:
    run = datetime(2026, 12, 1, 8, tzinfo=UTC)  # covers 23 to 29 November: the same period as above
    with Session(engine) as session:
        journey = journeys.current(session)
        lead = next(p for p in journey.people if p.id == journey.cx_lead)
        found = build.preview(session, journey, str(lead.email), run, ZoneInfo("UTC"), "https://seam.example")
    (leader,) = [a for a in found if a.digest.kind == "leadership"]
    rendered = render(leader.digest)
    body = rendered.html.split("<body", 1)[1]
    assert body.index('id="moments"') < body.index('id="figures"') < body.index('id="scorecard"')
    first = body.split('id="moments"')[1].split("</table>")[0]
    assert first.index("First bill") < first.index("Delivery day") < first.index("First box")
    assert "62.5" in first and "+62.5" in first
    text = rendered.text
    assert text.index("Moments of truth") < text.index("Open:")
    assert "Pay / First bill" in text and "62.5" in text
