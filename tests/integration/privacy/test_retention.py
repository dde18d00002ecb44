"""Retention per source: items older than their source's `retention_days` (else SEAM_RETENTION_DAYS)
lose their text, metadata and contacts to the daily job; newer ones keep them, and figures hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from app.core.clock import utcnow
from app.feedback.models import FeedbackItem
from app.inbox.models import InboundDelivery
from app.issues.models import ExperienceIssue
from app.routing.models import ItemVector, RoutingConfirmation
from app.scheduler.registry import JobRun, SchedulerConfig
from app.wiring import job
from tests.support.api import auth, settings_for
from tests.support.customers import create_standard_source, deliver_survey, post_item
from tests.support.outbox import drain

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
INBOX = InboundDelivery.__table__  # type: ignore[attr-defined]


def _age(engine: Engine, external_id: str, days: int) -> None:
    """Moves an item (and the raw delivery it came in) `days` into the past."""
    at = utcnow() - timedelta(days=days)
    with Session(engine) as session:
        session.execute(update(ITEMS).where(ITEMS.c.external_id == external_id).values(received_at=at))
        session.execute(
            update(INBOX).where(INBOX.c.delivery_id == f"msg-{external_id}").values(received_at=at)
        )
        session.commit()


def _run(engine: Engine, **settings: Any) -> None:
    run = JobRun(
        engine=engine, settings=settings_for(engine, **settings), config=SchedulerConfig(), now=utcnow()
    )
    job("privacy.retention").fn(run)


def _items(engine: Engine) -> dict[str, FeedbackItem]:
    with Session(engine) as session:
        return {i.external_id: i for i in session.execute(select(FeedbackItem)).scalars()}


def _issue_counts(engine: Engine) -> list[tuple[int, int, int]]:
    with Session(engine) as session:
        rows = session.execute(select(ExperienceIssue)).scalars()
        return sorted((i.item_count, i.customer_count, i.detractor_count) for i in rows)


def _deliver(client: TestClient, source_id: int, external_id: str, ref: str) -> None:
    text = f"Charged twice on my first bill, said {ref} in answer {external_id}"
    deliver_survey(
        client,
        source_id,
        external_id=external_id,
        text=text,
        ref=ref,
        email=f"{ref}@example.org",
        msg_id=f"msg-{external_id}",
    )


def test_old_items_of_a_source_lose_their_words_and_new_ones_keep_them(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_standard_source(journey_client, admin_key, retention_days=30)
    assert source["retention_days"] == 30
    _deliver(journey_client, source["id"], "old", "cus-a")
    _deliver(journey_client, source["id"], "new", "cus-b")
    drain(engine)
    _age(engine, "old", 31)
    _age(engine, "new", 29)
    counts = _issue_counts(engine)

    _run(engine)

    items = _items(engine)
    old, new = items["old"], items["new"]
    assert old.text is None and old.redacted == "retention" and old.redacted_at is not None
    assert old.extra == {"source_id": source["id"], "source_kind": "standard"}  # no email, no page, no tool
    assert (old.score, old.scale, old.customer_ref, old.stage) == (1, "csat", "cus-a", "pay")
    assert new.text is not None and "cus-b" in new.text and new.redacted is None
    assert new.extra["customer_email"] == "cus-b@example.org"
    assert _issue_counts(engine) == counts
    listed = journey_client.get("/api/v1/feedback", headers=auth(admin_key)).json()["items"]
    assert {i["external_id"]: i["redacted"] for i in listed} == {"old": "retention", "new": None}
    with Session(engine) as session:
        bodies = {d.delivery_id: d.body for d in session.execute(select(InboundDelivery)).scalars()}
    assert bodies["msg-old"] == b"" and b"cus-b" in bodies["msg-new"]


def test_the_default_covers_items_of_no_source_and_a_source_of_its_own_wins(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    longer = create_standard_source(journey_client, admin_key, retention_days=365)
    _deliver(journey_client, longer["id"], "kept-by-source", "cus-c")
    drain(engine)
    for external_id in ("api-old", "api-new"):
        body = {
            "source": "app",
            "external_id": external_id,
            "text": "Card page froze",
            "customer_ref": "cus-d",
        }
        post_item(journey_client, admin_key, body)
    _age(engine, "api-old", 100)
    _age(engine, "api-new", 10)
    _age(engine, "kept-by-source", 100)

    _run(engine)  # no SEAM_RETENTION_DAYS: items of no source with a retention are kept
    assert all(i.text for i in _items(engine).values())

    _run(engine, retention_days=90)
    items = _items(engine)
    assert items["api-old"].text is None and items["api-old"].redacted == "retention"
    assert items["api-new"].text == "Card page froze"
    assert items["kept-by-source"].text  # its source keeps items for a year


@pytest.mark.parametrize("value", [0, -1, 3651, "ninety", 1.5])
def test_a_retention_out_of_range_is_422_naming_it(client: TestClient, admin_key: str, value: Any) -> None:
    body = {
        "kind": "standard",
        "name": "s",
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "retention_days": value,
    }
    resp = client.post("/api/v1/sources", json=body, headers=auth(admin_key))
    assert resp.status_code == 422, resp.text
    assert [e["field"] for e in resp.json()["errors"]] == ["retention_days"]


def test_a_retention_is_changed_and_cleared(journey_client: TestClient, admin_key: str) -> None:
    source = create_standard_source(journey_client, admin_key)
    assert source["retention_days"] is None
    path = f"/api/v1/sources/{source['id']}"
    set_ = journey_client.patch(path, json={"retention_days": 7}, headers=auth(admin_key))
    assert set_.status_code == 200 and set_.json()["retention_days"] == 7
    bad = journey_client.patch(path, json={"retention_days": 0}, headers=auth(admin_key))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "retention_days"
    cleared = journey_client.patch(path, json={"retention_days": None}, headers=auth(admin_key))
    assert cleared.status_code == 200 and cleared.json()["retention_days"] is None


def test_a_purged_items_vector_and_routing_example_go_with_its_words(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    for external_id in ("aged", "fresh"):
        body = {"source": "app", "external_id": external_id, "text": f"Card page froze ({external_id})"}
        post_item(journey_client, admin_key, body)
    ids = {i.external_id: i.id for i in _items(engine).values()}
    with Session(engine) as session:
        for external_id, item_id in ids.items():
            assert item_id is not None
            session.merge(ItemVector(item_id=item_id, encoder="test", vector=b"\x00\x01"))
            session.add(
                RoutingConfirmation(
                    item_id=item_id,
                    text=f"Card page froze ({external_id})",
                    stage="pay",
                    method="triage",
                    actor="t",
                )
            )
        session.commit()
    _age(engine, "aged", 40)

    _run(engine, retention_days=30)

    with Session(engine) as session:
        vectors = {v.item_id for v in session.execute(select(ItemVector)).scalars()}
        examples = [(c.item_id, c.text) for c in session.execute(select(RoutingConfirmation)).scalars()]
    assert vectors == {ids["fresh"]}
    assert examples == [(ids["fresh"], "Card page froze (fresh)")]
