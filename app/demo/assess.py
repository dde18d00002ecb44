"""The demo assesses its issues at once (priority, impact, due date), as the scheduler's first reminder
sweep would: the board then shows priorities from the first minute."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from app.issues.models import ExperienceIssue
from app.journey.schemas import Journey
from app.loop import service as loop
from app.loop.reminders import REMINDING


def assess_all(session: Session, journey: Journey, now: datetime) -> int:
    stmt = select(ExperienceIssue).where(col(ExperienceIssue.status).in_(sorted(REMINDING)))
    active = list(session.execute(stmt).scalars())
    loop.reassess(session, journey, active, now)
    return len(active)
