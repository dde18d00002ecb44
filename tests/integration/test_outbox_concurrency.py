"""The worker delivers several messages at once: never more than its limits, each exactly once; a vendor
that answers 429 with Retry-After is paused alone; a SIGKILL mid-batch loses and doubles nothing.

The first two run the real worker loop (`run_forever`) in a thread against a loopback vendor that takes
50 ms per request and counts the requests it holds at once; the handler is a plain HTTP call through
`integrations.http.raise_for_response`, inside `integrations.calls.vendor_call` as the adapters' shared
transport makes it. The third kills a real `seam worker`
process while it holds a batch of Jira creates.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlmodel import Session, col

from app.core.settings import Settings
from app.issues.models import ExperienceIssue
from app.main import create_app
from app.outbox import service
from app.outbox.handlers import Handlers, JobContext
from app.outbox.limits import VendorKeys
from app.outbox.models import OutboxMessage
from app.outbox.worker import run_forever
from app.sync.models import Contribution
from app.sync.service import CREATE_KIND
from integrations.calls import vendor_call
from integrations.http import raise_for_response
from tests.fakes.counting import CountingVendor
from tests.fakes.fixtures import jira_fake  # noqa: F401
from tests.fakes.jira import JiraStandIn
from tests.fakes.server import Fault, serving
from tests.integration.sync.conftest import Sync
from tests.support.api import ROOT, apply_example_journey, make_key, settings_for

KIND = "t-call"


async def _call(ctx: JobContext, message: OutboxMessage) -> None:
    p = message.payload
    async with httpx.AsyncClient(verify=False, timeout=10) as client, vendor_call():
        response = await client.post(f"{p['url']}/v/{p['vendor']}/deliver", content=message.dedupe_key)
        raise_for_response(response, f"stand-in {p['vendor']}")


class _Busy:
    """Handlers inside their own work (outside the vendor call) at once, at most."""

    def __init__(self) -> None:
        self.now = self.max = 0


BUSY = _Busy()
PREPARED_KIND = "t-prepared-call"


async def _prepared_call(ctx: JobContext, message: OutboxMessage) -> None:
    """Work of its own first (reads, building a request: 150 ms here), then the vendor call."""
    BUSY.now += 1
    BUSY.max = max(BUSY.max, BUSY.now)
    try:
        await asyncio.sleep(0.15)
    finally:
        BUSY.now -= 1
    await _call(ctx, message)


HANDLERS: Handlers = {KIND: _call, PREPARED_KIND: _prepared_call}
KEYS: VendorKeys = {
    kind: lambda _s, message, _settings: f"test:{message.payload['vendor']}" for kind in (KIND, PREPARED_KIND)
}


@pytest.fixture
def vendor() -> Iterator[CountingVendor]:
    fake = CountingVendor(latency_s=0.05)
    with serving(fake) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


def _enqueue(engine: Engine, url: str, vendors: dict[str, int], kind: str = KIND) -> list[str]:
    keys = []
    with Session(engine) as session:
        for name, n in vendors.items():
            for i in range(n):
                key = f"{name}:{i}"
                service.enqueue(session, kind, key, {"url": url, "vendor": name})
                keys.append(key)
        session.commit()
    return keys


def _states(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.execute(
            select(col(OutboxMessage.state), func.count()).group_by(col(OutboxMessage.state))
        ).all()
    return {state: n for state, n in rows}


def _work_until(engine: Engine, settings: Settings, done: Callable[[], bool], timeout: float = 60) -> None:
    stop = threading.Event()
    failed: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(
                run_forever(engine, settings, stop, HANDLERS, poll_s=0.05, worker="w1", vendor_keys=KEYS)
            )
        except BaseException as exc:  # surfaced in the test's thread below
            failed.append(exc)

    thread = threading.Thread(target=run, name="test-worker")
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        while not done():
            assert not failed, failed
            assert time.monotonic() < deadline, f"not delivered in {timeout} s: {_states(engine)}"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not failed, failed
    assert not thread.is_alive()


def _all_done(engine: Engine, n: int) -> Callable[[], bool]:
    return lambda: _states(engine).get("done", 0) == n


@pytest.mark.parametrize(("concurrency", "per_vendor"), [(8, 4), (3, 4)])
def test_deliveries_run_side_by_side_up_to_the_limits_and_each_once(
    engine: Engine, vendor: CountingVendor, concurrency: int, per_vendor: int
) -> None:
    settings = settings_for(
        engine, worker_batch=16, worker_concurrency=concurrency, vendor_concurrency=per_vendor
    )
    keys = _enqueue(engine, vendor.url, {"a": 24, "b": 24, "c": 24})  # type: ignore[attr-defined]

    _work_until(engine, settings, _all_done(engine, len(keys)))

    assert vendor.max_in_flight == min(concurrency, 3 * per_vendor)
    assert max(vendor.vendor_max.values()) == min(concurrency, per_vendor)
    assert vendor.delivered() == {k: 1 for k in keys}  # each exactly once
    with Session(engine) as session:
        attempts = set(session.execute(select(col(OutboxMessage.attempts))).scalars())
    assert attempts == {1}


def test_the_vendor_slot_is_held_for_the_call_and_not_for_the_work_around_it(
    engine: Engine, vendor: CountingVendor
) -> None:
    settings = settings_for(engine, worker_batch=16, worker_concurrency=8, vendor_concurrency=2)
    BUSY.now = BUSY.max = 0
    keys = _enqueue(engine, vendor.url, {"one": 24}, kind=PREPARED_KIND)  # type: ignore[attr-defined]

    _work_until(engine, settings, _all_done(engine, len(keys)))

    # Eight deliveries prepared side by side while the vendor never had more than its two calls.
    assert vendor.vendor_max == {"one": 2}
    assert BUSY.max > 2, BUSY.max
    assert vendor.delivered() == {k: 1 for k in keys}


def test_a_rate_limited_vendor_is_paused_while_others_flow(engine: Engine, vendor: CountingVendor) -> None:
    settings = settings_for(engine, worker_batch=16, worker_concurrency=8, vendor_concurrency=4)
    vendor.throttle("slow", times=1)  # its first request: 429, Retry-After: 1
    keys = _enqueue(engine, vendor.url, {"slow": 8, "fast": 100})  # type: ignore[attr-defined]

    _work_until(engine, settings, _all_done(engine, len(keys)))

    (refused,) = vendor.refused_at  # when the 429 went out; the vendor's other calls began before it
    slow_after = [a.at for a in vendor.arrivals if a.vendor == "slow" and a.at > refused]
    assert slow_after and min(slow_after) >= refused + 0.95, "the paused vendor was called within its pause"
    # From the refusal to the paused vendor's next call (at least the 1 s asked; longer on a busy box).
    pause = (refused, min(slow_after))
    fast_during = [a for a in vendor.arrivals if a.vendor == "fast" and pause[0] < a.at < pause[1]]
    assert len(fast_during) >= 8, "the other vendor's messages did not flow during the pause"
    assert vendor.delivered() == {k: 1 for k in keys}
    with Session(engine) as session:
        attempts = dict(
            session.execute(select(col(OutboxMessage.dedupe_key), col(OutboxMessage.attempts))).all()
        )
    # The refused message tried twice; the ones given back during the pause kept their attempt count.
    assert sorted(attempts.values()).count(2) == 1 and set(attempts.values()) == {1, 2}


# --- SIGKILL mid-batch -------------------------------------------------------------------------

CREATE = r"^/rest/api/3/issue$"
TEAMS = 12


@pytest.fixture
def pg_sync(pg_engine: Engine) -> Iterator[Sync]:
    with TestClient(create_app(settings_for(pg_engine), pg_engine), raise_server_exceptions=False) as client:
        key = make_key(pg_engine, ["admin"], "test-admin")
        apply_example_journey(client, key)
        yield Sync(client, key, pg_engine, client.app.state.settings)  # type: ignore[attr-defined]


def _contributions(sync: Sync, integration_id: int, n: int) -> None:
    """One issue with `n` contributions, each queued for its ticket as `request_contribution` does."""
    issue_id = sync.issue()
    with Session(sync.engine) as session:
        assert session.get(ExperienceIssue, issue_id) is not None
        for i in range(n):
            contribution = Contribution(
                issue_id=issue_id,
                team=f"team-{i}",
                integration_id=integration_id,
                target={"project_key": "CX"},
                requested_by="test",
            )
            session.add(contribution)
            session.flush()
            service.enqueue(
                session, CREATE_KIND, f"sync-create:{contribution.id}", {"contribution_id": contribution.id}
            )
        session.commit()


def _worker(engine: Engine, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SEAM_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SEAM_ALLOW_PRIVATE_NETWORK": "true",
        "SEAM_INPROCESS_WORKER": "false",
        "SEAM_EMBEDDING": "off",
        "SEAM_WORKER_BATCH": "16",
        "SEAM_WORKER_CONCURRENCY": "8",
        "SEAM_VENDOR_CONCURRENCY": "8",
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


def test_sigkill_mid_batch_loses_and_doubles_nothing(
    pg_sync: Sync,
    jira_fake: JiraStandIn,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    sync = pg_sync
    integration = sync.jira_integration(
        jira_fake, options={"timeout_seconds": 20.0, "search_index_lag_seconds": 0}
    )
    _contributions(sync, int(integration["id"]), TEAMS)
    # The first 8 creates (one worker's slots) are held long enough to kill the worker mid-call.
    jira_fake.fail(Fault("delay", seconds=2.0), method="POST", path=CREATE, times=8)
    log = tmp_path / "worker.log"

    first = _worker(sync.engine, log)
    try:
        # A fresh process imports all of Seam first: on a loaded 2-core machine that alone can take 30 s.
        _wait(lambda: len(jira_fake.calls("POST", CREATE)) >= 8, "8 creates in flight at once", timeout=120)
        first.send_signal(signal.SIGKILL)  # mid-batch: 8 calls unanswered, 4 claimed and never started
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    assert len(jira_fake.calls("POST", CREATE)) == 8, log.read_text()
    _wait(lambda: len(jira_fake.issues) == 8, "the vendor to finish the orphaned requests")
    with sync.engine.begin() as conn:
        rows = conn.execute(
            text("SELECT state, attempts FROM outbox_messages WHERE kind = :k"), {"k": CREATE_KIND}
        ).all()
        assert sorted(rows) == [("in_flight", 1)] * TEAMS  # the whole batch, still leased by the dead worker
        conn.execute(
            text(
                "UPDATE outbox_messages SET lease_until = now() - interval '1 second' "
                "WHERE state = 'in_flight'"
            )
        )

    second = _worker(sync.engine, log)
    try:
        _wait(
            lambda: all(c.ticket_id is not None for c in sync.contribution_rows()),
            "the restarted worker to record every ticket",
            timeout=120,
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=15)

    assert len(jira_fake.issues) == TEAMS, log.read_text()
    tickets = [c.ticket_id for c in sync.contribution_rows()]
    assert len(set(tickets)) == TEAMS  # one ticket each, none shared
    assert {str(i.id) for i in jira_fake.issues.values()} == set(tickets)
    assert {(m.state, m.attempts) for m in sync.messages(CREATE_KIND)} == {("done", 2)}
    # The retries of the 8 orphaned calls found their tickets; only the 4 never started created.
    assert len(jira_fake.calls("POST", CREATE)) == TEAMS
