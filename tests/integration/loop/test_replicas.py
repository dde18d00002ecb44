"""Two scheduler processes run every tick of the loop's jobs against one PostgreSQL at the same instants:
each reminder and each digest reaches the SMTP server exactly once."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from multiprocessing.synchronize import Barrier

from sqlalchemy import Engine, select
from sqlmodel import Session

from app import wiring
from app.core.clock import utcnow
from app.core.db import make_engine
from app.core.settings import Settings
from app.issues.models import ExperienceIssue
from app.scheduler.registry import JobRun, SchedulerConfig
from app.scheduler.runner import run_tick
from tests.integration.loop.conftest import Smtp, apply_journey, loop_settings
from tests.integration.loop.test_full_life import ingest
from tests.support.outbox import drain

OWNER = "ravi.menon@boxwise.example"


def _replica(
    index: int, url: str, plan: list[tuple[str, str]], barrier: Barrier, results: multiprocessing.Queue
) -> None:
    """One scheduler process: at each planned instant, meet the other replica, then run that tick."""
    engine = wiring.start_process(Settings(database_url=url), make_engine(url))
    try:
        for job, at in plan:
            barrier.wait(timeout=60)
            won = run_tick(
                engine,
                Settings(database_url=url),
                wiring.job(job),
                SchedulerConfig(),
                holder=f"replica-{index}",
                now=datetime.fromisoformat(at),
            )
            results.put((job, at, index, won))
    finally:
        engine.dispose()


def _race(url: str, plan: list[tuple[str, datetime]]) -> dict[tuple[str, str], list[bool]]:
    """Runs the plan in two real processes (spawned, so they share nothing but the database)."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results: multiprocessing.Queue = ctx.Queue()
    steps = [(job, at.isoformat()) for job, at in plan]
    procs = [ctx.Process(target=_replica, args=(i, url, steps, barrier, results)) for i in range(2)]
    for p in procs:
        p.start()
    outcome: dict[tuple[str, str], list[bool]] = {}
    for _ in range(2 * len(steps)):
        job, at, _index, won = results.get(timeout=120)
        outcome.setdefault((job, at), []).append(won)
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    return outcome


def test_two_schedulers_send_each_reminder_and_digest_once(pg_engine: Engine, smtp: Smtp) -> None:
    settings = loop_settings(pg_engine, smtp)
    apply_journey(pg_engine)
    # 03:00 UTC: before due, at due and overdue fall on three of the owner's days (Asia/Kolkata).
    t0 = datetime.combine(utcnow().date() + timedelta(days=1), time(3, 0), tzinfo=UTC)
    ingest(pg_engine, t0, 3, "replica")
    with Session(pg_engine) as session:
        opened = session.execute(select(ExperienceIssue.created_at)).scalar_one()  # type: ignore[call-overload]
    due = opened + timedelta(days=4)
    url = pg_engine.url.render_as_string(hide_password=False)
    instants = [due - timedelta(hours=11), due + timedelta(minutes=1), due + timedelta(days=1, minutes=1)]
    monday = t0.date() - timedelta(days=t0.weekday())
    digest_at = datetime.combine(monday + timedelta(days=7), time(8, 0), tzinfo=UTC)
    plan = [("loop.reminders", at) for at in instants] + [("loop.digests", digest_at)]
    outcome = _race(url, plan)
    assert len(outcome) == len(plan)
    assert all(sorted(won) == [False, True] for won in outcome.values()), outcome
    # A replica that missed the lease and runs the jobs anyway still adds nothing.
    for at in instants:
        wiring.job("loop.reminders").fn(
            JobRun(pg_engine, settings, SchedulerConfig(), at + timedelta(seconds=30))
        )
    wiring.job("loop.digests").fn(
        JobRun(pg_engine, settings, SchedulerConfig(), digest_at + timedelta(minutes=1))
    )
    drain(pg_engine, settings, now=digest_at)
    keys = Counter(smtp.mailbox.keys())
    assert keys and max(keys.values()) == 1, keys
    reminders = [k for k in keys if k.startswith(("reminders:", "escalations:"))]
    digests = [k for k in keys if k.startswith("digest:")]
    # before due, at due, overdue (owner) + the escalation of the overdue one (sponsor)
    assert len(reminders) == 4
    assert {k.split(":")[1] for k in reminders} == {"ravi", "dana"}
    assert any(k.startswith("digest:owner:pay:ravi:") for k in digests)
    assert any(k.startswith("digest:leadership:dana:") for k in digests)
    assert len(smtp.mailbox.to(OWNER)) == 3 + 1
