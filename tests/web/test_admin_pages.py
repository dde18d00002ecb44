"""The operations page: the CX lead sends failed deliveries again and makes and revokes API keys from a
browser; everyone else is refused, and every change is audited."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import Session, col

from app.auth import service as keys
from app.auth.models import ApiKeyEvent
from app.core.settings import Settings
from app.outbox import service as outbox
from app.outbox.models import OutboxMessage
from tests.web.helpers import csrf_of, sign_in


def _dead_message(engine: Engine) -> int:
    with Session(engine) as session:
        assert outbox.enqueue(session, "email", "admin-page-test", {"to": "x@example.com"})
        stmt = select(OutboxMessage.id).where(col(OutboxMessage.dedupe_key) == "admin-page-test")
        message_id = int(session.execute(stmt).scalar_one())
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(state="dead", attempts=5, last_error="SMTP 554 relay refused")
        )
        session.commit()
        return message_id


def _state(engine: Engine, message_id: int) -> tuple[str, int]:
    with Session(engine) as session:
        row = session.get(OutboxMessage, message_id)
        assert row is not None
        return row.state, row.attempts


def _key_events(engine: Engine, key_id: int) -> list[tuple[str, str]]:
    with Session(engine) as session:
        stmt = select(ApiKeyEvent).where(col(ApiKeyEvent.key_id) == key_id).order_by(col(ApiKeyEvent.id))
        return [(e.action, e.actor) for e in session.execute(stmt).scalars()]


def test_the_cx_lead_sends_a_failed_delivery_again(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    message_id = _dead_message(engine)
    sign_in(web, web_settings, "dana")
    board = web.get("/").text
    assert '<a href="/admin">Operations</a>' in board
    html = web.get("/admin").text
    assert f'data-message="{message_id}"' in html
    assert "SMTP 554 relay refused" in html and "1 failed" in html
    sent = web.post(f"/admin/outbox/{message_id}/retry", data={"csrf": csrf_of(html)}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/admin?done=retried"
    assert _state(engine, message_id) == ("pending", 0)
    after = web.get(sent.headers["location"]).text
    assert "Sent again" in after and f'data-message="{message_id}"' not in after and "0 failed" in after
    # A message that is no longer dead cannot be sent again: a clear refusal, nothing changed.
    again = web.post(f"/admin/outbox/{message_id}/retry", data={"csrf": csrf_of(after)})
    assert again.status_code == 409 and "Only dead messages can be retried" in again.text
    assert _state(engine, message_id) == ("pending", 0)


def test_the_cx_lead_makes_a_key_that_works_then_revokes_it(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "dana")
    html = web.get("/admin").text
    made = web.post(
        "/admin/keys",
        data={
            "csrf": csrf_of(html),
            "name": "Survey wave",
            "scopes": ["read", "ingest"],
            "expires_in_days": "30",
        },
    )
    assert made.status_code == 200, made.text
    found = re.search(r'id="new-key-token">(seam_[^<]+)<', made.text)
    assert found, "the new key is shown once"
    token = found.group(1)
    assert web.get("/api/v1/issues", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    # Shown on that answer only.
    assert token not in web.get("/admin").text
    with Session(engine) as session:
        row = keys.find(session, token[: keys.PREFIX_LEN])
        assert row.scopes == ["ingest", "read"] and row.expires_at is not None
        key_id = int(row.id or 0)
    revoked = web.post(
        f"/admin/keys/{key_id}/revoke", data={"csrf": csrf_of(made.text)}, follow_redirects=False
    )
    assert revoked.status_code == 303 and revoked.headers["location"] == "/admin?done=revoked"
    assert web.get("/api/v1/issues", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _key_events(engine, key_id) == [("created", "person:dana"), ("revoked", "person:dana")]
    listed = web.get("/admin?done=revoked").text
    assert "Key revoked" in listed
    assert re.search(rf'data-key="{key_id}" class="revoked"', listed)


def test_a_key_with_an_unknown_scope_is_refused_and_nothing_is_made(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "dana")
    html = web.get("/admin").text
    with Session(engine) as session:
        before = len(keys.list_keys(session))
    resp = web.post("/admin/keys", data={"csrf": csrf_of(html), "name": "x", "scopes": ["root"]})
    assert resp.status_code == 422 and "Unknown or missing scopes" in resp.text
    with Session(engine) as session:
        assert len(keys.list_keys(session)) == before


def test_only_the_cx_lead_runs_operations(web: TestClient, web_settings: Settings, engine: Engine) -> None:
    message_id = _dead_message(engine)
    sign_in(web, web_settings, "tom")
    board = web.get("/").text
    assert 'href="/admin"' not in board
    assert web.get("/admin").status_code == 403
    refused = web.post(f"/admin/outbox/{message_id}/retry", data={"csrf": csrf_of(board)})
    assert refused.status_code == 403
    assert _state(engine, message_id) == ("dead", 5)


def test_a_form_without_its_csrf_token_changes_nothing(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    message_id = _dead_message(engine)
    sign_in(web, web_settings, "dana")
    resp = web.post(f"/admin/outbox/{message_id}/retry", data={"csrf": "forged"})
    assert resp.status_code == 403
    assert _state(engine, message_id) == ("dead", 5)


def test_signed_out_the_page_asks_to_sign_in(web: TestClient) -> None:
    resp = web.get("/admin", follow_redirects=False)
    assert resp.status_code in (302, 303) and "/sign-in" in resp.headers["location"]
