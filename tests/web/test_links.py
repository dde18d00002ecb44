"""The links a reminder carries: a client that only GETs (a mail scanner) changes nothing; a person who
confirms acts once. And the curation API operations."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.issues.models import ExperienceIssue, IssueEvent
from app.loop.models import LoopAction
from app.main import create_app
from app.outbox.models import OutboxMessage
from tests.integration.loop.conftest import apply_journey, tick
from tests.support.api import auth, make_key, settings_for
from tests.web.helpers import csrf_of, ingest, item


def _reminder_links(engine: Engine) -> tuple[int, dict[str, str]]:
    apply_journey(engine)
    ingest(
        engine,
        [item(i, "Invoice was wrong", touchpoint="invoice-email", score=1, scale="csat") for i in range(2)],
    )
    with Session(engine) as session:
        (issue,) = session.execute(select(ExperienceIssue)).scalars().all()
    assert issue.id is not None
    tick(engine, "loop.reminders", issue.created_at + timedelta(days=4, minutes=5))
    with Session(engine) as session:
        (mail,) = (
            session.execute(select(OutboxMessage).where(col(OutboxMessage.kind) == "email")).scalars().all()
        )
    text = mail.payload["text"]
    links = dict(
        re.findall(r"^(Acknowledge it|Snooze it for a week|Open the issue in Seam): (\S+)$", text, re.M)
    )
    assert len(links) == 3, text
    assert f'href="{links["Acknowledge it"]}"' in mail.payload["html"]
    return issue.id, {k: v.split("://", 1)[1].split("/", 1)[1] for k, v in links.items()}


def _state(engine: Engine, issue_id: int) -> tuple[str, list[str], list[str]]:
    with Session(engine) as session:
        issue = session.get(ExperienceIssue, issue_id)
        assert issue is not None
        acts = [a.kind for a in session.execute(select(LoopAction)).scalars()]
        events = [e.kind for e in session.execute(select(IssueEvent).order_by(col(IssueEvent.id))).scalars()]
    return issue.status, acts, events


def test_following_a_reminders_links_with_get_only_changes_nothing(engine: Engine) -> None:
    issue_id, links = _reminder_links(engine)
    before = _state(engine, issue_id)
    with TestClient(create_app(settings_for(engine), engine)) as scanner:
        for _ in range(2):
            for path in links.values():
                assert scanner.get("/" + path).status_code == 200
    assert _state(engine, issue_id) == before
    assert before[0] == "open" and before[1] == []


def test_a_person_who_confirms_a_link_acts_once_as_themselves(engine: Engine) -> None:
    issue_id, links = _reminder_links(engine)
    with TestClient(create_app(settings_for(engine), engine)) as person:
        page = person.get("/" + links["Acknowledge it"])
        assert "Acknowledge EI-" in page.text and "As Ravi Menon" in page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert token
        data = {"csrf": csrf_of(page.text), "token": token.group(1)}
        assert person.post("/act", data={"token": token.group(1)}).status_code == 403  # no CSRF token
        assert "Acknowledged" in person.post("/act", data=data).text
        again = person.post("/act", data=data)
        assert again.status_code == 400 and "already used" in again.text
        snooze = person.get("/" + links["Snooze it for a week"])
        token = re.search(r'name="token" value="([^"]+)"', snooze.text)
        assert token
        person.post("/act", data={"csrf": csrf_of(snooze.text), "token": token.group(1)})
        # The link names one issue: tampering breaks the signature.
        assert person.get("/" + links["Acknowledge it"][:-3] + "abc").status_code == 400
    status, acts, _ = _state(engine, issue_id)
    assert status == "acknowledged" and acts == ["ack", "snooze"]
    with Session(engine) as session:
        actors = session.execute(
            select(IssueEvent.actor).where(col(IssueEvent.kind).in_(["acknowledged", "snoozed"]))
        ).scalars()
        assert sorted(actors) == ["person:ravi", "person:ravi"]


def test_curation_api_operations(engine: Engine) -> None:
    from tests.web.helpers import apply_journey as apply_web_journey
    from tests.web.helpers import seed

    apply_web_journey(engine)
    triage = seed(engine)["triage"]
    with TestClient(create_app(settings_for(engine), engine)) as api:
        manage, admin = auth(make_key(engine, ["manage"])), auth(make_key(engine, ["admin"]))
        issue = api.get("/api/v1/issues", headers=manage).json()["items"][0]["id"]
        resp = api.patch(f"/api/v1/issues/{issue}", json={"title": "  Pay   freezes "}, headers=manage)
        assert resp.status_code == 200 and resp.json()["title"] == "Pay freezes"
        refused = api.patch(f"/api/v1/issues/{issue}", json={"owner": "lee"}, headers=manage)
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
        assert (
            api.patch(f"/api/v1/issues/{issue}", json={"owner": "lee"}, headers=admin).json()["owner"]
            == "lee"
        )
        assert (
            api.patch(f"/api/v1/issues/{issue}", json={"owner": "nobody"}, headers=admin).status_code == 422
        )
        note = api.post(f"/api/v1/issues/{issue}/comments", json={"text": "on it"}, headers=manage)
        assert (
            note.status_code == 201 and note.json()["kind"] == "comment" and note.json()["reason"] == "on it"
        )
        bad = api.post("/api/v1/triage/bulk", json={"items": triage, "stage": "nowhere"}, headers=manage)
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "items[0]"
        done = api.post("/api/v1/triage/bulk", json={"items": triage, "stage": "use"}, headers=manage)
        assert done.status_code == 200 and {i["state"] for i in done.json()["items"]} == {"placed"}
        assert api.get("/api/v1/triage", headers=manage).json()["items"] == []
