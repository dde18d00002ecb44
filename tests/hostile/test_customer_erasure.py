"""A customer asks to be forgotten.

Before: Seam had no way to erase a customer; their reference, address and words sat in items, raw
webhook deliveries, stored API responses, emails in the outbox, notices and issue history. Now one
erasure anonymises their items (a keyed pseudonym, no text, no metadata, no contacts), recounts their
issues from the items that remain, and clears every other table, in one transaction; afterwards no
text, JSON or binary column of any table, found by reflecting the database, holds their reference,
their address or a phrase of theirs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import JSON, Engine, LargeBinary, MetaData, String, Text, select
from sqlmodel import Session

from app.issues.scores import is_detractor
from app.main import create_app
from app.outbox.models import OutboxMessage
from tests.integration.loop.conftest import Mailbox, Smtp, loop_settings
from tests.support.api import apply_example_journey, auth, make_key
from tests.support.customers import EMAIL, OTHER_EMAIL, OTHER_REF, PHRASE, REF, Seeded, deliver_survey, seed
from tests.support.net import free_port
from tests.support.outbox import drain


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Smtp(mailbox=mailbox, port=port)
    finally:
        controller.stop()


@pytest.fixture
def world(engine: Engine, smtp: Smtp) -> Iterator[tuple[TestClient, str, Seeded]]:
    settings = loop_settings(engine, smtp)
    with TestClient(create_app(settings, engine), raise_server_exceptions=False) as client:
        key = make_key(engine, ["admin"], "privacy-admin")
        apply_example_journey(client, key)
        yield client, key, seed(client, key, engine, settings, smtp.mailbox)


def _texts(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def scan(engine: Engine, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every stored value of every text, JSON or binary column that holds a
    needle, in every table the database has (reflected, not taken from our models)."""
    meta = MetaData()
    meta.reflect(engine)
    hits = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON | LargeBinary)]
            if not columns:
                continue
            for row in conn.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    text = _texts(value).lower()
                    hits += [(table.name, column.name, n) for n in needles if n.lower() in text]
    return hits


def _counts(engine: Engine) -> dict[int, tuple[int, int, int]]:
    """Per issue: (item_count, customer_count, detractor_count) as stored."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, item_count, customer_count, detractor_count FROM experience_issues"
        ).all()
    return {int(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def _from_items(engine: Engine) -> dict[int, tuple[int, int, int]]:
    """The same counts computed from the items that remain."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT issue_id, customer_ref, score, scale, staff FROM feedback_items"
            " WHERE issue_id IS NOT NULL"
        ).all()
    out: dict[int, tuple[int, int, int]] = {}
    for issue_id in {int(r[0]) for r in rows}:
        mine = [r for r in rows if int(r[0]) == issue_id]
        customers = {r[1] for r in mine if r[1] is not None}
        detractors = sum(1 for r in mine if not r[4] and is_detractor(r[2], r[3]))
        out[issue_id] = (len(mine), len(customers), detractors)
    return out


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {
            t.name: sorted((tuple(map(repr, r)) for r in conn.execute(select(t))), key=repr)
            for t in meta.sorted_tables
        }


def test_nothing_names_an_erased_customer_and_issues_still_add_up(
    world: tuple[TestClient, str, Seeded], engine: Engine, smtp: Smtp
) -> None:
    client, key, seeded = world
    # The seeding stored her everywhere the test can see: otherwise the scan below would prove nothing.
    before = scan(engine, [REF, EMAIL, PHRASE])
    tables = {t for t, _, _ in before}
    assert {"feedback_items", "inbound_deliveries", "idempotency_records", "customer_notices"} <= tables
    assert {"outbox_messages", "issue_customers"} <= tables
    counts_before = _counts(engine)
    assert counts_before[seeded.first_issue][:2] == (2, 2)

    resp = client.post("/api/v1/customers/erase", json={"customer_ref": REF}, headers=auth(key))
    assert resp.status_code == 200, resp.text
    report = resp.json()
    assert report["items"] == 3  # two of her own words and her answer to the notice
    assert report["found"] > report["items"]

    left = scan(engine, [REF, EMAIL, PHRASE])
    assert left == [], left
    # Stored counts are what the remaining items give, and the erased customer still counts once.
    assert _counts(engine) == _from_items(engine)
    assert _counts(engine)[seeded.first_issue][:2] == (2, 2)
    # The other customer is untouched.
    assert {t for t, _, _ in scan(engine, [OTHER_REF, OTHER_EMAIL])} >= {
        "feedback_items",
        "inbound_deliveries",
    }

    # The notice still queued for her second issue is cancelled, and never sent.
    with Session(engine) as session:
        states = [
            m.state for m in session.execute(select(OutboxMessage)).scalars() if m.payload == {"erased": True}
        ]
    assert "cancelled" in states
    sent_before = len(smtp.mailbox.to(EMAIL))
    drain(engine)
    assert len(smtp.mailbox.to(EMAIL)) == sent_before == 1

    # The vendor retrying the erased delivery gets "duplicate" and brings nothing of hers back.
    deliver_survey(
        client,
        seeded.source_id,
        external_id="resp-1",
        text=f"retried: {PHRASE}",
        ref=REF,
        email=EMAIL,
        msg_id="msg_mara_1",
        expect=200,
    )
    drain(engine)
    assert scan(engine, [REF, EMAIL, PHRASE]) == []


def test_a_second_erasure_finds_nothing_and_changes_nothing(
    world: tuple[TestClient, str, Seeded], engine: Engine
) -> None:
    client, key, _ = world
    first = client.post("/api/v1/customers/erase", json={"customer_ref": REF}, headers=auth(key))
    assert first.status_code == 200 and first.json()["found"] > 0
    snapshot = _dump(engine)
    again = client.post("/api/v1/customers/erase", json={"customer_ref": REF}, headers=auth(key))
    assert again.status_code == 200, again.text
    assert again.json() == {"found": 0, "items": 0, "tables": {}, "issues_recounted": []}
    assert _dump(engine) == snapshot


def test_the_erasure_is_audited_without_the_reference(
    world: tuple[TestClient, str, Seeded], engine: Engine
) -> None:
    client, key, _ = world
    assert (
        client.post("/api/v1/customers/erase", json={"customer_ref": REF}, headers=auth(key)).status_code
        == 200
    )
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT actor, action, target, detail FROM audit_log").all()
    (entry,) = [r for r in rows if r[1] == "customer.erase"]
    assert entry[0] == "key:privacy-admin" and entry[2].startswith("customer:")
    assert REF not in entry[2] and REF not in (entry[3] or "")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"customer_ref": ""}, "customer_ref"), ({"customer_ref": "   "}, "customer_ref"), ({}, "customer_ref")],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, admin_key: str, body: dict[str, Any], field: str
) -> None:
    for path in ("/api/v1/customers/erase", "/api/v1/customers/export"):
        resp = client.post(path, json=body, headers=auth(admin_key))
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in resp.json()["errors"]] == [field]


def test_only_admin_keys_export_or_erase(client: TestClient, engine: Engine) -> None:
    manager = make_key(engine, ["manage"], "manager")
    for path in ("/api/v1/customers/erase", "/api/v1/customers/export"):
        resp = client.post(path, json={"customer_ref": REF}, headers=auth(manager))
        assert resp.status_code == 403, resp.text
        assert client.post(path, json={"customer_ref": REF}).status_code == 401
