"""Reads that tolerate lag go to a real PostgreSQL streaming replica; writes go to the primary; a client
that just wrote reads its writes from the primary.

The replica is made (or reused) by `scripts/pg-replica` on port 5433. To show which server answered,
the replica's replay is paused while the test writes: a read served by the replica cannot see the
write, a read served by the primary must. With CI=true a replica that cannot be made fails the run.
"""

from __future__ import annotations

import csv
import fcntl
import io
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlmodel import Session

from app.core.db import make_engine
from app.core.deps import read_session
from app.core.replica import WROTE_COOKIE
from app.main import create_app
from tests.support.api import ROOT, apply_example_journey, auth, make_key, settings_for

REPLICA_PORT = 5433


def _no_replica(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"the PostgreSQL replica is required in CI and could not be made: {reason}", pytrace=False
        )
    pytest.skip(f"no PostgreSQL replica (scripts/pg-replica): {reason}")


@pytest.fixture(scope="session")
def _replica_engine(_postgres_engine: Engine) -> Iterator[Engine]:
    try:
        made = subprocess.run(
            ["bash", str(ROOT / "scripts" / "pg-replica")], capture_output=True, text=True, timeout=1800
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        _no_replica(str(exc))
    if made.returncode != 0:
        _no_replica(made.stderr.strip()[-2000:] or f"exit status {made.returncode}")
    url = _postgres_engine.url.set(port=REPLICA_PORT).render_as_string(hide_password=False)
    replica = make_engine(url, pool_size=2)
    # The test database was made on the primary before the replica existed or just now; wait for it.
    _wait(lambda: _connects(replica), "the test database on the replica", timeout=60)
    yield replica
    replica.dispose()


def _connects(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _wait(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _caught_up(primary: Engine, replica: Engine) -> Callable[[], bool]:
    with primary.connect() as conn:
        lsn = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()

    def check() -> bool:
        with replica.connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": lsn}
                ).scalar_one()
            )

    return check


@contextmanager
def _replay_paused(replica: Engine) -> Iterator[None]:
    """The replica applies nothing meanwhile. Other test processes share the replica: one pause at a time."""
    with open(f"/tmp/seam-replica-pause-{REPLICA_PORT}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with replica.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
        try:
            yield
        finally:
            with replica.connect() as conn:
                conn.execute(text("SELECT pg_wal_replay_resume()"))


@pytest.fixture
def replica(_replica_engine: Engine, pg_engine: Engine) -> Engine:
    _wait(_caught_up(pg_engine, _replica_engine), "the replica to replay the emptied tables", timeout=120)
    return _replica_engine


def _probe(app: FastAPI) -> None:
    """Which server a read-session read lands on, through the app's own dependency."""

    @app.get("/test-only/recovery")
    def recovery(session: Session = Depends(read_session)) -> dict[str, Any]:
        return {"in_recovery": session.execute(text("SELECT pg_is_in_recovery()")).scalar_one()}


@pytest.fixture
def app_client(pg_engine: Engine, replica: Engine) -> Iterator[TestClient]:
    app = create_app(settings_for(pg_engine, replica_sticky_s=5.0), pg_engine, replica)

    _probe(app)

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _post_feedback(client: TestClient, key: str, external_id: str) -> None:
    body = {
        "source": "survey",
        "external_id": external_id,
        "text": "My first bill charged me twice for the same box",
        "score": 2,
        "scale": "nps",
        "touchpoint": "invoice-email",
        "customer_ref": f"c-{external_id}",
    }
    resp = client.post("/api/v1/feedback", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text


def _listed(client: TestClient, key: str) -> tuple[set[str], int]:
    feedback = client.get("/api/v1/feedback", headers=auth(key))
    issues = client.get("/api/v1/issues", headers=auth(key))
    assert feedback.status_code == issues.status_code == 200, (feedback.text, issues.text)
    return {i["external_id"] for i in feedback.json()["items"]}, len(issues.json()["items"])


def _exported(client: TestClient, key: str) -> tuple[set[str], int]:
    """The CSV exports, which read page by page in sessions of their own, follow the lists."""
    feedback = client.get("/api/v1/feedback.csv", headers=auth(key))
    issues = client.get("/api/v1/issues.csv", headers=auth(key))
    assert feedback.status_code == issues.status_code == 200, (feedback.text, issues.text)
    rows = list(csv.DictReader(io.StringIO(feedback.text)))
    return {r["external_id"] for r in rows}, len(issues.text.strip().splitlines()) - 1


def test_lists_read_the_replica_writes_go_to_the_primary_and_a_writer_reads_its_writes(
    app_client: TestClient, pg_engine: Engine, replica: Engine
) -> None:
    client = app_client
    key = make_key(pg_engine, ["admin"], "test-admin")
    apply_example_journey(client, key)
    _wait(_caught_up(pg_engine, replica), "the replica to replay the journey", timeout=120)
    client.cookies.clear()
    assert client.get("/test-only/recovery").json() == {"in_recovery": True}  # no recent write: replica

    with _replay_paused(replica):
        _post_feedback(client, key, "written-while-paused")
        assert WROTE_COOKIE in client.cookies  # the write's answer marks this client
        # The write is on the primary, and the paused replica has not seen it.
        with Session(pg_engine) as s:
            assert s.execute(text("SELECT count(*) FROM feedback_items")).scalar_one() == 1
        with Session(replica) as s:
            assert s.execute(text("SELECT count(*) FROM feedback_items")).scalar_one() == 0

        # Read-your-writes: the writer's lists come from the primary.
        assert client.get("/test-only/recovery").json() == {"in_recovery": False}
        assert _listed(client, key) == ({"written-while-paused"}, 1)
        assert _exported(client, key) == ({"written-while-paused"}, 1)

        # Another client (no write cookie) is served by the replica, which lags behind.
        client.cookies.clear()
        assert client.get("/test-only/recovery").json() == {"in_recovery": True}
        assert _listed(client, key) == (set(), 0)
        assert _exported(client, key) == (set(), 0)
        # A read that is not a lag-tolerant list still goes to the primary.
        item = client.get("/api/v1/feedback/1", headers=auth(key))
        assert item.status_code == 200 and item.json()["external_id"] == "written-while-paused"

    _wait(
        lambda: _listed(client, key) == ({"written-while-paused"}, 1), "the replica to catch up", timeout=120
    )


def test_the_write_cookie_expires_and_then_reads_go_back_to_the_replica(
    pg_engine: Engine, replica: Engine
) -> None:
    sticky_s = 4.0
    app = create_app(settings_for(pg_engine, replica_sticky_s=sticky_s), pg_engine, replica)

    _probe(app)

    with TestClient(app, raise_server_exceptions=False) as client:
        key = make_key(pg_engine, ["admin"], "test-admin")
        resp = client.post("/api/v1/keys", json={"name": "second", "scopes": ["read"]}, headers=auth(key))
        assert resp.status_code == 201, resp.text
        stamped = float(resp.cookies[WROTE_COOKIE])
        assert client.get("/test-only/recovery").json() == {"in_recovery": False}
        # Within the window the read above went to the primary; a loaded machine may take a while
        # to get there, so the window is wide and the wait is counted from the stamp.
        assert time.time() < stamped + sticky_s
        time.sleep(max(0.0, stamped + sticky_s + 0.3 - time.time()))
        assert client.get("/test-only/recovery").json() == {"in_recovery": True}


def test_without_a_replica_every_read_uses_the_primary_and_no_cookie_is_set(pg_engine: Engine) -> None:
    app = create_app(settings_for(pg_engine), pg_engine)

    _probe(app)

    with TestClient(app, raise_server_exceptions=False) as client:
        key = make_key(pg_engine, ["admin"], "test-admin")
        resp = client.post("/api/v1/keys", json={"name": "second", "scopes": ["read"]}, headers=auth(key))
        assert resp.status_code == 201 and WROTE_COOKIE not in resp.cookies
        assert client.get("/test-only/recovery").json() == {"in_recovery": False}
