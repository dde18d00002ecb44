"""Scheduled jobs of the loop. Each reads the database and writes rows and outbox messages in one
transaction; none calls a vendor. The `job_ticks` lease runs each once per cluster per tick, and the
dedupe keys (reminder slot and person, digest week and recipient) make a second run harmless anyway."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session, col

from app.core.clock import as_utc
from app.core.settings import Settings
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.journey.schemas import Journey
from app.loop import fixes, notify
from app.loop import service as loop
from app.loop.models import ReminderSent
from app.loop.reminders import (
    REMINDING,
    Acknowledgement,
    BundleKind,
    ReminderState,
    SentReminder,
    Snooze,
    bundle_kind,
    chain_for,
    due_reminders,
)
from app.scheduler.registry import JobRun

log = logging.getLogger("seam.loop")


def _journey(session: Session) -> Journey | None:
    return journeys.current_or_none(session)


# Which teams still owe work on each issue; the composition root hands in sync's answer.
OpenTeams = Callable[[Session, Iterable[int]], dict[int, list[str]]]


def sweep_reminders(
    session: Session, journey: Journey, now: datetime, settings: Settings, open_teams: OpenTeams
) -> int:
    """Reassess every issue that is waiting for people, then record and queue the reminders now due."""
    stmt = (
        select(ExperienceIssue)
        .where(col(ExperienceIssue.status).in_(sorted(REMINDING)))
        .order_by(col(ExperienceIssue.id))
    )
    active = [i for i in session.execute(stmt).scalars() if journey.stage(i.stage) is not None]
    if not active:
        return 0
    ids = [i.id for i in active if i.id is not None]
    known = loop.reassess(session, journey, active, now)
    acts = loop.actions(session, ids)
    teams = open_teams(session, ids)
    sent_rows: dict[int, list[SentReminder]] = {i: [] for i in ids}
    for r in session.execute(select(ReminderSent).where(col(ReminderSent.issue_id).in_(ids))).scalars():
        sent_rows[r.issue_id].append(SentReminder(slot=r.slot, person=r.person, level=r.level, at=r.at))
    policy = journey.accountability
    due: list[notify.Due] = []
    for issue in active:
        assert issue.id is not None
        st = known[issue.id]
        state = ReminderState(
            status=issue.status,
            priority=loop._priority(st.priority),
            due=st.due_at,
            sent=sent_rows[issue.id],
            acknowledgements=[
                Acknowledgement(at=a.at, by=a.actor) for a in acts[issue.id] if a.kind == "ack"
            ],
            snoozes=[
                Snooze(at=a.at, until=a.until, reason=a.reason or "", by=a.actor)
                for a in acts[issue.id]
                if a.kind == "snooze" and a.until is not None
            ],
        )
        chain = chain_for(journey, issue.stage, teams.get(issue.id, []))
        due.extend(notify.Due(issue, st, r) for r in due_reminders(state, chain, policy, now))
    return _send_bundles(session, journey, due, now, settings)


def _send_bundles(
    session: Session, journey: Journey, due: list[notify.Due], now: datetime, settings: Settings
) -> int:
    """One message per person and kind for everything due for them, unless one went out on their
    current day already: then it all waits for tomorrow's (where only each issue's latest slot counts)."""
    groups: dict[tuple[str, BundleKind], list[notify.Due]] = defaultdict(list)
    for d in due:
        groups[(d.reminder.person, bundle_kind(d.reminder.role))].append(d)
    if not groups:
        return 0
    sent_today = _bundles_sent(session, journey, sorted({p for p, _ in groups}), now)
    count = 0
    for (person, kind), items in sorted(groups.items(), key=lambda g: (g[0][1] == "escalations", g[0][0])):
        day = items[0].reminder.local_day(now)
        if (person, kind, day) in sent_today:
            continue
        count += notify.send_bundle(session, journey, kind, day, items, now, settings)
    return count


def _bundles_sent(
    session: Session, journey: Journey, people: list[str], now: datetime
) -> set[tuple[str, BundleKind, date]]:
    """(person, kind, their local day) of the reminders recorded in the last two days."""
    c = ReminderSent.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(
        select(c.person, c.role, c.at).where(
            c.person.in_(people), c.at >= now - timedelta(days=2), c.at <= now
        )
    )
    zones = {p.id: ZoneInfo(p.timezone) for p in journey.people}
    return {
        (r.person, bundle_kind(r.role), as_utc(r.at).astimezone(zones.get(r.person, UTC)).date())
        for r in rows
    }


def check_fixes(session: Session, journey: Journey, now: datetime, settings: Settings) -> dict[str, int]:
    stmt = (
        select(ExperienceIssue)
        .where(col(ExperienceIssue.status) == "fix_shipped")
        .order_by(col(ExperienceIssue.id))
    )
    outcomes: dict[str, int] = {}
    for issue in list(session.execute(stmt).scalars()):
        if journey.stage(issue.stage) is None:
            continue
        result = fixes.check_verification(session, journey, issue, now, settings)
        if result is not None:
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
    return outcomes


def reminders_job(run: JobRun, open_teams: OpenTeams) -> None:
    now = run.now
    with Session(run.engine) as session:
        journey = _journey(session)
        if journey is None:
            return
        n = sweep_reminders(session, journey, now, run.settings, open_teams)
        session.commit()
    if n:
        log.info("queued %d reminders", n)


def verification_job(run: JobRun) -> None:
    now = run.now
    with Session(run.engine) as session:
        journey = _journey(session)
        if journey is None:
            return
        outcomes = check_fixes(session, journey, now, run.settings)
        session.commit()
    if outcomes:
        log.info("verified shipped fixes: %s", outcomes)
