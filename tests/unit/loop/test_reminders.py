from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from app.journey.accountability import DEFAULT_POLICY, AccountabilityPolicy, QuietHours
from app.journey.schemas import Journey
from app.loop.reminders import (
    Acknowledgement,
    Chain,
    DueReminder,
    Recipient,
    ReminderState,
    SentReminder,
    Snooze,
    chain_for,
    due_reminders,
    out_of_quiet_hours,
)

# Thursday 16:00 UTC: 16:00 in London, 21:30 in Kolkata (quiet), 11:00 in New York.
DUE = datetime(2026, 11, 5, 16, 0, tzinfo=UTC)
DAY = timedelta(days=1)

CHAIN = Chain(
    owner=Recipient(person="tom", email="tom@x.example", timezone="Europe/London", role="owner"),
    teams=[
        Recipient(person="ravi", email="ravi@x.example", timezone="Asia/Kolkata", role="team", team="billing")
    ],
    sponsor=Recipient(person="dana", email="dana@x.example", timezone="Europe/London", role="sponsor"),
    cx_lead=Recipient(person="kim", email="kim@x.example", timezone="America/New_York", role="cx_lead"),
)


def state(**kw: object) -> ReminderState:
    base: dict[str, object] = {"status": "fixing", "priority": "p1", "due": DUE}
    base.update(kw)
    return ReminderState.model_validate(base)


def sent_all(reminders: list[DueReminder], at: datetime) -> list[SentReminder]:
    return [SentReminder(slot=r.slot, person=r.person, level=r.level, at=at) for r in reminders]


def people(reminders: list[DueReminder]) -> list[str]:
    return sorted(r.person for r in reminders)


def test_nothing_before_the_first_slot() -> None:
    assert due_reminders(state(), CHAIN, DEFAULT_POLICY, DUE - 2 * DAY) == []


def test_before_due_goes_to_owner_now_and_to_kolkata_after_its_quiet_night() -> None:
    slot = DUE - DAY  # Wednesday 16:00 UTC
    now = slot + timedelta(minutes=1)
    first = due_reminders(state(), CHAIN, DEFAULT_POLICY, now)
    assert [(r.person, r.kind, r.level, r.role) for r in first] == [("tom", "before_due", 0, "owner")]
    assert first[0].deliver_at == slot and first[0].overdue_by == timedelta(0)
    # Ravi's 21:30 falls in quiet hours: his copy waits for 08:00 IST = 02:30 UTC next day.
    sent = sent_all(first, now)
    assert (
        due_reminders(state(sent=sent), CHAIN, DEFAULT_POLICY, slot + timedelta(hours=10, minutes=29)) == []
    )
    later = due_reminders(state(sent=sent), CHAIN, DEFAULT_POLICY, slot + timedelta(hours=10, minutes=30))
    assert [(r.person, r.slot) for r in later] == [("ravi", slot)]
    assert later[0].deliver_at == datetime(2026, 11, 5, 2, 30, tzinfo=UTC)
    # sent to both: asking again is harmless
    sent += sent_all(later, slot + timedelta(hours=11))
    assert due_reminders(state(sent=sent), CHAIN, DEFAULT_POLICY, slot + timedelta(hours=12)) == []


def test_at_due_and_then_every_day_overdue() -> None:
    at_due = due_reminders(state(), CHAIN, DEFAULT_POLICY, DUE)
    assert {(r.person, r.kind) for r in at_due} == {("tom", "at_due")}
    now = DUE + 2 * DAY + timedelta(hours=1)
    overdue = due_reminders(state(), CHAIN, DEFAULT_POLICY, now)
    assert [(r.person, r.kind, r.slot) for r in overdue] == [("tom", "overdue", DUE + 2 * DAY)]
    assert overdue[0].overdue_by == 2 * DAY + timedelta(hours=1)
    assert overdue[0].dedupe_key(42) == "reminder:42:20261107T160000Z:tom"


def test_cadence_follows_priority() -> None:
    # p3: 3 days before due, then every 3 days overdue
    assert (
        due_reminders(state(priority="p3"), CHAIN, DEFAULT_POLICY, DUE - 3 * DAY - timedelta(hours=1)) == []
    )
    assert due_reminders(state(priority="p3"), CHAIN, DEFAULT_POLICY, DUE - 3 * DAY)[0].kind == "before_due"
    slots = {r.slot for r in due_reminders(state(priority="p3"), CHAIN, DEFAULT_POLICY, DUE + 2 * DAY)}
    assert slots == {DUE}  # the first overdue slot is DUE + 3d
    slots = {r.slot for r in due_reminders(state(priority="p3"), CHAIN, DEFAULT_POLICY, DUE + 5 * DAY)}
    assert slots == {DUE + 3 * DAY}


def _run(st: ReminderState, start: datetime, until: datetime) -> tuple[ReminderState, list[DueReminder]]:
    """Sweeps every hour from `start` to `until`, recording what was sent."""
    sent = list(st.sent)
    log: list[DueReminder] = []
    now = start
    while now <= until:
        out = due_reminders(st.model_copy(update={"sent": sent}), CHAIN, DEFAULT_POLICY, now)
        sent += sent_all(out, now)
        log += out
        now += timedelta(hours=1)
    return st.model_copy(update={"sent": sent}), log


def test_escalates_to_sponsor_then_cx_lead_after_unacknowledged_reminders() -> None:
    _, log = _run(state(), DUE - DAY - timedelta(hours=1), DUE + 4 * DAY + timedelta(hours=12))
    by_slot: dict[datetime, set[str]] = {}
    for r in log:
        by_slot.setdefault(r.slot, set()).add(r.person)
    slots = sorted(by_slot)
    assert slots == [DUE - DAY, DUE, DUE + DAY, DUE + 2 * DAY, DUE + 3 * DAY, DUE + 4 * DAY]
    # escalation.after = 2: slots 1-2 owner and team, 3-4 plus sponsor, 5+ plus CX lead
    assert by_slot[slots[0]] == by_slot[slots[1]] == {"tom", "ravi"}
    assert by_slot[slots[2]] == by_slot[slots[3]] == {"tom", "ravi", "dana"}
    assert by_slot[slots[4]] == by_slot[slots[5]] == {"tom", "ravi", "dana", "kim"}
    levels = {r.slot: r.level for r in log}
    assert [levels[s] for s in slots] == [0, 0, 1, 1, 2, 2]
    assert all(r.escalation == (r.person in {"dana", "kim"}) for r in log)


def test_acknowledge_resets_escalation_and_drops_before_due_reminders() -> None:
    escalated, _ = _run(
        state(), DUE - DAY - timedelta(hours=1), DUE + 2 * DAY + timedelta(hours=11)
    )  # level 1 at DUE+2d
    ack_at = DUE + 2 * DAY + timedelta(hours=12)
    acked = escalated.model_copy(update={"acknowledgements": [Acknowledgement(at=ack_at, by="tom")]})
    # the acknowledged slot is settled; the next one goes to owner and team only
    assert due_reminders(acked, CHAIN, DEFAULT_POLICY, ack_at + timedelta(hours=1)) == []
    nxt = due_reminders(acked, CHAIN, DEFAULT_POLICY, DUE + 3 * DAY + timedelta(hours=1))
    assert {r.person for r in nxt} == {"tom"}  # ravi's copy waits for Kolkata's morning
    assert {r.level for r in nxt} == {0}
    # before due, acknowledging silences the remaining before-due reminders
    policy = AccountabilityPolicy.model_validate({"reminders": {"p1": {"before_due": ["2d", "1d"]}}})
    early = state(acknowledgements=[Acknowledgement(at=DUE - 2 * DAY + timedelta(hours=1))])
    assert due_reminders(early, CHAIN, policy, DUE - DAY + timedelta(hours=1)) == []
    assert people(due_reminders(early, CHAIN, policy, DUE)) == ["tom"]


def test_snooze_pauses_and_skips_slots_inside_it() -> None:
    snooze = Snooze(at=DUE - timedelta(hours=1), until=DUE + DAY + timedelta(hours=6), reason="vendor fix")
    st = state(snoozes=[snooze])
    assert due_reminders(st, CHAIN, DEFAULT_POLICY, DUE) == []
    assert due_reminders(st, CHAIN, DEFAULT_POLICY, DUE + DAY + timedelta(hours=5)) == []
    # the DUE + 1d slot fell inside the snooze and is not sent late
    assert due_reminders(st, CHAIN, DEFAULT_POLICY, DUE + DAY + timedelta(hours=7)) == []
    resumed = due_reminders(st, CHAIN, DEFAULT_POLICY, DUE + 2 * DAY)
    assert [(r.person, r.slot) for r in resumed] == [("tom", DUE + 2 * DAY)]


@pytest.mark.parametrize("status", ["confirmed", "declined", "fix_shipped", "merged"])
def test_nothing_once_confirmed_declined_or_under_verification(status: str) -> None:
    assert due_reminders(state(status=status), CHAIN, DEFAULT_POLICY, DUE + 3 * DAY) == []


def test_reopened_issue_is_reminded_again() -> None:
    assert people(due_reminders(state(status="reopened"), CHAIN, DEFAULT_POLICY, DUE)) == ["tom"]


def test_quiet_hours_in_each_recipients_zone() -> None:
    quiet = QuietHours()
    # 22:00 UTC: 22:00 in London (quiet) -> 08:00 London next day; 03:30 in Kolkata -> 08:00 IST same day
    at = datetime(2026, 11, 10, 22, 0, tzinfo=UTC)
    assert out_of_quiet_hours(at, "Europe/London", quiet) == datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
    assert out_of_quiet_hours(at, "Asia/Kolkata", quiet) == datetime(2026, 11, 11, 2, 30, tzinfo=UTC)
    # 12:00 UTC: daytime in both
    noon = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    assert out_of_quiet_hours(noon, "Europe/London", quiet) == noon
    assert out_of_quiet_hours(noon, "Asia/Kolkata", quiet) == noon
    # London in summer time: 07:30 UTC is 08:30 BST, already awake
    summer = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)
    assert out_of_quiet_hours(summer, "Europe/London", quiet) == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    # weekends held until Monday morning when asked
    saturday = datetime(2026, 11, 14, 12, 0, tzinfo=UTC)
    weekend = QuietHours(weekends=True)
    assert out_of_quiet_hours(saturday, "Europe/London", weekend) == datetime(2026, 11, 16, 8, tzinfo=UTC)
    friday_late = datetime(2026, 11, 13, 21, 0, tzinfo=UTC)
    assert out_of_quiet_hours(friday_late, "Europe/London", weekend) == datetime(2026, 11, 16, 8, tzinfo=UTC)
    assert out_of_quiet_hours(at, "Europe/London", None) == at


def test_chain_from_the_example_journey() -> None:
    with open("examples/journey.yaml") as fh:
        journey = Journey.model_validate(yaml.safe_load(fh))
    chain = chain_for(journey, "pay", ["billing", "support"])
    assert chain.owner.person == "ravi" and chain.owner.timezone == "Asia/Kolkata"
    # ravi is also Billing's only member: he is reminded once, as owner
    assert [(r.person, r.team) for r in chain.teams] == [
        ("ravi", "billing"),
        ("amara", "support"),
        ("jo", "support"),
    ]
    assert chain.sponsor is not None and chain.sponsor.person == "dana"
    assert chain.cx_lead is not None and chain.cx_lead.person == "dana"
    assert [s.person for s in chain.escalation_steps()] == ["dana"]  # sponsor and CX lead are one person
    reminders = due_reminders(state(), chain, DEFAULT_POLICY.model_copy(update={"quiet_hours": None}), DUE)
    assert people(reminders) == ["amara", "jo", "ravi"]
