"""The weekly digests, queued by the scheduler for every owner, team and the leadership."""

from __future__ import annotations

import logging

from sqlmodel import Session

from app.digests import build
from app.journey import service as journeys
from app.scheduler.registry import JobRun

log = logging.getLogger("seam.digests")


def digests_job(run: JobRun) -> None:
    with Session(run.engine) as session:
        journey = journeys.current_or_none(session)
        if journey is None:
            return
        queued = build.queue_all(session, journey, run.now, run.config.zone, run.settings.public_url)
        session.commit()
    log.info("queued %d weekly digests", queued)
