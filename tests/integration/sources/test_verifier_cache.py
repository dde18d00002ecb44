"""The decrypted secret is cached per stored value: a changed secret, or a disabled source, takes effect
on the very next delivery."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from app.sources import receiver
from tests.support.api import auth

from .helpers import create_source, deliver, example_bytes, sign

BODY = example_bytes("typeform_form_response.json")
NEW_SECRET = "tf_rotated_secret_91c0"


def _body(event_id: str) -> bytes:
    doc = json.loads(BODY)
    doc["event_id"] = event_id
    return json.dumps(doc).encode()


def _patch(client: TestClient, key: str, source_id: int, **fields: object) -> None:
    resp = client.patch(f"/api/v1/sources/{source_id}", json=fields, headers=auth(key))
    assert resp.status_code == 200, resp.text


def test_a_changed_secret_takes_effect_on_the_next_delivery(
    journey_client: TestClient, admin_key: str
) -> None:
    source = create_source(journey_client, admin_key, "typeform")
    assert deliver(journey_client, source, _body("e1")).status_code == 202
    _patch(journey_client, admin_key, source["id"], secret=NEW_SECRET)
    old = _body("e2")
    assert deliver(journey_client, source, old, sign("typeform", old)).status_code == 401
    new = _body("e3")
    assert deliver(journey_client, source, new, sign("typeform", new, secret=NEW_SECRET)).status_code == 202


def test_a_delivery_signed_with_a_secret_newer_than_the_held_one_is_accepted(
    journey_client: TestClient, admin_key: str
) -> None:
    """The held verifier has the old secret when the new one signs (set through another replica, say):
    the mismatch sends the delivery the whole way, and the stored secret accepts it."""
    source = create_source(journey_client, admin_key, "typeform")
    assert deliver(journey_client, source, _body("e1")).status_code == 202
    _patch(journey_client, admin_key, source["id"], secret=NEW_SECRET)
    new = _body("e2")
    assert deliver(journey_client, source, new, sign("typeform", new, secret=NEW_SECRET)).status_code == 202
    again = _body("e3")
    assert deliver(journey_client, source, again, sign("typeform", again)).status_code == 401


def test_a_disabled_source_refuses_at_once_though_its_secret_is_cached(
    journey_client: TestClient, admin_key: str
) -> None:
    source = create_source(journey_client, admin_key, "typeform")
    assert deliver(journey_client, source, _body("e1")).status_code == 202
    _patch(journey_client, admin_key, source["id"], enabled=False)
    # Refused like any bad delivery: a disabled source's URL tells nothing more than an unknown one's.
    assert deliver(journey_client, source, _body("e2")).status_code == 401


def test_deliveries_reuse_the_decrypted_secret(journey_client: TestClient, admin_key: str) -> None:
    source = create_source(journey_client, admin_key, "typeform")
    before = receiver._opened.cache_info()
    for i in range(3):
        assert deliver(journey_client, source, _body(f"e{i}")).status_code == 202
    after = receiver._opened.cache_info()
    # Decrypted once; the later deliveries verify against the Verifier held since, decrypting nothing.
    assert after.misses - before.misses == 1 and after.hits - before.hits == 0


def test_a_held_verifier_acknowledges_in_the_store_statements_alone(
    journey_client: TestClient, admin_key: str
) -> None:
    """No read before the write: PostgreSQL runs one statement per acknowledgement, SQLite its two
    inserts; a retry of the same delivery is its inbox insert (which stores nothing) and one query, to
    tell it from a source that changed."""
    source = create_source(journey_client, admin_key, "typeform")
    assert deliver(journey_client, source, _body("e0")).status_code == 202
    engine = journey_client.app.state.engine  # type: ignore[attr-defined]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Transaction control and the pool's liveness ping are no statements of the acknowledgement.
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SELECT 1")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert deliver(journey_client, source, _body("e1")).status_code == 202
        first = list(seen)
        seen.clear()
        assert deliver(journey_client, source, _body("e1")).status_code == 200
        retry = list(seen)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    writes = 1 if engine.dialect.name == "postgresql" else 2
    assert len(first) == writes and all(s.lstrip().upper().startswith(("INSERT", "WITH")) for s in first)
    assert len(retry) == 2 and retry[1].lstrip().upper().startswith("SELECT EXISTS")


def test_acknowledgements_are_answered_directly_at_the_documented_paths(client: TestClient) -> None:
    """The direct routes (past FastAPI's routing) stand for endpoints the OpenAPI document describes,
    with the same method, so the document stays true of what answers."""
    from app.core.direct_routes import DirectRoutes

    installed = [m for m in client.app.user_middleware if m.cls is DirectRoutes]  # type: ignore[attr-defined]
    assert len(installed) == 1 and installed[0].kwargs["routes"] == receiver.DIRECT_ROUTES
    paths = client.get("/openapi.json").json()["paths"]
    for route in receiver.DIRECT_ROUTES:
        assert route.method.lower() in paths[route.template], route.template


def test_ids_and_tokens_the_endpoints_refuse_get_the_routed_answer(client: TestClient) -> None:
    """A path the direct route matches but whose id or token is out of the endpoint's bounds is not
    answered directly: it gets the endpoint's own validation answer, as before."""
    for path in ("/webhooks/0", f"/webhooks/{2**31}", "/webhooks/1" + "0" * 5000, "/webhooks/1/" + "t" * 201):
        resp = client.post(path, content=b"{}")
        assert resp.status_code in (404, 422), (path[:40], resp.status_code)
        assert resp.headers["content-type"].startswith("application/problem+json")
