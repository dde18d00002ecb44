"""Triage into an existing issue: a stage owner who knows where items belong puts them in that issue."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from app.core.settings import Settings
from app.feedback.models import FeedbackItem
from app.issues.models import ExperienceIssue, IssueEvent
from app.routing.models import RoutingConfirmation
from tests.support.api import auth, make_key
from tests.web.helpers import csrf_of, sign_in


def _issue(engine: Engine, words: str) -> ExperienceIssue:
    with Session(engine) as session:
        rows = session.execute(select(ExperienceIssue).order_by(col(ExperienceIssue.id))).scalars()
        return next(i for i in rows if words in i.title.lower())


def _item(engine: Engine, item_id: int) -> FeedbackItem:
    with Session(engine) as session:
        row = session.get(FeedbackItem, item_id)
        assert row is not None
        return row


def test_a_stage_owner_puts_triage_items_into_an_issue(
    web: TestClient, web_settings: Settings, engine: Engine, seeded: dict[str, list[int]]
) -> None:
    checkout = _issue(engine, "checkout")
    sign_in(web, web_settings, "tom")
    html = web.get("/triage").text
    assert f'value="issue:{checkout.id}"' in html
    chosen = seeded["triage"][:2]
    done = web.post(
        "/triage",
        data={
            "csrf": csrf_of(html),
            "target": f"issue:{checkout.id}",
            "items": chosen,
            "reason": "same freeze",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/triage?placed=2"
    for item_id in chosen:
        row = _item(engine, item_id)
        assert (row.state, row.stage, row.issue_id) == ("placed", "buy", checkout.id)
        assert row.placement["grouping"] == {"method": "person", "issue_id": checkout.id}
    with Session(engine) as session:
        issue = session.get(ExperienceIssue, checkout.id)
        assert issue is not None and issue.item_count == checkout.item_count + 2
        added = session.execute(
            select(IssueEvent).where(
                col(IssueEvent.issue_id) == checkout.id, col(IssueEvent.kind) == "item_added"
            )
        ).scalars()
        assert sorted((e.actor, e.reason) for e in added)[-2:] == [("person:tom", "same freeze")] * 2
        taught = session.execute(select(RoutingConfirmation.item_id, RoutingConfirmation.stage)).all()
        assert {(i, "buy") for i in chosen} <= set(taught)
    # Already there: a clear refusal, nothing moves.
    again = web.post(
        "/triage", data={"csrf": csrf_of(html), "target": f"issue:{checkout.id}", "items": chosen[0]}
    )
    assert again.status_code == 409


def test_refusals_change_nothing(
    web: TestClient, web_settings: Settings, engine: Engine, seeded: dict[str, list[int]]
) -> None:
    checkout = _issue(engine, "checkout")
    loose = seeded["triage"][0]
    sign_in(web, web_settings, "ravi")  # owns Pay, not Buy
    html = web.get("/triage").text
    assert f'value="issue:{checkout.id}"' not in html
    refused = web.post(
        "/triage", data={"csrf": csrf_of(html), "target": f"issue:{checkout.id}", "items": loose}
    )
    assert refused.status_code == 403
    sign_in(web, web_settings, "tom")
    html = web.get("/triage").text
    for target, status in (("issue:99999999999", 403), ("issue:424242", 404)):
        resp = web.post("/triage", data={"csrf": csrf_of(html), "target": target, "items": loose})
        assert resp.status_code == status, (target, resp.text[:300])
    with Session(engine) as session:
        session.execute(
            update(ExperienceIssue).where(col(ExperienceIssue.id) == checkout.id).values(status="merged")
        )
        session.commit()
    closed = web.post(
        "/triage", data={"csrf": csrf_of(html), "target": f"issue:{checkout.id}", "items": loose}
    )
    assert closed.status_code == 409 and "takes no items" in closed.text
    assert _item(engine, loose).state == "triage"


def test_the_api_puts_items_into_an_issue(
    web: TestClient, engine: Engine, seeded: dict[str, list[int]]
) -> None:
    promo = _issue(engine, "promo")
    manage = auth(make_key(engine, ["manage"]))
    items = seeded["triage"][2:4]
    for body in ({"items": items}, {"items": items, "stage": "buy", "issue": promo.id}):
        refused = web.post("/api/v1/triage/bulk", json=body, headers=manage)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "stage"
    done = web.post("/api/v1/triage/bulk", json={"items": items, "issue": promo.id}, headers=manage)
    assert done.status_code == 200, done.text
    assert {(i["issue_id"], i["stage"]) for i in done.json()["items"]} == {(promo.id, "buy")}
