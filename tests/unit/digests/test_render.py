from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from app.digests.model import OwnerDigest, Verbatim
from app.digests.render import is_empty, render
from tests.unit.digests.htmltree import parse
from tests.unit.digests.samples import (
    HOSTILE,
    SEAM,
    WEEK,
    issue,
    leadership_digest,
    owner_digest,
    stage,
    team_digest,
    trend,
)


def test_owner_digest_figures_and_tables() -> None:
    out = render(owner_digest())
    assert out.subject == "Seam weekly: Pay, 4 open, 1 overdue (week of 23 Nov)"
    root, _ = parse(out.html)
    figures = {
        k: root.by_id(f"fig-{k}").text() for k in ("open", "overdue", "shipped", "confirmed", "reopened")
    }
    assert figures == {"open": "4", "overdue": "1", "shipped": "1", "confirmed": "1", "reopened": "1"}

    overdue = root.by_id("overdue").table()
    assert overdue == [
        ["Issue", "Title", "Priority", "Overdue", "Waiting on"],
        ["EI-102", "Card update form rejects valid cards", "P2", "5 d", "IT & Identity, Billing"],
    ]

    # open issues sorted by impact, with the impact printed and drawn relative to the largest
    open_table = root.by_id("open")
    rows = open_table.table()
    assert rows[0] == ["Issue", "Title", "Priority", "Impact", "", "Age", "Due"]
    assert [r[0] for r in rows[1:]] == ["EI-101", "EI-102", "EI-104", "EI-103"]
    assert [r[3] for r in rows[1:]] == ["182.5", "64", "31", "22.2"]
    assert [r[5] for r in rows[1:]] == ["2 d", "12 d", "100 d", "40 d"]
    assert rows[2][6] == "18 Nov"  # overdue due date
    bar_widths = []
    for row in open_table.rows()[1:]:
        bar = row.cells()[4].find_all("td")
        bar_widths.append(bar[0].attrs["width"])
    assert bar_widths == ["100%", "35%", "17%", "12%"]

    ages = root.by_id("age").table()
    assert [(r[0], r[1]) for r in ages] == [
        ("under a week", "1"),
        ("1-4 weeks", "1"),
        ("1-3 months", "1"),
        ("over 3 months", "1"),
    ]
    assert [r[0] for r in root.by_id("shipped").table()[1:]] == ["EI-99"]
    assert [r[0] for r in root.by_id("confirmed").table()[1:]] == ["EI-90"]
    reopened = root.by_id("reopened").table()
    assert reopened[1][1] == "Bill arrives before the box First bill 4 new items after the fix"

    assert root.by_id("trend-latest").text() == "14"
    assert root.by_id("trend-change").text() == "+4 on last week"
    spark = [n for n in root.by_id("trend").find_all("table") if n.attrs.get("class") == "spark"]
    assert len(spark) == 1
    columns = spark[0].rows()[0].cells()
    assert len(columns) == 8
    heights = [int(c.find_all("td")[0].attrs["height"] or 0) for c in columns]
    assert heights[2] == 1  # the week without scores is a 1px placeholder
    values = [12, 8, None, 5, -3, 4, 10, 14]
    scored = [(v, h) for v, h in zip(values, heights, strict=True) if v is not None]
    assert [h for _, h in sorted(scored)] == sorted(h for _, h in scored)  # taller for higher
    assert max(heights) == 30 and min(h for _, h in scored) == 2
    assert "week of 16 Nov: NPS 10 (20 responses)" in [c.attrs.get("title") for c in columns]

    verbatims = [r[0] for r in root.by_id("verbatims").table() if r[0]]
    assert len(verbatims) == 3
    assert verbatims[0].startswith(
        "\u201cI was charged twice & nobody answered\u201d 23 Nov · NPS 2 · Busy family"
    )
    assert "The card form keeps saying 'invalid'" in verbatims[1]


def test_sections_without_content_are_left_out() -> None:
    out = render(owner_digest(overdue=[], shipped=[], confirmed=[], reopened=[], verbatims=[], trend=None))
    root, _ = parse(out.html)
    for id_ in ("overdue", "shipped", "confirmed", "reopened", "verbatims", "trend"):
        assert not root.has_id(id_), id_
    assert root.has_id("open")
    assert "OVERDUE" not in out.text and "WHAT CUSTOMERS SAID" not in out.text


def test_plain_text_part_carries_the_same_figures() -> None:
    text = render(owner_digest()).text
    assert "Open: 4   Overdue: 1   Fixes shipped: 1   Confirmed: 1   Reopened: 1" in text
    assert (
        "- EI-102 [P2] Card update form rejects valid cards: 5 d overdue, waiting on IT & Identity, Billing"
        in text
    )
    lines = text.splitlines()
    start = lines.index("OPEN ISSUES BY IMPACT")
    assert [ln.split()[1] for ln in lines[start + 1 : start + 5]] == ["EI-101", "EI-102", "EI-104", "EI-103"]
    assert "now 14 (+4 on last week)" in text
    assert f"Open Seam: {SEAM}/issues?stage=pay" in text
    assert "<" not in text.replace("<script>", "")  # no markup of ours
    assert "&amp;" not in text and "&#" not in text


def test_team_digest_lists_contributions_with_ticket_keys_as_text() -> None:
    out = render(team_digest())
    assert out.subject == "Seam weekly: IT & Identity, 2 open contributions (week of 23 Nov)"
    root, tags = parse(out.html)
    assert root.by_id("fig-open").text() == "2" and root.by_id("fig-overdue").text() == "1"
    rows = root.by_id("contributions").table()
    assert rows[0] == ["Issue", "Stage", "Title", "Priority", "Ticket", "Due"]
    assert rows[1] == [
        "EI-102",
        "Pay",
        "Card update form rejects valid cards First bill",
        "P2",
        "IT-311 In Review",
        "18 Nov 5 d overdue",
    ]
    assert rows[2][:2] == ["EI-120", "Get help"] and rows[2][4] == "none yet"
    hrefs = [a.get("href") for t, a in tags if t == "a"]
    assert hrefs == [f"{SEAM}/issues/102", f"{SEAM}/issues/120", f"{SEAM}/issues?team=it"]
    assert "ticket IT-311 (In Review), due 18 Nov, 5 d overdue" in out.text


def test_leadership_scorecard_rows_totals_and_trends() -> None:
    out = render(leadership_digest())
    root, _ = parse(out.html)
    totals = {
        k: root.by_id(f"fig-{k}").text() for k in ("open", "overdue", "shipped", "confirmed", "reopened")
    }
    assert totals == {"open": "12", "overdue": "3", "shipped": "1", "confirmed": "2", "reopened": "1"}
    table = root.by_id("scorecard")
    rows = table.table()
    assert rows[0] == ["Stage", "Open", "Overdue", "Confirmed", "Reopened", "Score", "Trend"]
    assert [r[:6] for r in rows[1:]] == [
        ["Discover Sofia Reyes · oldest 9 d", "2", "0", "1", "0", "24 -1"],
        ["Buy Tom Becker · oldest 41 d", "6", "2", "0", "1", "-4 -4"],
        ["Pay Ravi Menon", "4", "1", "1", "0", "14 +6"],
    ]
    for row in table.rows()[1:]:
        sparks = [t for t in row.find_all("table") if t.attrs.get("class") == "spark"]
        assert len(sparks) == 1 and len(sparks[0].rows()[0].cells()) == 4
    assert "Buy                        6        2          0         1      -4" in out.text


def test_hostile_feedback_is_escaped_everywhere() -> None:
    digest = owner_digest(
        stage_name=HOSTILE[0],
        open_issues=[issue(7, HOSTILE[1], moment=HOSTILE[2], blocking_teams=[HOSTILE[0]])],
        reopened=[issue(8, "x", note=HOSTILE[1])],
        verbatims=[Verbatim(text=t, persona=HOSTILE[1], received=WEEK) for t in HOSTILE],
    )
    out = render(digest)
    root, tags = parse(out.html)
    assert not [t for t, _ in tags if t in ("script", "svg", "iframe", "object", "style", "link")]
    assert not [(t, k) for t, a in tags for k in a if k.startswith("on")]
    assert "<script" not in out.html
    # the only images are the message's own charts, by content id
    cids = {c.cid for c in out.charts}
    assert sorted(a["src"] or "" for t, a in tags if t == "img") == sorted(f"cid:{c}" for c in cids)
    assert cids
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in out.html
    # shown to the reader as text, exactly as the customer typed it, never evaluated
    body = root.text()
    for hostile in HOSTILE:
        assert hostile in body
    assert "49" not in out.html.replace("#49", "")
    assert HOSTILE[2] in out.text and "49" not in out.text
    # the subject is one line of plain text
    assert "\n" not in out.subject and HOSTILE[0] in out.subject


@pytest.mark.parametrize("make", [owner_digest, team_digest, leadership_digest])
def test_no_script_and_no_external_resource(make: object) -> None:
    out = render(make())  # type: ignore[operator]
    root, tags = parse(out.html)
    names = {t for t, _ in tags}
    assert names.isdisjoint({"script", "svg", "link", "style", "iframe", "object", "embed", "form"})
    cids = {f"cid:{c.cid}" for c in out.charts}
    for tag, attrs in tags:
        if tag == "img":
            # a chart carried in the message, with its numbers in words for those who cannot see it
            assert attrs["src"] in cids and attrs.get("alt"), attrs
        for key, value in attrs.items():
            assert key not in ("srcset", "background", "action", "poster"), (tag, key)
            if key == "src":
                assert tag == "img" and value in cids, (tag, value)
            assert not key.startswith("on"), (tag, key)
            if key == "href":
                assert value is not None and value.startswith(SEAM + "/"), value
            if key == "style":
                assert "url(" not in (value or "") and "expression" not in (value or "")
    assert not re.search(r"@import|url\(|https?://(?!seam\.boxwise\.example)", out.html)
    # the link back to Seam is a plain link showing its own address
    link = root.by_id("seam-link")
    assert link.text() == link.attrs["href"]


def test_empty_digests_are_detected() -> None:
    quiet = owner_digest(
        open_issues=[], overdue=[], shipped=[], confirmed=[], reopened=[], trend=trend([1, 2]), verbatims=[]
    )
    assert is_empty(quiet)
    assert not is_empty(owner_digest(open_issues=[], overdue=[], shipped=[], reopened=[]))  # one confirmed
    assert not is_empty(owner_digest())
    assert is_empty(team_digest(contributions=[]))
    assert not is_empty(team_digest())
    silent = leadership_digest(stages=[stage("buy", "Buy", "Tom", [None, None])])
    assert is_empty(silent)
    assert is_empty(leadership_digest(stages=[]))
    assert not is_empty(leadership_digest(stages=[stage("buy", "Buy", "Tom", [None, 3])]))


def test_model_guards() -> None:
    with pytest.raises(ValidationError, match="http"):
        owner_digest(seam_url="javascript:alert(1)")
    with pytest.raises(ValidationError, match="http"):
        owner_digest(seam_url='https://seam.example/"onmouseover="x')
    with pytest.raises(ValidationError, match="Monday"):
        owner_digest(week_start=date(2026, 11, 24))
    with pytest.raises(ValidationError):
        owner_digest(verbatims=[Verbatim(text=str(i), received=WEEK) for i in range(4)])
    long = Verbatim(text="word " * 200 + "\r\nBcc: x", received=WEEK)
    assert len(long.text) == 400 and long.text.endswith("…") and "\n" not in long.text
    assert issue(1, "two\nlines").title == "two lines"
    d = OwnerDigest.model_validate(owner_digest().model_dump())
    assert d.week_label == "week 48, 23 Nov to 29 Nov 2026" and d.week_end == WEEK + timedelta(days=6)
