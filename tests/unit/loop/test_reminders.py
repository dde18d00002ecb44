from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from app.journey.accountability import DEFAULT_POLICY, AccountabilityPolicy, Cadence, QuietHours
from app.journey.schemas import Journey
from app.loop.reminders import (
    Acknowledgement,
    Chain,
    DueReminder,
    Recipient,
    ReminderState,
    SentReminder,
    Slot,
    Snooze,
    chain_for,
    due_reminders,
    escalation_level,
    latest_slot,
    out_of_quiet_hours,
    recipients,
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


# --- slots, levels, chains and quiet hours on their own ------------------------------------------------


def test_latest_slot_walks_before_due_then_due_then_overdue() -> None:
    cadence = Cadence(before_due=[2 * DAY, timedelta(hours=6)], at_due=True, overdue_every=DAY)
    assert latest_slot(DUE, cadence, DUE - 2 * DAY - timedelta(seconds=1)) is None
    assert latest_slot(DUE, cadence, DUE - 2 * DAY) == Slot(at=DUE - 2 * DAY, kind="before_due")
    assert latest_slot(DUE, cadence, DUE - timedelta(hours=1)) == Slot(
        at=DUE - timedelta(hours=6), kind="before_due"
    )
    assert latest_slot(DUE, cadence, DUE) == Slot(at=DUE, kind="at_due")
    assert latest_slot(DUE, cadence, DUE + DAY - timedelta(seconds=1)) == Slot(at=DUE, kind="at_due")
    assert latest_slot(DUE, cadence, DUE + DAY) == Slot(at=DUE + DAY, kind="overdue")
    # a sweep that was down for a week sees one slot, the latest
    assert latest_slot(DUE, cadence, DUE + 7 * DAY + timedelta(hours=3)) == Slot(
        at=DUE + 7 * DAY, kind="overdue"
    )


def test_without_at_due_the_last_before_due_slot_holds_until_the_first_overdue_one() -> None:
    cadence = Cadence(before_due=[DAY], at_due=False, overdue_every=2 * DAY)
    assert latest_slot(DUE, cadence, DUE + DAY) == Slot(at=DUE - DAY, kind="before_due")
    assert latest_slot(DUE, cadence, DUE + 2 * DAY) == Slot(at=DUE + 2 * DAY, kind="overdue")
    assert latest_slot(DUE, Cadence(before_due=[], at_due=False), DUE) is None


@given(st.integers(min_value=-10 * 24 * 60, max_value=30 * 24 * 60))
def test_the_latest_slot_has_passed_and_no_later_slot_has(minutes: int) -> None:
    cadence = DEFAULT_POLICY.reminders.p2
    now = DUE + timedelta(minutes=minutes)
    slot = latest_slot(DUE, cadence, now)
    first = DUE - max(cadence.before_due)
    if now < first:
        assert slot is None
        return
    assert slot is not None and slot.at <= now
    assert now - slot.at < max(cadence.overdue_every, max(cadence.before_due))
    if slot.kind == "overdue":
        assert (slot.at - DUE) % cadence.overdue_every == timedelta(0) and slot.at > DUE


def test_escalation_level_counts_unacknowledged_slots_and_stops_at_the_chain_top() -> None:
    sent = [SentReminder(slot=DUE + n * DAY, person="tom", at=DUE + n * DAY) for n in range(6)]
    st_ = state(sent=sent)
    assert escalation_level(st_, DUE + DAY, DUE + DAY, after=2, steps=2) == 0  # one earlier slot
    assert escalation_level(st_, DUE + 2 * DAY, DUE + 2 * DAY, after=2, steps=2) == 1
    assert escalation_level(st_, DUE + 6 * DAY, DUE + 6 * DAY, after=2, steps=2) == 2
    assert escalation_level(st_, DUE + 6 * DAY, DUE + 6 * DAY, after=2, steps=1) == 1  # no CX lead
    assert escalation_level(st_, DUE + 6 * DAY, DUE + 6 * DAY, after=1, steps=0) == 0
    acked = st_.model_copy(
        update={"acknowledgements": [Acknowledgement(at=DUE + 5 * DAY + timedelta(hours=1))]}
    )
    assert escalation_level(acked, DUE + 6 * DAY, DUE + 6 * DAY, after=2, steps=2) == 0
    # an acknowledgement that has not happened yet at `now` does not count
    assert escalation_level(acked, DUE + 6 * DAY, DUE + 5 * DAY, after=2, steps=2) == 2


def test_a_level_once_reached_is_kept_for_later_slots() -> None:
    sent = [SentReminder(slot=DUE, person="dana", level=2, at=DUE)]
    assert escalation_level(state(sent=sent), DUE + DAY, DUE + DAY, after=5, steps=2) == 2


def test_recipients_add_steps_by_level_and_name_each_person_once() -> None:
    assert [r.person for r in recipients(CHAIN, 0)] == ["tom", "ravi"]
    assert [r.person for r in recipients(CHAIN, 1)] == ["tom", "ravi", "dana"]
    assert [r.person for r in recipients(CHAIN, 2)] == ["tom", "ravi", "dana", "kim"]
    assert [r.person for r in recipients(CHAIN, 9)] == ["tom", "ravi", "dana", "kim"]
    owner_twice = CHAIN.model_copy(update={"teams": [CHAIN.owner.model_copy(update={"role": "team"})]})
    assert [r.person for r in recipients(owner_twice, 0)] == ["tom"]


def test_escalation_skips_missing_people_and_the_owner_as_sponsor() -> None:
    owner = CHAIN.owner
    alone = Chain(owner=owner)
    assert alone.escalation_steps() == []
    self_sponsored = Chain(
        owner=owner, sponsor=owner.model_copy(update={"role": "sponsor"}), cx_lead=CHAIN.cx_lead
    )
    assert [s.person for s in self_sponsored.escalation_steps()] == ["kim"]


def test_dedupe_key_names_the_slot_in_utc_whatever_its_zone() -> None:
    local = DUE.astimezone(ZoneInfo("Asia/Kolkata"))
    reminder = due_reminders(state(due=local), CHAIN, DEFAULT_POLICY, DUE)[0]
    assert reminder.dedupe_key("7") == "reminder:7:20261105T160000Z:tom"
    assert not reminder.escalation


def test_nothing_without_a_due_date() -> None:
    assert due_reminders(state(due=None), CHAIN, DEFAULT_POLICY, DUE + 5 * DAY) == []


def test_daytime_quiet_hours_and_their_edges() -> None:
    lunch = QuietHours(start=time(12, 0), end=time(13, 30))
    noon = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)
    assert out_of_quiet_hours(noon - timedelta(minutes=1), "UTC", lunch) == noon - timedelta(minutes=1)
    assert out_of_quiet_hours(noon, "UTC", lunch) == noon.replace(hour=13, minute=30)  # start is quiet
    assert out_of_quiet_hours(noon.replace(hour=13, minute=30), "UTC", lunch) == noon.replace(
        hour=13, minute=30
    )
    night = QuietHours()
    eight = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    assert out_of_quiet_hours(eight, "UTC", night) == eight  # end is awake
    assert out_of_quiet_hours(eight.replace(hour=20), "UTC", night) == datetime(2026, 11, 11, 8, tzinfo=UTC)


ZONES = ["UTC", "Europe/London", "Asia/Kolkata", "America/New_York", "Pacific/Auckland", "Asia/Kathmandu"]


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    st.sampled_from(ZONES),
    st.booleans(),
    st.sampled_from([(time(20, 0), time(8, 0)), (time(22, 30), time(6, 15)), (time(12, 0), time(14, 0))]),
)
def test_delivery_is_never_earlier_and_never_inside_quiet_hours(
    at: datetime, zone: str, weekends: bool, window: tuple[time, time]
) -> None:
    quiet = QuietHours(start=window[0], end=window[1], weekends=weekends)
    out = out_of_quiet_hours(at, zone, quiet)
    assert out >= at
    assert out - at <= timedelta(days=4)  # at most a night and a weekend
    start, end = window

    def asleep(t: time) -> bool:
        return start <= t < end if start < end else (t >= start or t < end)

    local = out.astimezone(ZoneInfo(zone))
    assert not asleep(local.time()), local
    if weekends:
        assert local.weekday() < 5, local
    at_local = at.astimezone(ZoneInfo(zone))
    if not asleep(at_local.time()) and not (weekends and at_local.weekday() >= 5):
        assert out == at  # awake already: sent at once


def test_chain_for_an_unknown_stage_and_unknown_teams() -> None:
    with open("examples/journey.yaml") as fh:
        journey = Journey.model_validate(yaml.safe_load(fh))
    with pytest.raises(KeyError, match="unknown stage 'nowhere'"):
        chain_for(journey, "nowhere", [])
    chain = chain_for(journey, "use", ["no-such-team", "kitchen"])
    assert chain.owner.person == "maya" and chain.owner.role == "owner"
    assert [(r.person, r.role, r.team) for r in chain.teams] == [("maya", "team", "kitchen")]
    assert chain_for(journey, "use", []).teams == []


@given(st.integers(min_value=-3 * 24, max_value=12 * 24), st.sampled_from(["p1", "p2", "p3", "p4"]))
def test_what_is_due_has_passed_goes_to_each_person_once_and_is_not_sent_twice(
    hours: int, priority: str
) -> None:
    now = DUE + timedelta(hours=hours)
    st_ = state(priority=priority)
    out = due_reminders(st_, CHAIN, DEFAULT_POLICY, now)
    assert len({r.person for r in out}) == len(out)
    assert len({r.slot for r in out}) <= 1
    for r in out:
        assert r.slot <= r.deliver_at <= now
        assert r.overdue_by == max(timedelta(0), now - DUE)
    assert (
        due_reminders(st_.model_copy(update={"sent": sent_all(out, now)}), CHAIN, DEFAULT_POLICY, now) == []
    )
