"""One-click "did this fix it for you?" links that work forever and for anything.

Before: the link was an HMAC of the notice id alone, valid for ever, and any other token signed the
same way would have answered the question. Now it is signed with its purpose and an expiry
(`SEAM_CUSTOMER_LINK_DAYS`, 30 days): another purpose gets 404, an expired link 410 saying so."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from sqlmodel import Session, col

from app.core.clock import utcnow
from app.issues.models import ExperienceIssue
from app.loop import answer_links
from app.loop.models import CustomerNotice
from app.main import create_app
from tests.support.api import TEST_SECRET, auth, settings_for

ITEM = {
    "source": "survey",
    "external_id": "link-1",
    "text": "Charged twice on my first bill",
    "score": 2,
    "scale": "nps",
    "touchpoint": "invoice-email",
    "customer_ref": "cust-link",
}


def _notice(journey_client: TestClient, admin_key: str, engine: Engine) -> int:
    resp = journey_client.post("/api/v1/feedback", json=ITEM, headers=auth(admin_key))
    assert resp.status_code == 201, resp.text
    with Session(engine) as session:
        issue_id = session.execute(select(col(ExperienceIssue.id))).scalar_one()
        row = session.execute(
            insert(CustomerNotice)
            .values(
                customer_ref="cust-link",
                issue_id=issue_id,
                channel="email",
                address="cust@example.org",
                sent_at=utcnow(),
            )
            .returning(col(CustomerNotice.id))
        ).scalar_one()
        session.commit()
    return int(row)


def _answer(client: TestClient, token: str) -> int:
    page = client.get(f"/feedback/fixed/{token}", params={"answer": "yes"})
    if page.status_code != 200:
        return page.status_code
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    return client.post(f"/feedback/fixed/{token}", data={"answer": "yes", "csrf": csrf.group(1)}).status_code


def test_a_valid_link_still_answers(journey_client: TestClient, admin_key: str, engine: Engine) -> None:
    notice_id = _notice(journey_client, admin_key, engine)
    token = answer_links.token_for(notice_id, TEST_SECRET, utcnow() + timedelta(days=30))
    with TestClient(create_app(settings_for(engine), engine)) as client:
        assert _answer(client, token) == 200
    with Session(engine) as session:
        notice = session.get(CustomerNotice, notice_id)
        assert notice is not None and notice.answer == "yes"


def test_a_link_made_for_another_purpose_is_404(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    notice_id = _notice(journey_client, admin_key, engine)
    later = utcnow() + timedelta(days=30)
    other = answer_links.token_for(notice_id, TEST_SECRET, later, purpose="unsubscribe")
    with TestClient(create_app(settings_for(engine), engine)) as client:
        assert _answer(client, other) == 404
        # The old form (the notice id and a signature of it alone) is not accepted either.
        old = f"{notice_id}.{answer_links.token_for(notice_id, TEST_SECRET, later).rsplit('.', 1)[1]}"
        assert _answer(client, old) == 404


def test_an_expired_link_is_410_and_says_so(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    notice_id = _notice(journey_client, admin_key, engine)
    token = answer_links.token_for(notice_id, TEST_SECRET, utcnow() - timedelta(minutes=1))
    with TestClient(create_app(settings_for(engine), engine)) as client:
        page = client.get(f"/feedback/fixed/{token}")
        assert page.status_code == 410
        assert "expired" in page.text
        # Nor can the button of a page opened before it expired answer.
        csrf = client.get("/sign-in")
        match = re.search(r'name="csrf" value="([^"]+)"', csrf.text)
        assert match is not None
        posted = client.post(f"/feedback/fixed/{token}", data={"answer": "yes", "csrf": match.group(1)})
        assert posted.status_code == 410
    with Session(engine) as session:
        notice = session.get(CustomerNotice, notice_id)
        assert notice is not None and notice.answer is None


def test_notices_carry_links_that_expire_after_the_setting(engine: Engine) -> None:
    settings = settings_for(engine, customer_link_days=7)
    now = utcnow()
    token = answer_links.token_for(1, TEST_SECRET, answer_links.expiry(settings, now))
    assert answer_links.read(token, TEST_SECRET, now + timedelta(days=6)) == 1
    assert answer_links.read(token, TEST_SECRET, now + timedelta(days=8)) == answer_links.EXPIRED
