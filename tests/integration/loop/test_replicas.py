"""Two schedulers, each with its own engine (its own connection pool, as two processes would have), run
every tick of the loop's jobs against one PostgreSQL at the same instants: each reminder and each digest
reaches the SMTP server exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.db import make_engine
from app.issues.models import ExperienceIssue
from app.loop import jobs
from app.scheduler.registry import JOBS, SchedulerConfig
from app.scheduler.runner import run_tick
from tests.integration.loop.conftest import Smtp, apply_journey, deliver, loop_settings
from tests.integration.loop.test_full_life import ingest

OWNER = "ravi.menon@boxwise.example"


def _race(engines: list[Engine], job: str, now: datetime) -> list[bool]:
    barrier = threading.Barrier(len(engines))
    won: list[bool] = [False] * len(engines)

    def run(i: int) -> None:
        barrier.wait()
        won[i] = run_tick(engines[i], JOBS[job], SchedulerConfig(), holder=f"replica-{i}", now=now)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return won


def test_two_schedulers_send_each_reminder_and_digest_once(pg_engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(pg_engine, smtp)
    apply_journey(pg_engine)
    t0 = utcnow()
    ingest(pg_engine, t0, 3, "replica")
    with Session(pg_engine) as session:
        opened = session.execute(select(ExperienceIssue.created_at)).scalar_one()  # type: ignore[call-overload]
    due = opened + timedelta(days=4)
    url = pg_engine.url.render_as_string(hide_password=False)
    replicas = [make_engine(url), make_engine(url)]
    try:
        instants = [due - timedelta(hours=11), due + timedelta(minutes=1), due + timedelta(days=1, minutes=1)]
        for at in instants:
            assert sorted(_race(replicas, "loop.reminders", at)) == [False, True]
            # A replica that missed the lease and runs the sweep anyway still adds nothing.
            jobs.reminders_job(replicas[0], at + timedelta(seconds=30))
        monday = t0.date() - timedelta(days=t0.weekday())
        digest_at = datetime.combine(monday + timedelta(days=7), time(8, 0), tzinfo=UTC)
        assert sorted(_race(replicas, "loop.digests", digest_at)) == [False, True]
        jobs.digests_job(replicas[1], digest_at + timedelta(minutes=1))
    finally:
        for e in replicas:
            e.dispose()
    deliver(pg_engine, settings, digest_at)
    keys = Counter(smtp.mailbox.keys())
    assert keys and max(keys.values()) == 1, keys
    reminders = [k for k in keys if k.startswith("reminder:")]
    digests = [k for k in keys if k.startswith("digest:")]
    # before due, at due, overdue (owner) + the escalation of the overdue one (sponsor)
    assert len(reminders) == 4
    assert {k.rsplit(":", 1)[1] for k in reminders} == {"ravi", "dana"}
    assert any(k.startswith("digest:owner:pay:ravi:") for k in digests)
    assert any(k.startswith("digest:leadership:dana:") for k in digests)
    assert len(smtp.mailbox.to(OWNER)) == 3 + 1
