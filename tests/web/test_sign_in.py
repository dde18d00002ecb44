"""Sign-in by one-time email link; sessions; CSRF; sign-out."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.core.settings import Settings
from app.outbox.models import OutboxMessage
from app.people import service as people
from app.people.models import AuditEntry
from tests.web.helpers import csrf_of, sign_in


def _emails(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(
            session.execute(select(OutboxMessage).where(col(OutboxMessage.kind) == "email")).scalars()
        )


def test_pages_ask_to_sign_in_first(web: TestClient) -> None:
    resp = web.get("/issues/1?x=1", follow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/sign-in?next=%2Fissues%2F1%3Fx%3D1"


def test_the_sign_in_form_emails_a_link_and_tells_nobody_who_is_known(
    web: TestClient, engine: Engine
) -> None:
    form = web.get("/sign-in")
    known = web.post("/sign-in", data={"email": "KIM.lee@boxwise.example", "csrf": csrf_of(form.text)})
    unknown = web.post("/sign-in", data={"email": "eve@evil.example", "csrf": csrf_of(form.text)})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    (mail,) = _emails(engine)
    assert mail.payload["to_email"] == "kim.lee@boxwise.example"
    link = re.search(r"http://\S+/sign-in/link\?token=\S+", mail.payload["text"])
    assert link and "15 minutes" in mail.payload["text"]


def test_a_link_signs_in_once_and_only_on_the_button(web: TestClient, web_settings: Settings) -> None:
    link = people.sign_in_link(web_settings.secret_key.get_secret_value(), "", "kim", utcnow())
    for _ in range(3):  # a mail scanner following the link spends nothing
        assert "Sign in as Kim Lee" in web.get(link).text
    page = web.get(link)
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    data = {"csrf": csrf_of(page.text), "token": token.group(1)}
    first = web.post("/sign-in/link", data=data, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/"
    cookie = first.headers["set-cookie"]
    assert "seam_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the public URL is http here
    assert "Kim Lee" in web.get("/").text
    web.cookies.clear()
    web.get(link)  # a fresh CSRF cookie
    again = web.post("/sign-in/link", data={**data, "csrf": web.cookies["seam_csrf"]})
    assert again.status_code == 400 and "already used" in again.text
    assert "already used" in web.get(link).text


def test_an_expired_or_forged_link_is_refused(web: TestClient, web_settings: Settings) -> None:
    secret = web_settings.secret_key.get_secret_value()
    old = people.sign_in_link(secret, "", "kim", utcnow() - timedelta(minutes=16))
    resp = web.get(old)
    assert resp.status_code == 400 and "expired" in resp.text
    forged = people.sign_in_link("another-secret", "", "kim", utcnow())
    assert web.get(forged).status_code == 400


def test_session_cookie_is_secure_behind_https(engine: Engine, seeded: object) -> None:
    from app.main import create_app
    from tests.support.api import settings_for

    settings = settings_for(engine, public_url="https://seam.example")
    with TestClient(create_app(settings, engine), base_url="https://testserver") as client:
        link = people.sign_in_link(settings.secret_key.get_secret_value(), "", "kim", utcnow())
        page = client.get(link)
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert token
        resp = client.post(
            "/sign-in/link",
            data={"csrf": csrf_of(page.text), "token": token.group(1)},
            follow_redirects=False,
        )
        assert "Secure" in resp.headers["set-cookie"]


def test_forms_without_their_csrf_token_change_nothing(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "tom")
    issue = re.search(r'data-issue="(\d+)"', web.get("/").text)
    assert issue
    for data in ({}, {"csrf": "forged"}):
        resp = web.post(f"/issues/{issue.group(1)}/acknowledge", data=data)
        assert resp.status_code == 403 and "did not come from Seam" in resp.text
    assert "<dt>Acknowledged</dt><dd>not yet</dd>" in web.get(f"/issues/{issue.group(1)}").text
    with Session(engine) as session:
        refused = session.execute(select(AuditEntry).where(col(AuditEntry.action) == "csrf")).scalars().all()
    assert [a.actor for a in refused] == ["person:tom", "person:tom"]


def test_sign_out_ends_the_session(web: TestClient, web_settings: Settings) -> None:
    sign_in(web, web_settings, "tom")
    page = web.get("/")
    resp = web.post("/sign-out", data={"csrf": csrf_of(page.text)}, follow_redirects=False)
    assert resp.status_code == 303
    assert web.get("/", follow_redirects=False).status_code == 303


def test_next_page_survives_the_sign_in(web: TestClient, engine: Engine) -> None:
    form = web.get("/sign-in?next=/triage")
    web.post(
        "/sign-in",
        data={"email": "dana.okafor@boxwise.example", "csrf": csrf_of(form.text), "next": "/triage"},
    )
    link = re.search(r"http://[^/\s]+(/sign-in/link\?token=\S+)", _emails(engine)[0].payload["text"])
    assert link
    page = web.get(link.group(1))
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    assert token
    resp = web.post(
        "/sign-in/link", data={"csrf": csrf_of(page.text), "token": token.group(1)}, follow_redirects=False
    )
    assert resp.headers["location"] == "/triage"
