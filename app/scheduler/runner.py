"""APScheduler 3 set-up: every registered job wrapped so that it first claims its tick.

APScheduler does not coordinate processes by itself; every replica runs the same schedule, and the
`job_ticks` row decides which one of them does the work for each tick.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import Engine

from app.core.clock import utcnow
from app.core.settings import Settings
from app.scheduler.lease import claim_tick, finish_tick, prune_ticks
from app.scheduler.registry import JobRun, ScheduledJob, SchedulerConfig

log = logging.getLogger("seam.scheduler")

Clock = Callable[[], datetime]
KEEP_TICKS = timedelta(days=30)


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def run_tick(
    engine: Engine,
    settings: Settings,
    job: ScheduledJob,
    config: SchedulerConfig,
    *,
    holder: str,
    now: datetime,
) -> bool:
    """Claim this run's tick and, if won, run the job. True when this caller ran it.

    A job that raises is logged and its tick row keeps the error; the tick is not retried (the next tick
    is the retry: jobs sweep for what is due, so nothing is lost, only delayed).
    """
    tick = job.resolve(config).tick(now, config.zone)
    if not claim_tick(engine, job.name, tick, holder, now):
        log.debug("tick %s of %s already taken", tick.isoformat(), job.name)
        return False
    error: str | None = None
    try:
        result = job.fn(JobRun(engine=engine, settings=settings, config=config, now=now))
        if inspect.isawaitable(result):
            asyncio.run(_await(result))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.exception("scheduled job %s failed for tick %s", job.name, tick.isoformat())
    finish_tick(engine, job.name, tick, holder, utcnow(), error)
    return True


async def _await(awaitable: object) -> None:
    await awaitable  # type: ignore[misc]


def add_jobs(
    scheduler: BaseScheduler,
    engine: Engine,
    settings: Settings,
    config: SchedulerConfig,
    jobs: Iterable[ScheduledJob],
    *,
    holder: str,
    clock: Clock = utcnow,
) -> None:
    for job in jobs:
        trigger = job.resolve(config)

        def fire(job: ScheduledJob = job) -> None:
            run_tick(engine, settings, job, config, holder=holder, now=clock())

        scheduler.add_job(
            fire,
            trigger=trigger.apscheduler(config.zone),
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(trigger.grace.total_seconds())),
            replace_existing=True,
        )


def build_scheduler(
    engine: Engine,
    settings: Settings,
    config: SchedulerConfig,
    jobs: Iterable[ScheduledJob],
    *,
    holder: str | None = None,
    clock: Clock = utcnow,
) -> BackgroundScheduler:
    """A started-by-the-caller BackgroundScheduler holding `jobs`."""
    scheduler = BackgroundScheduler(timezone=config.zone)
    add_jobs(scheduler, engine, settings, config, jobs, holder=holder or holder_id(), clock=clock)
    return scheduler


def prune(run: JobRun) -> None:
    removed = prune_ticks(run.engine, KEEP_TICKS, run.now)
    if removed:
        log.info("pruned %d old job ticks", removed)
