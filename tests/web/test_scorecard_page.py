"""The moments-of-truth scorecard board: pain points first, a chart per moment with its numbers below."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.core.clock import utcnow
from app.core.settings import Settings
from tests.web.helpers import ingest, sign_in


def test_the_scorecard_board_orders_pain_first_and_prints_the_charts_numbers(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    when = (utcnow() - timedelta(days=2)).isoformat()
    rows = [
        {
            "source": "survey",
            "external_id": f"sc-{n}",
            "text": "the bill was wrong",
            "touchpoint": "invoice-email",
            "score": 1,
            "scale": "csat",
            "customer_ref": f"sc-c{n}",
            "occurred_at": when,
        }
        for n in range(3)
    ]
    ingest(engine, rows)
    assert web.get("/scorecard", follow_redirects=False).status_code in (302, 303)
    sign_in(web, web_settings, "priya")
    page = web.get("/scorecard")
    assert page.status_code == 200, page.text
    assert 'href="/scorecard"' in page.text  # in the nav
    card = page.text.split('id="scorecard"')[1].split("</section>")[0]
    moments = re.findall(r'<tr data-moment="([^"]+)"', card)
    assert len(moments) == 16
    cells = re.findall(r'<tr data-moment="[^"]+"[^>]*>\s*<th scope="row">[^<]*</th><td>[^<]*</td>\s*'
                       r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', card)  # fmt: skip
    pain = [(-int(overdue), -int(open_)) for overdue, open_ in cells]
    assert len(pain) == 16 and pain == sorted(pain)
    assert pain[0] < (0, 0)  # the bill's issue (at least) is open
    assert "<svg" in card and 'aria-hidden="true"' in card
    weekly = page.text.split('id="weekly"')[1]
    assert "First bill" in weekly and "0.0 (3)" in weekly  # three CSAT 1 this week: 0 % of the scale
