"""The transactional outbox: dedupe, claims, retries with backoff, dead letters, leases, SKIP LOCKED."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.outbox import service
from app.outbox.handlers import Handlers, JobContext
from app.outbox.models import OutboxMessage
from integrations.base import PermanentError, RetryableError
from tests.support.api import auth
from tests.support.outbox import run_round

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
delivered: list[tuple[str, int]] = []


async def _ok(ctx: JobContext, message: OutboxMessage) -> None:
    delivered.append((ctx.worker, message.id or 0))


async def _rate_limited(ctx: JobContext, message: OutboxMessage) -> None:
    raise RetryableError("429 from vendor", retry_after=120)


async def _refused(ctx: JobContext, message: OutboxMessage) -> None:
    raise PermanentError("400: project does not exist", status=400)


async def _bug(ctx: JobContext, message: OutboxMessage) -> None:
    raise KeyError("oops")


# This worker's own handler table: the kinds are this module's.
HANDLERS: Handlers = {"t-ok": _ok, "t-429": _rate_limited, "t-400": _refused, "t-bug": _bug}


def _enqueue(engine: Engine, kind: str, key: str, **kw: object) -> None:
    with Session(engine) as s:
        service.enqueue(s, kind, key, {"n": 1}, available_at=T0, **kw)  # type: ignore[arg-type]
        s.commit()


def _rows(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())  # type: ignore[arg-type]


def _run(engine: Engine, at: datetime, worker: str = "w1") -> int:
    return run_round(engine, now=at, worker=worker, handlers=HANDLERS)


def test_same_dedupe_key_is_one_message(engine: Engine) -> None:
    _enqueue(engine, "t-ok", "jira-create:7")
    _enqueue(engine, "t-ok", "jira-create:7")
    assert len(_rows(engine)) == 1


def test_delivery_marks_done_once(engine: Engine) -> None:
    delivered.clear()
    _enqueue(engine, "t-ok", "a")
    assert _run(engine, T0) == 1
    assert _run(engine, T0 + timedelta(hours=1)) == 0
    (row,) = _rows(engine)
    assert row.state == "done" and row.attempts == 1 and len(delivered) == 1


def test_not_due_yet_is_left_alone(engine: Engine) -> None:
    _enqueue(engine, "t-ok", "later")
    assert _run(engine, T0 - timedelta(seconds=1)) == 0


def test_retry_after_is_honoured_then_dead_after_max_attempts(engine: Engine) -> None:
    _enqueue(engine, "t-429", "r", max_attempts=3)
    assert _run(engine, T0) == 1
    (row,) = _rows(engine)
    assert row.state == "pending" and row.available_at >= T0 + timedelta(seconds=120)
    assert "429" in (row.last_error or "")
    assert _run(engine, T0 + timedelta(seconds=119)) == 0  # the vendor asked for two minutes
    now = row.available_at
    for _ in range(2):
        assert _run(engine, now) == 1
        now = _rows(engine)[0].available_at
    (row,) = _rows(engine)
    assert row.state == "dead" and row.attempts == 3


def test_permanent_error_is_dead_at_once_and_bugs_retry(engine: Engine) -> None:
    _enqueue(engine, "t-400", "p")
    _enqueue(engine, "t-bug", "b")
    _enqueue(engine, "t-nobody-handles", "n")
    _run(engine, T0)
    states = {r.dedupe_key: (r.state, r.last_error) for r in _rows(engine)}
    assert states["p"][0] == "dead" and "project does not exist" in (states["p"][1] or "")
    assert states["b"][0] == "pending" and "KeyError" in (states["b"][1] or "")
    assert states["n"][0] == "dead" and "no handler" in (states["n"][1] or "")


def test_a_dead_workers_lease_runs_out(engine: Engine) -> None:
    _enqueue(engine, "t-ok", "lease")
    with Session(engine, expire_on_commit=False) as s:
        (claimed,) = service.claim(s, "crashed", now=T0, lease_s=60)
        s.commit()
    assert _run(engine, T0 + timedelta(seconds=30), "w2") == 0  # still leased
    delivered.clear()
    assert _run(engine, T0 + timedelta(seconds=61), "w2") == 1
    assert delivered == [("w2", claimed.id)]
    with Session(engine) as s:  # the crashed worker's late completion does not overwrite
        assert not service.complete(s, claimed.id or 0, "crashed", now=T0 + timedelta(seconds=62))


def test_two_workers_never_claim_the_same_message(pg_engine: Engine) -> None:
    for n in range(20):
        _enqueue(pg_engine, "t-ok", f"k{n}")
    barrier = threading.Barrier(2)
    claimed: dict[str, list[int]] = {}

    def claim(worker: str) -> None:
        with Session(pg_engine) as s:
            rows = service.claim(s, worker, now=T0, limit=15)
            barrier.wait(timeout=10)  # both hold their row locks at once
            claimed[worker] = [r.id or 0 for r in rows]
            s.commit()

    threads = [threading.Thread(target=claim, args=(w,)) for w in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not set(claimed["a"]) & set(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == 20


def test_dead_letters_are_listed_and_retryable(client: TestClient, engine: Engine, admin_key: str) -> None:
    _enqueue(engine, "t-400", "dead-one")
    _enqueue(engine, "t-ok", "fine")
    _run(engine, T0)
    dead = client.get("/api/v1/outbox", params={"state": "dead"}, headers=auth(admin_key)).json()["items"]
    assert [d["dedupe_key"] for d in dead] == ["dead-one"]
    assert "payload" not in dead[0]
    retried = client.post(f"/api/v1/outbox/{dead[0]['id']}/retry", headers=auth(admin_key))
    assert retried.status_code == 200 and retried.json()["state"] == "pending"
    done = client.get("/api/v1/outbox", params={"state": "done"}, headers=auth(admin_key)).json()["items"]
    again = client.post(f"/api/v1/outbox/{done[0]['id']}/retry", headers=auth(admin_key))
    assert again.status_code == 409


def test_enqueue_says_whether_it_added(engine: Engine) -> None:
    with Session(engine) as s:
        assert service.enqueue(s, "t-ok", "once", {}) is True
        assert service.enqueue(s, "t-ok", "once", {}) is False
        s.commit()
