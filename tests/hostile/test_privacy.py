"""Personal data kept longer than it is needed.

Before: idempotency records kept whole response bodies (the stored item: text, customer reference)
forever. Now they expire after 24 hours and a daily job deletes them."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.core.clock import utcnow
from app.intake import idempotency
from app.scheduler.registry import JobRun, SchedulerConfig
from app.wiring import job
from tests.support.api import auth, settings_for

ITEM = {"source": "survey", "external_id": "p-1", "text": "Late box", "customer_ref": "alice@example.com"}


def _age_records(engine: Engine, by: timedelta) -> None:
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT id, created_at FROM idempotency_records")).all()
        for row_id, _ in rows:
            conn.execute(
                text("UPDATE idempotency_records SET created_at = :at WHERE id = :id"),
                {"at": utcnow() - by, "id": row_id},
            )


def _records(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM idempotency_records")).scalar() or 0)


def test_an_expired_idempotency_key_is_a_new_request(
    client: TestClient, admin_key: str, engine: Engine
) -> None:
    headers = {**auth(admin_key), "Idempotency-Key": "k-1"}
    assert client.post("/api/v1/feedback", json=ITEM, headers=headers).status_code == 201
    _age_records(engine, idempotency.TTL + timedelta(minutes=1))
    # A different body with the same key would be 422 while the record lives; expired, it is served.
    again = client.post("/api/v1/feedback", json={**ITEM, "external_id": "p-2"}, headers=headers)
    assert again.status_code == 201, again.text
    assert _records(engine) == 1


def test_the_daily_job_deletes_expired_records_only(
    client: TestClient, admin_key: str, engine: Engine
) -> None:
    for n in range(3):
        headers = {**auth(admin_key), "Idempotency-Key": f"k-{n}"}
        body = {**ITEM, "external_id": f"p-{n}"}
        assert client.post("/api/v1/feedback", json=body, headers=headers).status_code == 201
    _age_records(engine, timedelta(hours=25))
    headers = {**auth(admin_key), "Idempotency-Key": "fresh"}
    assert (
        client.post("/api/v1/feedback", json={**ITEM, "external_id": "p-9"}, headers=headers).status_code
        == 201
    )
    run = JobRun(engine=engine, settings=settings_for(engine), config=SchedulerConfig(), now=utcnow())
    job("intake.idempotency_expiry").fn(run)
    assert _records(engine) == 1
    with Session(engine) as session:
        assert idempotency.purge_expired(session) == 0
