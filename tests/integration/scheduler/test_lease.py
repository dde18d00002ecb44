"""A tick is claimed once per cluster: on SQLite and PostgreSQL, under real concurrency."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from app.core.clock import utcnow
from app.core.db import make_engine
from app.core.settings import Settings
from app.scheduler.lease import claim_tick, finish_tick, prune_ticks
from app.scheduler.models import JobTick
from app.scheduler.registry import Daily, Every, JobRun, ScheduledJob, SchedulerConfig, Weekly
from app.scheduler.runner import build_scheduler, run_tick

TICK = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def ticks(engine: Engine, job: str | None = None) -> list[JobTick]:
    with Session(engine) as session:
        stmt = select(JobTick).order_by(JobTick.tick)  # type: ignore[arg-type]
        if job is not None:
            stmt = stmt.where(JobTick.job == job)  # type: ignore[arg-type]
        return list(session.scalars(stmt))


def _race(engine: Engine, contenders: int, job: str, tick: datetime) -> list[str]:
    barrier = threading.Barrier(contenders)
    winners: list[str] = []
    lock = threading.Lock()

    def contend(i: int) -> None:
        barrier.wait()
        if claim_tick(engine, job, tick, f"replica-{i}", utcnow()):
            with lock:
                winners.append(f"replica-{i}")

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return winners


def test_concurrent_claims_of_one_tick_have_one_winner(engine: Engine) -> None:
    for round_ in range(5):
        tick = TICK + timedelta(minutes=round_)
        winners = _race(engine, 8, "reminders.sweep", tick)
        assert len(winners) == 1, (engine.dialect.name, round_, winners)
    rows = ticks(engine, "reminders.sweep")
    assert len(rows) == 5
    assert [r.tick for r in rows] == [TICK + timedelta(minutes=i) for i in range(5)]


# The jobs here are the tests' own: they read nothing from the settings.
SETTINGS = Settings(database_url="sqlite://")


def test_claims_are_per_job_and_per_tick(engine: Engine) -> None:
    now = utcnow()
    assert claim_tick(engine, "a", TICK, "one", now)
    assert not claim_tick(engine, "a", TICK, "two", now)
    assert claim_tick(engine, "b", TICK, "two", now)
    assert claim_tick(engine, "a", TICK + timedelta(minutes=15), "two", now)


def test_run_tick_runs_once_records_finish_and_errors(engine: Engine) -> None:
    calls: list[datetime] = []

    def job(run: JobRun) -> None:
        calls.append(run.now)

    every = ScheduledJob(name="verification.check", trigger=Every(timedelta(hours=1)), fn=job)
    config = SchedulerConfig()
    now = datetime(2026, 11, 23, 10, 42, 7, tzinfo=UTC)
    assert run_tick(engine, SETTINGS, every, config, holder="r1", now=now)
    assert not run_tick(engine, SETTINGS, every, config, holder="r2", now=now + timedelta(minutes=5))
    assert calls == [now]
    (row,) = ticks(engine, "verification.check")
    assert (row.tick, row.holder, row.error) == (datetime(2026, 11, 23, 10, tzinfo=UTC), "r1", None)
    assert row.finished_at is not None

    def broken(run: JobRun) -> None:
        raise RuntimeError("database went away")

    failing = ScheduledJob(name="digests.weekly", trigger=Every(timedelta(hours=1)), fn=broken)
    assert run_tick(engine, SETTINGS, failing, config, holder="r1", now=now)
    (row,) = ticks(engine, "digests.weekly")
    assert row.error == "RuntimeError: database went away" and row.finished_at is not None


def test_async_jobs_run_too(engine: Engine) -> None:
    seen: list[str] = []

    async def job(run: JobRun) -> None:
        seen.append(run.engine.dialect.name)

    assert run_tick(
        engine,
        SETTINGS,
        ScheduledJob(name="a", trigger=Every(timedelta(minutes=1)), fn=job),
        SchedulerConfig(),
        holder="r1",
        now=TICK,
    )
    assert seen == [engine.dialect.name]


def test_prune_forgets_old_finished_ticks(engine: Engine) -> None:
    now = TICK + timedelta(days=40)
    claim_tick(engine, "old", TICK, "r", TICK)
    finish_tick(engine, "old", TICK, "r", TICK)
    claim_tick(engine, "unfinished", TICK, "r", TICK)
    claim_tick(engine, "recent", now - timedelta(days=1), "r", now)
    finish_tick(engine, "recent", now - timedelta(days=1), "r", now)
    assert prune_ticks(engine, timedelta(days=30), now) == 1
    assert sorted(r.job for r in ticks(engine)) == ["recent", "unfinished"]


def test_two_schedulers_on_one_postgres_run_each_tick_once(pg_engine: Engine) -> None:
    runs: list[tuple[str, datetime]] = []
    fired: Counter[str] = Counter()
    lock = threading.Lock()

    def job(run: JobRun) -> None:
        with lock:
            runs.append(
                (threading.current_thread().name, Every(timedelta(seconds=1)).tick(run.now, ZoneInfo("UTC")))
            )

    spec = ScheduledJob(name="reminders.sweep", trigger=Every(timedelta(seconds=1)), fn=job)

    def clock_for(name: str):
        def clock() -> datetime:
            with lock:
                fired[name] += 1
            return utcnow()

        return clock

    # each replica has its own engine and connection pool, as separate processes would
    url = pg_engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url), make_engine(url)]
    schedulers = [
        build_scheduler(eng, SETTINGS, SchedulerConfig(), [spec], holder=name, clock=clock_for(name))
        for eng, name in zip(engines, ("replica-a", "replica-b"), strict=True)
    ]
    for s in schedulers:
        s.start()
    try:
        time.sleep(3.5)
    finally:
        for s in schedulers:
            s.shutdown(wait=True)
        for eng in engines:
            eng.dispose()
    rows = ticks(pg_engine, "reminders.sweep")
    run_ticks = [tick for _, tick in runs]
    assert fired["replica-a"] >= 3 and fired["replica-b"] >= 3  # both replicas tried every tick
    assert len(run_ticks) >= 3
    assert len(set(run_ticks)) == len(run_ticks), "a tick ran twice"
    assert sorted(run_ticks) == [r.tick for r in rows]
    assert {r.holder for r in rows} <= {"replica-a", "replica-b"}


def test_triggers_compute_the_same_tick_on_every_replica() -> None:
    london = ZoneInfo("Europe/London")
    every = Every(timedelta(minutes=15))
    assert every.tick(datetime(2026, 11, 23, 10, 44, 59, tzinfo=UTC), london) == datetime(
        2026, 11, 23, 10, 30, tzinfo=UTC
    )
    weekly = Weekly("mon", 8)
    # Monday 23 Nov 2026 08:00 London (= UTC in winter); before it, the previous Monday's tick
    assert weekly.tick(datetime(2026, 11, 23, 8, 0, 1, tzinfo=UTC), london) == datetime(
        2026, 11, 23, 8, tzinfo=UTC
    )
    assert weekly.tick(datetime(2026, 11, 23, 7, 59, tzinfo=UTC), london) == datetime(
        2026, 11, 16, 8, tzinfo=UTC
    )
    # summer time: 08:00 BST is 07:00 UTC
    assert weekly.tick(datetime(2026, 7, 8, 12, tzinfo=UTC), london) == datetime(2026, 7, 6, 7, tzinfo=UTC)
    kolkata = ZoneInfo("Asia/Kolkata")
    assert Daily(9, 30).tick(datetime(2026, 11, 23, 3, 0, tzinfo=UTC), kolkata) == datetime(
        2026, 11, 22, 4, 0, tzinfo=UTC
    )
    # the APScheduler trigger fires at the tick the replica will compute
    trig = weekly.apscheduler(london)
    nxt = trig.get_next_fire_time(None, datetime(2026, 11, 20, tzinfo=UTC))
    assert nxt is not None and weekly.tick(nxt, london) == nxt == datetime(2026, 11, 23, 8, tzinfo=london)
    every_trig = every.apscheduler(london)
    nxt = every_trig.get_next_fire_time(None, datetime(2026, 11, 23, 10, 44, 59, tzinfo=UTC))
    assert nxt == datetime(2026, 11, 23, 10, 45, tzinfo=UTC)


def test_digest_day_and_hour_come_from_config() -> None:
    config = SchedulerConfig(timezone="America/New_York", digest_weekday="fri", digest_hour=16)
    from app.scheduler.registry import weekly_digest

    trigger = weekly_digest(config)
    # Friday 27 Nov 2026 16:00 in New York is 21:00 UTC
    assert trigger.tick(datetime(2026, 11, 28, 0, 0, tzinfo=UTC), config.zone) == datetime(
        2026, 11, 27, 21, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="unknown time zone"):
        SchedulerConfig(timezone="Mars/Olympus")


def test_every_job_of_the_composition_root_resolves_its_trigger() -> None:
    from app import wiring

    names = [j.name for j in wiring.JOBS]
    assert len(names) == len(set(names)), "two scheduled jobs share a name"
    assert wiring.job("loop.digests").resolve(SchedulerConfig(digest_weekday="wed")) == Weekly("wed", 8)
    for job in wiring.JOBS:
        assert job.resolve(SchedulerConfig()).tick(TICK, SchedulerConfig().zone) <= TICK
    with pytest.raises(KeyError, match="no scheduled job named"):
        wiring.job("no.such.job")
