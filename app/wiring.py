"""Imports every module that registers something at import: outbox handlers, scheduled jobs, issue hooks.

The API, `seam worker` and `seam scheduler` each import this, so no process can miss a handler, a job,
or the hook that syncs a reopen back to Jira (a scheduler that reopened issues without it would not).
"""

from app import models
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

# Every table, so that foreign keys between domains resolve in a process that uses only some of them.
METADATA = models.metadata
