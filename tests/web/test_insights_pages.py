"""The insights board, the board's flags, the experience-check page and the root cause on the confirm form."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.core.settings import Settings
from app.feedback.models import FeedbackItem
from app.insights import board_flags, metrics, root_causes
from app.insights.models import CheckTask
from app.insights.root_causes import RootCauseIn
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop import service as loop
from tests.web.helpers import csrf_of, ingest, issue_ids, sign_in


def _months() -> tuple[str, str]:
    """Mid-month instants in the last complete month and in the one before (the drop test's pair)."""
    start = utcnow().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (start - timedelta(days=20)).replace(day=15)
    return last.isoformat(), (last - timedelta(days=30)).replace(day=15).isoformat()


def _nps(engine: Engine) -> None:
    current, previous = _months()
    rows = []
    for when, mix in ((previous, [(10, 20), (8, 10), (2, 10)]), (current, [(10, 8), (7, 12), (0, 20)])):
        scores = [s for s, k in mix for _ in range(k)]
        rows += [
            {"source": "nps", "external_id": f"{when[:7]}-{n}", "text": "first box",
             "touchpoint": "first-box-nps", "persona": "family", "score": s, "scale": "nps",
             "occurred_at": when, "customer_ref": f"f{n}"}
            for n, s in enumerate(scores)
        ]  # fmt: skip
    ingest(engine, rows)


def test_the_insights_board_shows_drops_causes_metrics_and_the_caution(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    _nps(engine)
    with Session(engine) as session:
        journey = journeys.current(session)
        buy = (
            # The first issue made on the stage: without an order, the plan (and its index) would choose.
            session.execute(
                select(ExperienceIssue.id).where(ExperienceIssue.stage == "buy").order_by(ExperienceIssue.id)  # type: ignore[arg-type]
            )
            .scalars()
            .first()
        )  # type: ignore[arg-type]
        assert buy is not None
        root_causes.record(
            session, journey, buy, RootCauseIn(cause="system", sub_cause="web-app"), Actor("t"), utcnow()
        )
        point = metrics.PointIn(
            metric="checkout-success", at=utcnow() - timedelta(days=3), source="web", value=97.5
        )
        metrics.ingest(session, journey, [point], utcnow())
        session.commit()
    sign_in(web, web_settings, "vic")  # a viewer may read it
    page = web.get("/insights")
    assert page.status_code == 200, page.text
    html = page.text
    assert re.search(r'class="drop-flag" data-stage="onboard" data-persona="family"', html)
    assert re.search(r"25\.0 \(n=40, \w+ \d{4}\) → -30\.0 \(n=40, \w+ \d{4}\)", html)
    assert 'data-cause="system"' in html and "Buy (3)" in html
    assert 'data-metric="checkout-success"' in html and "97.5" in html
    assert "not as proof" in html  # the plain warning beside the correlation
    assert "never by raw counts" in html
    assert "<svg" in html  # charts, with their numbers in the same table
    board_flags.refresh(engine)  # the scheduled job that puts persona drops on the board
    board = web.get("/").text
    assert "Significant drop" in board and "Busy family: NPS" in board
    assert web.get("/insights?stage=nowhere").status_code == 404
    assert web.get("/insights?bucket=year").status_code == 422


def test_the_board_flags_an_overdue_experience_check(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    now = utcnow()
    with Session(engine) as session:
        session.add(
            CheckTask(
                check_key="promo-order",
                cycle_start=now - timedelta(days=20),
                person="maya",
                team="kitchen",
                assigned_at=now - timedelta(days=20),
                due_at=now - timedelta(days=13),
            )
        )
        session.commit()
    sign_in(web, web_settings, "tom")
    board = web.get("/").text
    assert "1 experience check overdue" in board
    assert (
        "Place an order with a promo code (Buy / Applying a promo code): Maya Cohen"
        in web.get("/insights").text
    )


def test_the_assignee_records_a_check_on_its_page(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    now = utcnow()
    with Session(engine) as session:
        task = CheckTask(check_key="return-box", cycle_start=now, person="kim", team="product",
                         assigned_at=now, due_at=now + timedelta(days=7))  # fmt: skip
        session.add(task)
        session.commit()
        task_id = task.id
    assert web.get(f"/checks/{task_id}", follow_redirects=False).status_code in (303, 307)  # sign in first
    sign_in(web, web_settings, "tom")
    assert web.get(f"/checks/{task_id}").status_code == 403  # someone else's check
    web.cookies.clear()
    sign_in(web, web_settings, "kim")
    page = web.get(f"/checks/{task_id}")
    assert page.status_code == 200 and "Ask for a refund on a damaged box" in page.text
    done = web.post(
        f"/checks/{task_id}",
        data={"csrf": csrf_of(page.text), "score": "2", "notes": "The refund form lost my order number"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert "Recorded" in web.get(f"/checks/{task_id}").text
    with Session(engine) as session:
        item = session.execute(select(FeedbackItem).where(FeedbackItem.staff.is_(True))).scalar_one()  # type: ignore[arg-type]
    assert (item.stage, item.moment, item.score, item.source) == ("get-help", "refund", 2.0, "staff")
    assert item.issue_id is not None


def test_the_confirm_form_asks_for_the_root_cause(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "tom")
    first, _ = issue_ids(web)
    now = utcnow()
    with Session(engine) as session:
        loop.move(session, first, "fixing", None, Actor("t"), now)
        loop.move(session, first, "fix_shipped", "shipped", Actor("t"), now)
        session.commit()
    page = web.get(f"/issues/{first}")
    assert 'name="root_cause"' in page.text and 'value="system/payments"' in page.text
    csrf = csrf_of(page.text)
    refused = web.post(f"/issues/{first}/confirm", data={"csrf": csrf, "reason": "checked"})
    assert refused.status_code == 422 and "root cause" in refused.text
    ok = web.post(
        f"/issues/{first}/confirm",
        data={"csrf": csrf, "reason": "checked", "root_cause": "system/web-app"},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    with Session(engine) as session:
        cause = root_causes.of_issues(session, [first])[first]
    assert (cause.cause, cause.sub_cause) == ("system", "web-app")
