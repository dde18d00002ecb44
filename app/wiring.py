"""The composition root: what runs in each process, as literal tables.

- `HANDLERS`: which function delivers each kind of outbox message (the worker, and the API's in-process
  worker on SQLite);
- `JOBS`: the scheduled jobs and their triggers (`seam scheduler`);
- `TRANSITION_REACTIONS`: what happens elsewhere, in the same transaction, when an issue moves.

The API (`app.main.create_app`), `seam worker` and `seam scheduler` all start through `start_process`,
so no process can miss a handler, a job or a reaction. A new handler, job or reaction is added here.
"""

from __future__ import annotations

from functools import partial

from sqlalchemy import Engine
from sqlalchemy.orm import configure_mappers

from app import models
from app.core.db import make_engine
from app.core.settings import Settings
from app.digests.jobs import digests_job
from app.intake import idempotency
from app.issues import reactions
from app.loop import customers as loop_customers
from app.loop import handlers as loop_handlers
from app.loop import jobs as loop_jobs
from app.loop import service as loop_service
from app.notify.delivery import send_email
from app.notify.messages import EMAIL_KIND
from app.outbox.handlers import Handlers
from app.routing import handlers as routing_handlers
from app.routing.model_store import RETRAIN_KIND
from app.scheduler.registry import Daily, Every, ScheduledJob, weekly_digest
from app.scheduler.runner import prune
from app.sources import processing as sources_processing
from app.sources.service import PROCESS_KIND
from app.sync import events as sync_events
from app.sync import handlers as sync_handlers
from app.sync import queries as sync_queries
from app.sync import reconcile as sync_reconcile
from app.sync.service import CREATE_KIND

HANDLERS: Handlers = {
    EMAIL_KIND: send_email,
    loop_customers.ZENDESK_KIND: loop_handlers.zendesk_comment,
    RETRAIN_KIND: routing_handlers.retrain,
    PROCESS_KIND: sources_processing.process_delivery,
    CREATE_KIND: sync_handlers.create_ticket,
    sync_events.TRANSITION_KIND: sync_handlers.transition_ticket,
    sync_events.COMMENT_KIND: sync_handlers.comment_ticket,
    sync_handlers.PULL_KIND: sync_handlers.pull_ticket,
    sync_handlers.INBOUND_KIND: sync_handlers.process_delivery,
}

JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        "loop.reminders",
        lambda cfg: Every(cfg.reminder_every),
        # Teams with open contributions are reminded too: sync knows which, the loop asks.
        partial(loop_jobs.reminders_job, open_teams=sync_queries.open_teams),
    ),
    ScheduledJob("loop.verification", lambda cfg: Every(cfg.verification_every), loop_jobs.verification_job),
    ScheduledJob("loop.digests", weekly_digest, digests_job),
    ScheduledJob("sync.reconcile", lambda cfg: Every(cfg.reconcile_every), sync_reconcile.reconcile_job),
    ScheduledJob("scheduler.prune_ticks", Daily(3, 17), prune),
    ScheduledJob("intake.idempotency_expiry", Daily(3, 47), idempotency.purge_job),
)

TRANSITION_REACTIONS: tuple[reactions.Reaction, ...] = (
    loop_service.on_transition,  # a shipped fix starts its verification window
    sync_events.on_transition,  # reopens and confirmations reach the tickets
)


def job(name: str) -> ScheduledJob:
    found = [j for j in JOBS if j.name == name]
    if not found:
        raise KeyError(f"no scheduled job named '{name}': {', '.join(j.name for j in JOBS)}")
    return found[0]


def start_process(settings: Settings, engine: Engine | None = None) -> Engine:
    """Makes this process ready to do any of Seam's work, and returns its database engine.

    Unsafe settings are refused first (`Settings.refuse_unsafe`). Every table is known (`app.models`)
    and every mapper resolved now, so a foreign key between domains never fails later, mid-request, in
    a process that uses only some of them. The transition reactions are installed.
    """
    settings.refuse_unsafe()
    assert models.metadata.tables
    configure_mappers()
    reactions.install(TRANSITION_REACTIONS)
    return engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
