"""A real `seam worker` process killed with SIGKILL mid-delivery, then restarted: exactly one ticket.

PostgreSQL only (several processes on one database). The stand-in holds the create request long
enough to kill the worker while the call is in flight; the vendor still creates the ticket, and our
commit never happens. The restarted worker takes the message over once the dead worker's lease runs
out (fast-forwarded here instead of waiting the 60 s) and must find that ticket, not make a second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from app.main import create_app
from tests.fakes.jira import JiraStandIn
from tests.fakes.server import Fault
from tests.fakes.zendesk import ZendeskStandIn
from tests.integration.sync.conftest import Sync
from tests.support.api import ROOT, apply_example_journey, make_key, settings_for


@pytest.fixture
def pg_sync(pg_engine: Engine) -> Iterator[Sync]:
    with TestClient(create_app(settings_for(pg_engine), pg_engine), raise_server_exceptions=False) as client:
        key = make_key(pg_engine, ["admin"], "test-admin")
        apply_example_journey(client, key)
        yield Sync(client, key, pg_engine, client.app.state.settings)  # type: ignore[attr-defined]


def _worker(engine: Engine, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SEAM_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SEAM_ALLOW_PRIVATE_NETWORK": "true",
        "SEAM_INPROCESS_WORKER": "false",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "app", "worker", "--poll", "0.1"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )


def _wait(predicate: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("vendor", ["jira", "zendesk"])
def test_worker_killed_mid_delivery_then_restarted_makes_one_ticket(
    pg_sync: Sync, jira_fake: JiraStandIn, zendesk_fake: ZendeskStandIn, vendor: str, tmp_path: Path
) -> None:
    sync = pg_sync
    slow = {"options": {"timeout_seconds": 20.0}}
    if vendor == "jira":
        sync.jira_integration(jira_fake, options={"timeout_seconds": 20.0, "search_index_lag_seconds": 0})
        fake: JiraStandIn | ZendeskStandIn = jira_fake
        team, create = "billing", r"^/rest/api/3/issue$"
    else:
        sync.zendesk_integration(zendesk_fake, **slow)
        fake, team, create = zendesk_fake, "support", r"^/api/v2/tickets$"

    def tickets() -> int:
        return len(fake.issues) if isinstance(fake, JiraStandIn) else len(fake.tickets)

    issue_id = sync.issue()
    sync.contribute(issue_id, team)
    fake.fail(Fault("delay", seconds=2.0), method="POST", path=create)
    log = tmp_path / "worker.log"

    first = _worker(sync.engine, log)
    try:
        # A fresh process imports all of Seam first: on a loaded 2-core machine that alone can take 30 s.
        _wait(lambda: fake.calls("POST", create), "the create request to reach the vendor", timeout=120)
        first.send_signal(signal.SIGKILL)  # mid-call: no response read, nothing committed
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    _wait(lambda: tickets() == 1, "the vendor to finish the orphaned request")
    with sync.engine.begin() as conn:
        state, attempts = conn.execute(
            text("SELECT state, attempts FROM outbox_messages WHERE kind = 'sync.create_ticket'")
        ).one()
        assert (state, attempts) == ("in_flight", 1)  # still leased by the dead worker
        assert conn.execute(text("SELECT ticket_id FROM contributions")).scalar_one() is None
        # Fast-forward the lease (60 s) rather than sleep through it.
        conn.execute(text("UPDATE outbox_messages SET lease_until = now() - interval '1 second'"))

    second = _worker(sync.engine, log)
    try:
        _wait(
            lambda: sync.contribution_rows()[0].ticket_id is not None,
            "the restarted worker to record the ticket",
            timeout=120,
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=15)

    assert tickets() == 1, log.read_text()
    (row,) = sync.contribution_rows()
    created = fake.issues if isinstance(fake, JiraStandIn) else fake.tickets
    assert row.ticket_id == str(next(iter(created.values())).id) and row.state == "open"
    (message,) = sync.messages()
    assert message.state == "done" and message.attempts == 2
    assert len(fake.calls("POST", create)) == 1  # the retry looked the ticket up instead of creating
