"""The board, the issue page and its actions, roles and refusals, the triage queue, the docs."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.settings import Settings
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey import service as journeys
from app.people.models import AuditEntry
from tests.web.helpers import csrf_of, ingest, issue_ids, item, journey_with_viewer, sign_in


def _events(engine: Engine, issue_id: int) -> list[IssueEvent]:
    with Session(engine) as session:
        stmt = select(IssueEvent).where(col(IssueEvent.issue_id) == issue_id).order_by(col(IssueEvent.id))
        return list(session.execute(stmt).scalars())


def test_the_board_has_a_column_per_stage_in_journey_order(web: TestClient, web_settings: Settings) -> None:
    sign_in(web, web_settings, "tom")
    html = web.get("/").text
    stages = re.findall(r'data-stage="([a-z-]+)"', html)
    assert stages == ["discover", "buy", "onboard", "use", "pay", "get-help", "renew"]
    assert "Owner: Tom Becker" in html and len(issue_ids(web)) == 2
    assert issue_ids(web) == [int(i) for i in re.findall(r'data-issue="(\d+)"', web.get("/?stage=buy").text)]
    assert issue_ids_of(web, "/?persona=family") == []
    assert issue_ids_of(web, "/?source=staff") == []
    assert len(issue_ids_of(web, "/?source=customers&team=billing")) == 2
    assert web.get("/?source=robots").status_code == 422
    # The digests' links land on the board, filtered.
    assert web.get("/issues?team=web", follow_redirects=False).headers["location"] == "/?team=web"


def issue_ids_of(client: TestClient, path: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-issue="(\d+)"', client.get(path).text)]


def test_an_owner_acknowledges_snoozes_moves_renames_and_comments(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "tom")
    first, second = issue_ids(web)
    page = web.get(f"/issues/{first}")
    assert page.status_code == 200 and "Evidence" in page.text and "The checkout page froze" in page.text
    assert "Why here: came through touchpoint" in page.text
    csrf = csrf_of(page.text)
    resp = web.post(f"/issues/{first}/acknowledge", data={"csrf": csrf})
    assert "Acknowledged: the reminders so far are settled." in resp.text
    until = (date.today() + timedelta(days=5)).isoformat()
    resp = web.post(
        f"/issues/{second}/snooze", data={"csrf": csrf, "until": until, "reason": "waiting on PSP"}
    )
    assert "Snoozed" in resp.text and "waiting on PSP" in resp.text
    web.post(f"/issues/{first}/transition", data={"csrf": csrf, "to": "fixing"})
    web.post(f"/issues/{first}/title", data={"csrf": csrf, "title": "Checkout freezes on pay"})
    web.post(f"/issues/{first}/comment", data={"csrf": csrf, "text": "PSP timeout, fix next sprint"})
    kinds = [(e.kind, e.actor) for e in _events(engine, first)]
    assert ("acknowledged", "person:tom") in kinds and ("title_changed", "person:tom") in kinds
    assert ("comment", "person:tom") in kinds and ("transition", "person:tom") in kinds
    html = web.get(f"/issues/{first}").text
    assert "Checkout freezes on pay" in html and "PSP timeout" in html and "Tom Becker" in html
    # A move the lifecycle forbids re-renders the page with the reason, and changes nothing.
    bad = web.post(f"/issues/{first}/transition", data={"csrf": csrf, "to": "confirmed"})
    assert bad.status_code == 409 and "cannot move" in bad.text
    declined = web.post(f"/issues/{second}/decline", data={"csrf": csrf, "reason": ""})
    assert declined.status_code == 422


def test_a_viewer_or_a_team_member_is_refused_and_the_attempt_is_audited(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "vic")
    first = issue_ids(web)[0]
    page = web.get(f"/issues/{first}")
    assert page.status_code == 200 and 'id="acknowledge"' not in page.text
    resp = web.post(f"/issues/{first}/acknowledge", data={"csrf": csrf_of(page.text)})
    assert resp.status_code == 403 and "viewer" in resp.text
    resp = web.post(f"/issues/{first}/comment", data={"csrf": csrf_of(page.text), "text": "hi"})
    assert resp.status_code == 403
    web.cookies.clear()
    sign_in(web, web_settings, "ravi")  # Billing contributes to Buy: may comment, not act
    csrf = csrf_of(web.get(f"/issues/{first}").text)
    assert (
        web.post(f"/issues/{first}/comment", data={"csrf": csrf, "text": "billing looks fine"}).status_code
        == 200
    )
    assert web.post(f"/issues/{first}/owner", data={"csrf": csrf, "owner": "ravi"}).status_code == 403
    with Session(engine) as session:
        rows = session.execute(select(AuditEntry).where(col(AuditEntry.outcome) == "refused")).scalars().all()
        issue = session.get(ExperienceIssue, first)
    assert [(r.actor, r.action, r.target) for r in rows] == [
        ("person:vic", "acknowledge", f"EI-{first}"),
        ("person:vic", "comment", f"EI-{first}"),
        ("person:ravi", "owner", f"EI-{first}"),
    ]
    assert issue is not None and issue.status == "open" and issue.owner == "tom"


def test_the_cx_lead_hands_an_issue_to_another_owner(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "dana")
    first = issue_ids(web)[0]
    csrf = csrf_of(web.get(f"/issues/{first}").text)
    assert (
        "Handed to the new owner"
        in web.post(f"/issues/{first}/owner", data={"csrf": csrf, "owner": "lee"}).text
    )
    assert ("owner_changed", "person:dana") in [(e.kind, e.actor) for e in _events(engine, first)]
    # Lee owns no stage, but now owns this issue: they act on it, and on it only.
    web.cookies.clear()
    sign_in(web, web_settings, "lee")
    second = next(i for i in issue_ids(web) if i != first)
    csrf = csrf_of(web.get(f"/issues/{first}").text)
    assert "Acknowledged" in web.post(f"/issues/{first}/acknowledge", data={"csrf": csrf}).text
    assert web.post(f"/issues/{second}/acknowledge", data={"csrf": csrf}).status_code == 403


def test_the_cx_lead_places_five_items_at_once(
    web: TestClient, web_settings: Settings, seeded: dict[str, list[int]], engine: Engine
) -> None:
    sign_in(web, web_settings, "dana")
    queue = web.get("/triage")
    assert "5 items nobody could place" in queue.text
    data = {
        "csrf": csrf_of(queue.text),
        "target": "use/recipe",
        "items": seeded["triage"],
        "reason": "recipes",
    }
    resp = web.post("/triage", data=data)
    assert "Placed 5 items." in resp.text and "Nothing waits in triage" in resp.text
    web.cookies.clear()
    sign_in(web, web_settings, "tom")  # owns Buy, not Cook and eat
    csrf = csrf_of(web.get("/triage").text)
    assert web.post("/triage", data={"csrf": csrf, "target": "use", "items": [1]}).status_code == 403


def test_the_docs_are_served_without_a_cdn(web: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        html = web.get(path).text
        assert "cdn" not in html.lower() and "/static/docs/" in html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        assert web.get(f"/static/docs/{asset}").status_code == 200
    assert web.get("/static/seam.css").status_code == 200


def test_emerging_groups_are_counted_on_their_stage_but_are_nobodys_card_yet(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    data = journey_with_viewer()
    data["routing"]["evidence"] = {"items": 3, "customers": 2, "detractors": 0}
    with Session(engine) as session:
        journeys.apply(session, data, actor="test")
        session.commit()
    journeys._parsed.clear()
    ingest(engine, [item(40, "The pricing page hides the delivery fee", touchpoint="pricing-page")])
    sign_in(web, web_settings, "tom")
    html = web.get("/").text
    discover = html.split('data-stage="discover"', 1)[1].split("</section>", 1)[0]
    assert "1 emerging group, not yet issues" in discover
    with Session(engine) as session:
        found = session.execute(
            select(ExperienceIssue.status).where(col(ExperienceIssue.stage) == "discover")
        )
        assert list(found.scalars()) == ["emerging"]
    assert len(issue_ids(web)) == 2  # the two seeded Buy issues; the emerging group is no card
