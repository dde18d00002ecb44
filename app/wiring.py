"""Imports every module that registers something at import: outbox handlers, scheduled jobs, issue hooks.

The API, `seam worker` and `seam scheduler` each import this, so no process can miss a handler, a job,
or the hook that syncs a reopen back to Jira (a scheduler that reopened issues without it would not).
"""

from sqlalchemy import Engine
from sqlalchemy.orm import configure_mappers

from app import models
from app.core.db import make_engine
from app.core.settings import Settings
from app.loop import handlers as loop_handlers
from app.loop import jobs as loop_jobs
from app.routing import handlers as routing_handlers
from app.sources import processing as sources_processing
from app.sync import events as sync_events
from app.sync import handlers as sync_handlers
from app.sync import reconcile as sync_reconcile

REGISTERING_MODULES = (
    loop_handlers,
    loop_jobs,
    routing_handlers,
    sources_processing,
    sync_events,
    sync_handlers,
    sync_reconcile,
)


def engine_for(settings: Settings) -> Engine:
    """The database engine of a process. Every table is known (`app.models`) and every mapper resolved
    now, so a foreign key between domains can never fail later, mid-request, in a process that happened
    to use only some of them."""
    assert models.metadata.tables
    configure_mappers()
    return make_engine(settings.database_url)
