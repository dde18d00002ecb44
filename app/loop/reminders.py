"""Which reminders are due now, and to whom. Pure: the caller passes the issue's state and the clock.

The cadence of a priority gives *slots* on the time line: `before_due` offsets, the due time itself,
then one every `overdue_every` after it. At any moment only the latest slot that has passed counts: a
sweep that was down for a day sends one reminder, not a backlog. Each recipient receives a slot once
(the dedupe key names slot and person), at the slot's time moved out of their own quiet hours.

Escalation: every reminder slot sent since the last acknowledgement counts as unacknowledged; after
`escalation.after` of them the next slot also goes to the stage's sponsor, after twice as many to the
CX lead as well (missing or duplicate people in the chain are skipped).

Acknowledging an issue resets that count, settles every slot up to the acknowledgement and drops the
remaining before-due slots (the owner has it in hand; only the due date and overdue reminders follow).
A snooze silences everything until its end; slots that fall inside it are skipped, not sent late.
Nothing is sent once the issue is confirmed or declined, nor while its fix is under verification.

Bundling (app.loop.jobs): what is due for one person is sent as one message, at most one a day in
their own time zone (`bundle_kind` separates a person's reminders from the escalations that reach them:
a CX lead gets at most one reminder message and one escalation summary a day). A slot that comes due
after that day's message went waits for the next day's, where only its latest slot counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from app.journey.accountability import AccountabilityPolicy, Cadence, Priority, QuietHours
from app.journey.schemas import Journey

# fix_shipped waits for the verification window, not for people; confirmed/declined/merged are done.
REMINDING = frozenset({"open", "acknowledged", "fixing", "reopened"})

Role = Literal["owner", "team", "sponsor", "cx_lead"]
SlotKind = Literal["before_due", "at_due", "overdue"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Recipient(_Frozen):
    person: str
    email: str
    timezone: str = "UTC"
    role: Role
    team: str | None = Field(default=None, description="for role 'team': whose open part this is")


class Chain(_Frozen):
    """Who hears about one issue: the stage owner, members of contributing teams whose part is still
    open, and the escalation steps."""

    owner: Recipient
    teams: list[Recipient] = Field(default_factory=list)
    sponsor: Recipient | None = None
    cx_lead: Recipient | None = None

    def escalation_steps(self) -> list[Recipient]:
        seen = {self.owner.person}
        steps = []
        for step in (self.sponsor, self.cx_lead):
            if step is not None and step.person not in seen:
                steps.append(step)
                seen.add(step.person)
        return steps


class SentReminder(_Frozen):
    slot: datetime
    person: str
    level: int = 0
    at: datetime


class Acknowledgement(_Frozen):
    at: datetime
    by: str | None = None


class Snooze(_Frozen):
    at: datetime
    until: datetime
    reason: str = ""
    by: str | None = None


class ReminderState(_Frozen):
    status: str
    priority: Priority
    due: datetime | None
    sent: list[SentReminder] = Field(default_factory=list)
    acknowledgements: list[Acknowledgement] = Field(default_factory=list)
    snoozes: list[Snooze] = Field(default_factory=list)


class Slot(_Frozen):
    at: datetime
    kind: SlotKind


class DueReminder(_Frozen):
    person: str
    email: str
    timezone: str = "UTC"
    role: Role
    team: str | None
    slot: datetime
    kind: SlotKind
    level: int = Field(description="0 owner and teams; 1 sponsor added; 2 CX lead added")
    deliver_at: datetime = Field(description="the slot moved out of this person's quiet hours")
    overdue_by: timedelta

    @property
    def escalation(self) -> bool:
        return self.role in ("sponsor", "cx_lead")

    def local_day(self, at: datetime) -> date:
        """The recipient's own calendar day at `at`: what 'one message a day' counts in."""
        return at.astimezone(ZoneInfo(self.timezone)).date()

    def dedupe_key(self, issue_id: int | str) -> str:
        return f"reminder:{issue_id}:{self.slot.astimezone(UTC):%Y%m%dT%H%M%SZ}:{self.person}"


BundleKind = Literal["reminders", "escalations"]


def bundle_kind(role: str) -> BundleKind:
    return "escalations" if role in ("sponsor", "cx_lead") else "reminders"


# --- time ---------------------------------------------------------------------------------------


def latest_slot(due: datetime, cadence: Cadence, now: datetime) -> Slot | None:
    """The last slot at or before `now`, or None before the first one."""
    if now >= due:
        steps = (now - due) // cadence.overdue_every
        if steps >= 1:
            return Slot(at=due + steps * cadence.overdue_every, kind="overdue")
        if cadence.at_due:
            return Slot(at=due, kind="at_due")
    befores = sorted((due - off for off in cadence.before_due if due - off <= now), reverse=True)
    return Slot(at=befores[0], kind="before_due") if befores else None


def _quiet(local: datetime, quiet: QuietHours) -> bool:
    t = local.time().replace(tzinfo=None)
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end


def _at_local(day: date, quiet: QuietHours, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, quiet.end, tzinfo=zone)


def out_of_quiet_hours(at: datetime, timezone: str, quiet: QuietHours | None) -> datetime:
    """`at`, or the end of the quiet period it falls in, in the recipient's own time zone (UTC out)."""
    if quiet is None:
        return at.astimezone(UTC)
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    for _ in range(4):  # a quiet night, then at most a weekend, then settled
        moved = local
        if _quiet(local, quiet):
            t = local.time().replace(tzinfo=None)
            wraps = quiet.start > quiet.end
            day = local.date() + timedelta(days=1) if wraps and t >= quiet.start else local.date()
            moved = _at_local(day, quiet, zone)
        if quiet.weekends and moved.weekday() >= 5:
            monday = moved.date() + timedelta(days=7 - moved.weekday())
            moved = _at_local(monday, quiet, zone)
        if moved == local:
            break
        local = moved
    return local.astimezone(UTC)


# --- the decision -------------------------------------------------------------------------------


def _last_ack(state: ReminderState, now: datetime) -> datetime | None:
    times = [a.at for a in state.acknowledgements if a.at <= now]
    return max(times) if times else None


def _snoozed(state: ReminderState, slot_at: datetime, now: datetime) -> bool:
    return any(s.at <= now < s.until or s.at <= slot_at < s.until for s in state.snoozes)


def escalation_level(state: ReminderState, slot_at: datetime, now: datetime, after: int, steps: int) -> int:
    """How far up the chain the reminder for `slot_at` goes."""
    ack = _last_ack(state, now)
    unacked = {r.slot for r in state.sent if r.slot < slot_at and (ack is None or r.at > ack)}
    earlier = [r.level for r in state.sent if r.slot < slot_at and (ack is None or r.at > ack)]
    level = max([len(unacked) // after, *earlier])
    return min(level, steps)


def recipients(chain: Chain, level: int) -> list[Recipient]:
    out: list[Recipient] = []
    seen: set[str] = set()
    for r in [chain.owner, *chain.teams, *chain.escalation_steps()[:level]]:
        if r.person not in seen:
            out.append(r)
            seen.add(r.person)
    return out


def due_reminders(
    state: ReminderState, chain: Chain, policy: AccountabilityPolicy, now: datetime
) -> list[DueReminder]:
    """The reminders to send at `now` (each one once per slot and person; re-asking is harmless)."""
    if state.status not in REMINDING or state.due is None:
        return []
    slot = latest_slot(state.due, policy.reminders.get(state.priority), now)
    if slot is None or _snoozed(state, slot.at, now):
        return []
    ack = _last_ack(state, now)
    if ack is not None and (slot.at <= ack or slot.kind == "before_due"):
        return []
    steps = chain.escalation_steps()
    level = escalation_level(state, slot.at, now, policy.escalation.after, len(steps))
    already = {r.person for r in state.sent if r.slot == slot.at}
    out = []
    for r in recipients(chain, level):
        if r.person in already:
            continue
        deliver_at = out_of_quiet_hours(slot.at, r.timezone, policy.quiet_hours)
        # Nor sent late into a quiet night: a reminder held back (by a day's message gone already)
        # waits for the recipient's morning.
        if deliver_at > now or out_of_quiet_hours(now, r.timezone, policy.quiet_hours) > now:
            continue
        out.append(
            DueReminder(
                person=r.person,
                email=r.email,
                timezone=r.timezone,
                role=r.role,
                team=r.team,
                slot=slot.at,
                kind=slot.kind,
                level=level,
                deliver_at=deliver_at,
                overdue_by=max(timedelta(0), now - state.due),
            )
        )
    return out


def chain_for(journey: Journey, stage_key: str, open_teams: Iterable[str]) -> Chain:
    """The chain for an issue in `stage_key` whose contributions by `open_teams` are still open."""
    people = {p.id: p for p in journey.people}
    stage = journey.stage(stage_key)
    if stage is None:
        raise KeyError(f"unknown stage '{stage_key}'")

    def person(pid: str, role: Role, team: str | None = None) -> Recipient:
        p = people[pid]
        return Recipient(person=p.id, email=str(p.email), timezone=p.timezone, role=role, team=team)

    teams = {t.key: t for t in journey.teams}
    members = [
        person(member, "team", key)
        for key in open_teams
        if key in teams
        for member in teams[key].members
        if member in people
    ]
    sponsor = person(stage.sponsor, "sponsor") if stage.sponsor in people else None
    lead = person(journey.cx_lead, "cx_lead") if journey.cx_lead in people else None
    return Chain(owner=person(stage.owner, "owner"), teams=members, sponsor=sponsor, cx_lead=lead)
