"""Experience checks: staff experience the experience. The scheduled job (`checks_job`) assigns each due
check once per cycle (app.insights.rotation), emails the assignee the task with a link to its page, reminds
them once halfway to the due time, and lists the overdue ones. Recording a result stores a staff feedback
item on the check's moment through the one ingest path, so a check that finds a problem opens or joins an
issue like any item, and stays out of customer figures (staff = true). Never commits, except the job."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field
from sqlalchemy import func, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.errors import Conflict, NotFound, field_error
from app.core.settings import Settings
from app.core.types_api import ApiModel
from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn
from app.feedback.store import STAFF_SOURCE
from app.insights import rotation
from app.insights.models import CheckTask
from app.insights.sections import OverdueCheckLine
from app.intake import ingest, triage
from app.journey import service as journeys
from app.journey.insights import ExperienceCheck
from app.journey.schemas import Journey
from app.notify import messages, templates
from app.scheduler.registry import JobRun

log = logging.getLogger("seam.insights.checks")
TASKS = CheckTask.__table__  # type: ignore[attr-defined]


class ResultIn(ApiModel):
    score: int = Field(ge=1, le=5, description="CSAT 1-5: how the experience was")
    notes: str | None = Field(default=None, max_length=4000)


def check_url(public_url: str, task_id: int) -> str:
    return f"{public_url.rstrip('/')}/checks/{task_id}"


def _load(session: Session) -> tuple[dict[str, dict[str | None, int]], dict[str, int]]:
    c = TASKS.c
    visits: dict[str, dict[str | None, int]] = {}
    load: dict[str, int] = {}
    for key, team, person, n in session.execute(
        select(c.check_key, c.team, c.person, func.count()).group_by(c.check_key, c.team, c.person)
    ):
        per = visits.setdefault(key, {})
        per[team if team is not None else person] = per.get(team if team is not None else person, 0) + int(n)
        load[person] = load.get(person, 0) + int(n)
    return visits, load


def assign_due(session: Session, journey: Journey, now: datetime, settings: Settings) -> list[CheckTask]:
    """One task per check whose current cycle has none yet, each with its email queued."""
    c = TASKS.c
    visits, load = _load(session)
    members = {t.key: t.members for t in journey.teams}
    created = []
    for check in journey.checks:
        start = rotation.cycle_start(now, check.cadence)
        if session.execute(select(c.id).where(c.check_key == check.key, c.cycle_start == start)).first():
            continue
        pools = rotation.pools([(t, members.get(t, [])) for t in check.eligible.teams], check.eligible.people)
        who = rotation.choose(pools, visits.get(check.key, {}), load)
        if who is None:
            continue
        task = CheckTask(
            check_key=check.key,
            cycle_start=start,
            person=who.person,
            team=who.team,
            assigned_at=now,
            due_at=start + check.allow,
        )
        session.add(task)
        session.flush()
        created.append(task)
        per = visits.setdefault(check.key, {})
        slot = who.team if who.team is not None else who.person
        per[slot] = per.get(slot, 0) + 1
        load[who.person] = load.get(who.person, 0) + 1
        _email(session, journey, check, task, settings, reminder=False)
    return created


def remind_due(session: Session, journey: Journey, now: datetime, settings: Settings) -> int:
    """Once per task, halfway between its assignment and its due time, while it is not recorded."""
    checks = {ch.key: ch for ch in journey.checks}
    c = TASKS.c
    sent = 0
    rows = session.execute(select(CheckTask).where(c.done_at.is_(None), c.reminded_at.is_(None))).scalars()
    for task in rows:
        check = checks.get(task.check_key)
        if check is None or now < task.assigned_at + (task.due_at - task.assigned_at) / 2:
            continue
        task.reminded_at = now
        session.add(task)
        _email(session, journey, check, task, settings, reminder=True)
        sent += 1
    return sent


def _email(
    session: Session,
    journey: Journey,
    check: ExperienceCheck,
    task: CheckTask,
    settings: Settings,
    *,
    reminder: bool,
) -> None:
    assert task.id is not None
    person = next((p for p in journey.people if p.id == task.person), None)
    if person is None:
        return
    stage = journey.stage(check.stage)
    moment = journey.moment(check.stage, check.moment)
    subject = ("Reminder: " if reminder else "") + f"[Seam] Experience check: {check.name}"
    rendered = templates.render(
        "check_task",
        subject,
        {
            "name": person.name,
            "check": check.name,
            "stage": stage.name if stage else check.stage,
            "moment": moment.name if moment else check.moment,
            "due": task.due_at.strftime("%Y-%m-%d"),
            "reminder": reminder,
            "link": check_url(settings.public_url, task.id),
        },
    )
    kind = "reminder" if reminder else "task"
    messages.queue(
        session, f"check:{kind}:{task.id}", to_email=str(person.email), to_name=person.name, rendered=rendered
    )


def get(session: Session, task_id: int) -> CheckTask:
    task = session.get(CheckTask, task_id)
    if task is None:
        raise NotFound(f"No experience check task {task_id}.")
    return task


def record(
    session: Session, journey: Journey, task_id: int, result: ResultIn, actor: Actor, now: datetime
) -> CheckTask:
    """Stores the result as a staff item on the check's moment (once); the task is then done."""
    task = get(session, task_id)
    if task.done_at is not None:
        raise Conflict("This check was already recorded.", errors=[field_error("task", "already recorded")])
    check = next((ch for ch in journey.checks if ch.key == task.check_key), None)
    if check is None:
        raise Conflict("The journey no longer has this check.", errors=[field_error("task", "check removed")])
    touchpoint = next(
        (t.key for t in journey.touchpoints if t.stage == check.stage and t.moment == check.moment), None
    )
    item = FeedbackIn(
        source=STAFF_SOURCE,
        external_id=f"check-{task.id}",
        text=(result.notes or "").strip() or f"Experience check: {check.name}",
        score=result.score,
        scale="csat",
        touchpoint=touchpoint,
        occurred_at=now,
        metadata={"check": check.key, "check_task": task.id},
    )
    (stored,) = ingest.ingest(session, journey, [(0, item)], actor, now=now)
    assert stored.id is not None
    placed = session.get(FeedbackItem, stored.id)
    if placed is not None and (placed.stage, placed.moment) != (check.stage, check.moment):
        triage.triage(
            session, journey, stored.id, check.stage, check.moment, "experience check", actor, method="check"
        )
    task.done_at, task.item_id = now, stored.id
    session.add(task)
    return task


@dataclass(frozen=True)
class TaskView:
    task: CheckTask
    check: str
    stage: str
    moment: str
    person: str
    overdue: bool
    days_late: int


def tasks(session: Session, journey: Journey, now: datetime, state: str | None = None) -> list[TaskView]:
    """Tasks of the journey's checks: `open`, `overdue`, `done`, or all; latest cycle first."""
    c = TASKS.c
    stmt = select(CheckTask).order_by(c.due_at.desc(), c.id.desc())
    if state == "done":
        stmt = stmt.where(c.done_at.is_not(None))
    elif state == "open":
        stmt = stmt.where(c.done_at.is_(None))
    elif state == "overdue":
        stmt = stmt.where(c.done_at.is_(None), c.due_at < now)
    found = (view(journey, t, now) for t in session.execute(stmt.limit(500)).scalars())
    return [v for v in found if v is not None]


def view(journey: Journey, t: CheckTask, now: datetime) -> TaskView | None:
    """The task as people read it; None when the journey no longer has its check."""
    ch = next((c for c in journey.checks if c.key == t.check_key), None)
    if ch is None:
        return None
    st, mo = journey.stage(ch.stage), journey.moment(ch.stage, ch.moment)
    person = next((p.name for p in journey.people if p.id == t.person), t.person)
    late = t.done_at is None and t.due_at < now
    return TaskView(
        task=t,
        check=ch.name,
        stage=st.name if st else ch.stage,
        moment=mo.name if mo else ch.moment,
        person=person,
        overdue=late,
        days_late=(now - t.due_at).days if late else 0,
    )


def overdue_lines(session: Session, journey: Journey, now: datetime) -> list[OverdueCheckLine]:
    """The overdue checks for the leadership digest, longest late first."""
    late = sorted(tasks(session, journey, now, "overdue"), key=lambda v: (-v.days_late, v.task.id or 0))
    return [
        OverdueCheckLine(
            check=v.check,
            stage=v.stage,
            person=v.person,
            due=v.task.due_at.date().isoformat(),
            days_late=v.days_late,
        )
        for v in late
    ]


def checks_job(run: JobRun) -> None:
    with Session(run.engine) as session:
        journey = journeys.current_or_none(session)
        if journey is None or not journey.checks:
            return
        created = assign_due(session, journey, run.now, run.settings)
        reminded = remind_due(session, journey, run.now, run.settings)
        session.commit()
    log.info("experience checks: %d assigned, %d reminded", len(created), reminded)
