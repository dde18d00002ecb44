"""The composition root: what runs in each process, as literal tables.

- `HANDLERS`: which function delivers each kind of outbox message (the worker, and the API's in-process
  worker on SQLite);
- `JOBS`: the scheduled jobs and their triggers (`seam scheduler`);
- `TRANSITION_REACTIONS`: what happens elsewhere, in the same transaction, when an issue moves;
- `EVIDENCE_REACTIONS`: what follows, in the same transaction, when items join or leave an issue.

The API (`app.main.create_app`), `seam worker` and `seam scheduler` all start through `start_process`,
so no process can miss a handler, a job or a reaction. A new handler, job or reaction is added here.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import get_args

from sqlalchemy import Engine
from sqlalchemy.orm import configure_mappers

from app import models
from app.core.db import make_engine
from app.core.settings import Settings
from app.digests import build as digests_build
from app.digests.jobs import digests_job
from app.insights import board_flags as insight_board_flags
from app.insights import checks as insight_checks
from app.intake import deferred as intake_deferred
from app.intake import idempotency
from app.intake.ingest import PLACE_KIND
from app.issues import board_counts, owners, reactions
from app.journey import service as journeys
from app.loop import customers as loop_customers
from app.loop import handlers as loop_handlers
from app.loop import jobs as loop_jobs
from app.loop import queries as loop_queries
from app.loop import service as loop_service
from app.loop.reminders import BundleKind
from app.notify.delivery import send_email, smtp_vendor
from app.notify.messages import EMAIL_KIND
from app.outbox import service as outbox
from app.outbox.handlers import Handlers
from app.outbox.limits import VendorKeys
from app.outbox.metrics import Purpose
from app.privacy.outbox_payloads import outbox_payloads_job
from app.privacy.retention import retention_job
from app.routing import consolidation as routing_consolidation
from app.routing import handlers as routing_handlers
from app.routing import model_store as routing_model_store
from app.routing import vectors as routing_vectors
from app.routing.embedding import encoder_status
from app.routing.model_store import RETRAIN_KIND
from app.scheduler.registry import Daily, Every, ScheduledJob, weekly_digest
from app.scheduler.runner import prune
from app.sources import processing as sources_processing
from app.sources.service import PROCESS_KIND
from app.sync import events as sync_events
from app.sync import handlers as sync_handlers
from app.sync import queries as sync_queries
from app.sync import reconcile as sync_reconcile
from app.sync import vendors as sync_vendors
from app.sync.service import CREATE_KIND

log = logging.getLogger("seam")

HANDLERS: Handlers = {
    EMAIL_KIND: send_email,
    loop_customers.ZENDESK_KIND: loop_handlers.zendesk_comment,
    RETRAIN_KIND: routing_handlers.retrain,
    PROCESS_KIND: sources_processing.process_delivery,
    PLACE_KIND: intake_deferred.place_pending,
    # Tickets carry the issue's priority and due date, and follow them when they change.
    CREATE_KIND: partial(sync_handlers.create_ticket, assessment=loop_queries.assessment),
    loop_service.ASSESSED_KIND: partial(sync_handlers.follow_assessment, assessment=loop_queries.assessment),
    sync_events.TRANSITION_KIND: sync_handlers.transition_ticket,
    sync_events.COMMENT_KIND: sync_handlers.comment_ticket,
    sync_handlers.PULL_KIND: sync_handlers.pull_ticket,
    sync_handlers.INBOUND_KIND: sync_handlers.process_delivery,
}

# Which vendor each kind calls, for the worker's per-vendor limits and pauses; other kinds (internal work)
# are each their own.
_BY_CONTRIBUTION = sync_vendors.integration_of_contribution
VENDOR_KEYS: VendorKeys = {
    EMAIL_KIND: smtp_vendor,
    loop_customers.ZENDESK_KIND: loop_handlers.zendesk_vendor,
    CREATE_KIND: _BY_CONTRIBUTION,
    sync_events.TRANSITION_KIND: _BY_CONTRIBUTION,
    sync_events.COMMENT_KIND: _BY_CONTRIBUTION,
    sync_handlers.PULL_KIND: _BY_CONTRIBUTION,
}

# How long each kind of outbound work keeps retrying before it goes dead (README, "Retry budgets"):
# people's email and the trackers' tickets ride out a day-long outage; other kinds stop after their
# `max_attempts`.
_DAY = outbox.Budget(window=timedelta(hours=24), cap_s=3600.0)
RETRY_BUDGETS: dict[str, outbox.Budget] = {
    EMAIL_KIND: _DAY,
    loop_customers.ZENDESK_KIND: _DAY,
    CREATE_KIND: _DAY,
    sync_events.TRANSITION_KIND: _DAY,
    sync_events.COMMENT_KIND: _DAY,
    loop_service.ASSESSED_KIND: _DAY,
}
# What a dead (and a retried) message means elsewhere.
DEAD_REACTIONS: dict[str, outbox.DeadReaction] = {CREATE_KIND: sync_handlers.ticket_failed}
RETRY_REACTIONS: dict[str, outbox.RetryReaction] = {CREATE_KIND: sync_handlers.ticket_retried}

# The worker runs in another process, so the emails it delivered are counted in the database
# (`seam_emails_sent_total{purpose}`), told apart by the dedupe keys their producers give them.
EMAIL_PURPOSES: dict[str, Purpose] = {
    # Reminder bundles are keyed `{kind}:{person}:{day}` (app.loop.notify.bundle_key).
    **{kind: Purpose(EMAIL_KIND, (f"{kind}:",)) for kind in get_args(BundleKind)},
    "digests": Purpose(EMAIL_KIND, (digests_build.KEY_PREFIX,)),
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
    # Emerging groups regrouped whatever order their items came in; thresholds recalibrated.
    ScheduledJob(
        "routing.consolidate", lambda cfg: Every(cfg.consolidate_every), routing_consolidation.consolidate_job
    ),
    ScheduledJob("sync.reconcile", lambda cfg: Every(cfg.reconcile_every), sync_reconcile.reconcile_job),
    ScheduledJob("scheduler.prune_ticks", Daily(3, 17), prune),
    # Experience checks: assign each due check, remind once, once a day.
    ScheduledJob("insights.checks", Daily(7, 5), insight_checks.checks_job),
    # The board's persona drops, so the board reads one small row instead of months of scores.
    ScheduledJob(
        "insights.board_flags", lambda cfg: Every(cfg.board_flags_every), insight_board_flags.board_flags_job
    ),
    # The board's kept counts folded to one row per key, so reading them stays a few hundred rows.
    ScheduledJob("issues.board_counts", Every(timedelta(minutes=5)), board_counts.fold_job),
    ScheduledJob("intake.idempotency_expiry", Daily(3, 47), idempotency.purge_job),
    # Items past their source's retention (or SEAM_RETENTION_DAYS) lose text, metadata and contacts.
    ScheduledJob("privacy.retention", Daily(4, 23), retention_job),
    # Sent messages keep no addresses or words past SEAM_OUTBOX_KEEP_DAYS; their dedupe keys stay.
    ScheduledJob("privacy.outbox_payloads", Daily(4, 41), outbox_payloads_job),
)

TRANSITION_REACTIONS: tuple[reactions.Reaction, ...] = (
    loop_service.on_transition,  # a shipped fix starts its verification window
    sync_events.on_transition,  # reopens and confirmations reach the tickets
)

# Checked when a journey is applied: no active issue is left on a removed stage or with a removed owner.
JOURNEY_GUARDS: tuple[journeys.ApplyGuard, ...] = (owners.check_owners,)

EVIDENCE_REACTIONS: tuple[reactions.EvidenceReaction, ...] = (
    loop_service.on_evidence,  # impact and priority follow the issue's items from the first one
)


JOURNEY_REACTIONS: tuple[journeys.Applied, ...] = (
    routing_model_store.on_journey_applied,  # new examples retrain the router
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
    a process that uses only some of them. The transition reactions are installed. The sentence encoder
    is loaded (and its files checked) now, so the startup log says at once whether grouping runs on it
    or on TF-IDF only.
    """
    settings.refuse_unsafe()
    assert models.metadata.tables
    configure_mappers()
    reactions.install(TRANSITION_REACTIONS, EVIDENCE_REACTIONS)
    journeys.install_guards(JOURNEY_GUARDS)
    journeys.install_reactions(JOURNEY_REACTIONS)
    outbox.install(RETRY_BUDGETS, DEAD_REACTIONS, RETRY_REACTIONS)
    if routing_vectors.process_encoder() is None:
        log.warning("grouping runs on TF-IDF only: %s", encoder_status()["reason"])
    return engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
