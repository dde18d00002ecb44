"""Digests stay under Gmail's clipping point (102 KB of HTML) whatever the journey's size: a leadership
scorecard over 500 stages, an owner digest with 3,000 open issues, each with its charts. The capped lists
say how many more there are and where."""

from __future__ import annotations

import re
from datetime import timedelta

from app.digests.model import TOP_ISSUES, TOP_MOMENTS, TOP_STAGES, TOP_WEEKLY, MomentScore, WeekScore
from app.digests.render import render
from app.insights.digest import TOP_RECORDS
from app.insights.sections import (
    TOP,
    TOP_PERSONAS,
    CauseLine,
    DropLine,
    LeadershipInsights,
    MetricLine,
    OwnerInsights,
    PersonaTrend,
    RecordLine,
    TrendCell,
)
from tests.unit.digests.htmltree import parse
from tests.unit.digests.samples import SEAM, WEEK, issue, leadership_digest, owner_digest, stage

GMAIL_CLIP = 102 * 1024
LONG = "Checkout page times out when the basket holds more than twelve items and a promo code"


def _more(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="more-count">(\d+)<', html)]


def _big_leadership(n_stages: int):  # type: ignore[no-untyped-def]
    stages = [
        stage(
            f"stage-{i}",
            f"Stage number {i} of the long journey",
            f"Owner {i}",
            [40 + i % 7, 42, None, 45, 44, 41, 43, 47],
            open=i % 13,
            overdue=1 if i % 50 == 0 else 0,
            reopened=i % 97 == 0,
            confirmed=i % 5,
            oldest_open_days=i % 90,
        )
        for i in range(n_stages)
    ]
    moments = [
        MomentScore(
            stage=f"stage-{i}",
            stage_name=f"Stage number {i}",
            moment=f"m-{i}",
            moment_name=f"Moment of truth {i}",
            volume=100 + i,
            previous_volume=90,
            score=50.0 + i,
            scores=80,
            previous_score=48.0,
            trend=2.0 + i,
            open_issues=3,
            overdue_issues=i % 2,
            weeks=[WeekScore(week_start=WEEK - timedelta(weeks=w), score=50.0, n=20) for w in range(4)],
        )
        for i in range(TOP_MOMENTS)
    ]
    insights = LeadershipInsights(
        drops=[
            DropLine(
                persona="Busy family",
                stage=f"S{i}",
                label="NPS",
                before=30,
                after=10,
                n_before=80,
                n_after=90,
                p_value=0.001,
                test="z-test",
            )
            for i in range(TOP)
        ],
        drops_total=140,
        causes=[CauseLine(cause=f"Cause {i}", stages=["A", "B"], issues=4, customers=9) for i in range(TOP)],
        causes_total=60,
        records=[
            RecordLine(stage=f"Stage number {i}", confirmed=3, median_days=4.5) for i in range(TOP_RECORDS)
        ],
        records_total=max(n_stages, TOP_RECORDS),
        fair_comparison="Compare rates, not counts.",
    )
    return leadership_digest(stages=stages, moments=moments, insights=insights)


def test_leadership_digest_for_500_stages_stays_under_the_clip() -> None:
    digest = _big_leadership(500)
    out = render(digest)
    size = len(out.html.encode())
    assert size < GMAIL_CLIP, size
    root, _ = parse(out.html)
    rows = root.by_id("scorecard").table()
    assert len(rows) == 1 + TOP_STAGES
    # The stages shown are the ones that most need a look: every stage with an overdue issue first.
    overdue_stages = {f"Stage number {i} of the long journey" for i in range(0, 500, 50)}
    assert overdue_stages <= {r[0].split(" Owner")[0] for r in rows[1:]}
    # "and K more": the stages left out, the records left out; the totals still count every stage.
    assert _more(out.html) == [500 - TOP_STAGES, 500 - TOP_RECORDS]
    assert f"and {500 - TOP_STAGES} more on the board: {SEAM}/" in out.text
    assert root.by_id("fig-open").text() == str(sum(i % 13 for i in range(500)))
    # Both charts of the moments are there, and nothing else is an image.
    assert sorted(re.findall(r'src="cid:([^"]+)"', out.html)) == ["moment-scores@seam", "moment-volumes@seam"]


def test_a_small_leadership_digest_has_no_more_line() -> None:
    out = render(_big_leadership(TOP_STAGES).model_copy(update={"insights": None}))
    assert _more(out.html) == []
    assert "more on the board" not in out.text


def test_owner_digest_with_thousands_of_issues_and_its_charts_stays_under_the_clip() -> None:
    # Every list at its longest, with titles at their 300-character limit.
    title = (LONG + " ") * 4
    open_ = [
        issue(
            1000 + i,
            f"{title[:290]} ({i})",
            impact=float(i % 400),
            age_days=i % 120,
            blocking_teams=["IT", "Billing"],
        )
        for i in range(3000)
    ]
    overdue = [x.model_copy(update={"overdue_days": 1 + x.id % 9}) for x in open_[:1200]]
    weekly = {
        name: [x.model_copy(update={"status": name, "note": "4 new items after the fix"}) for x in open_[:40]]
        for name in ("shipped", "confirmed", "reopened")
    }
    months = ["Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026", "Nov 2026"]
    insights = OwnerInsights(
        personas=[
            PersonaTrend(
                persona=f"Persona {p}",
                label="NPS",
                cells=[
                    TrendCell(label=m, value=10.0 + k, low=2.5 + k, high=17.5 + k, n=60)
                    for k, m in enumerate(months)
                ],
            )
            for p in range(TOP_PERSONAS)
        ],
        personas_total=7,
        metrics=[
            MetricLine(
                name=f"Metric {i}",
                unit="%",
                latest=90,
                change=1,
                improving=True,
                values=[88.0 + w for w in range(8)],
                weeks=[f"{w + 1} Nov" for w in range(8)],
            )
            for i in range(3)
        ],
    )
    digest = owner_digest(open_issues=open_, overdue=overdue, insights=insights, **weekly)
    out = render(digest)
    size = len(out.html.encode())
    assert size < GMAIL_CLIP, size
    assert _more(out.html) == [
        1200 - TOP_ISSUES,
        3000 - TOP_ISSUES,
        *[40 - TOP_WEEKLY] * 3,
        7 - TOP_PERSONAS,
    ]
    root, _ = parse(out.html)
    shown = [r[0] for r in root.by_id("open").table()[1:]]
    top = sorted(open_, key=lambda x: (-x.impact, x.id))[:TOP_ISSUES]
    assert shown == [x.ref for x in top]
    assert root.by_id("fig-open").text() == "3000"
    cids = re.findall(r'src="cid:([^"]+)"', out.html)
    assert sorted(cids) == sorted(c.cid for c in out.charts)
    assert len(cids) == 1 + TOP_PERSONAS + 3  # the stage's trend, each persona, each metric
    assert f"and {3000 - TOP_ISSUES} more on the board: {SEAM}/issues?stage=pay" in out.text
    assert out.text.count(f"and {40 - TOP_WEEKLY} more on the board") == 3
