from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.core.durations import format_duration, parse_duration
from app.journey.accountability import (
    DEFAULT_POLICY,
    PRIORITIES,
    AccountabilityPolicy,
    policy_errors,
)


def test_policy_reads_yaml_durations_and_round_trips() -> None:
    doc = yaml.safe_load(
        """
        sla: {p1: 2d, p2: 5d, p3: 2w, p4: 30d}
        reminders:
          p1: {before_due: [1d, 4h], overdue_every: 12h}
        escalation: {after: 3}
        quiet_hours: {start: "21:30", end: "07:15", weekends: true}
        """
    )
    policy = AccountabilityPolicy.model_validate(doc)
    assert policy.sla.p1 == timedelta(days=2)
    assert policy.reminders.p1.before_due == [timedelta(days=1), timedelta(hours=4)]
    assert policy.reminders.p1.overdue_every == timedelta(hours=12)
    assert policy.reminders.p2 == DEFAULT_POLICY.reminders.p2
    assert policy.quiet_hours is not None and policy.quiet_hours.start.hour == 21
    dumped = policy.model_dump(mode="json")
    assert dumped["sla"] == {"p1": "2d", "p2": "5d", "p3": "2w", "p4": "30d"}
    assert dumped["quiet_hours"] == {"start": "21:30", "end": "07:15", "weekends": True}
    assert AccountabilityPolicy.model_validate(dumped) == policy


@pytest.mark.parametrize(
    ("doc", "path", "words"),
    [
        ({"sla": {"p1": "3 days"}}, "accountability.sla.p1", "expected a duration"),
        ({"sla": {"p2": "0d"}}, "accountability.sla.p2", "positive"),
        ({"sla": {"p1": "10d"}}, "accountability.sla", "sla.p1 (10d) is longer than sla.p2"),
        ({"quiet_hours": {"start": "24:00"}}, "accountability.quiet_hours.start", "HH:MM"),
        ({"quiet_hours": {"start": "08:00", "end": "08:00"}}, "accountability.quiet_hours", "equals"),
        ({"escalation": {"after": 0}}, "accountability.escalation.after", "greater than or equal to 1"),
        ({"reminders": {"p5": {}}}, "accountability.reminders.p5", "Extra inputs"),
        ({"impact": {"thresholds": {"p2": 500}}}, "accountability.impact.thresholds", "fall from p1"),
        ({"reminders": {"p1": {"before_due": ["3d"]}}}, "accountability", "reminders.p1.before_due[0]"),
        (
            {"verification": {"reopen_after_no": 0}},
            "accountability.verification.reopen_after_no",
            "greater than or equal to 1",
        ),
    ],
)
def test_policy_errors_name_the_field(doc: dict[str, object], path: str, words: str) -> None:
    errors = policy_errors(doc)
    assert errors, doc
    assert any(p == path and words in msg for p, msg in errors), errors


def test_unquoted_yaml_clock_times_are_understood() -> None:
    doc = yaml.safe_load("quiet_hours: {start: 20:00, end: 07:30}")
    assert doc["quiet_hours"]["start"] == 1200  # what YAML 1.1 makes of it
    quiet = AccountabilityPolicy.model_validate(doc).quiet_hours
    assert quiet is not None and (quiet.start.hour, quiet.start.minute) == (20, 0)
    assert (quiet.end.hour, quiet.end.minute) == (7, 30)
    assert policy_errors({"quiet_hours": {"start": 5000}})[0][0] == "accountability.quiet_hours.start"


def test_quiet_hours_can_be_switched_off() -> None:
    assert AccountabilityPolicy.model_validate({"quiet_hours": None}).quiet_hours is None
    assert policy_errors(None) == []


def test_parse_duration_combined_units() -> None:
    assert parse_duration("1d12h") == timedelta(hours=36)
    with pytest.raises(ValueError):
        parse_duration("-1d")
    with pytest.raises(ValidationError):
        AccountabilityPolicy.model_validate({"sla": {"p1": 3}})


# --- durations and the remaining rules ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        (" 3D ", timedelta(days=3)),
    ],
)
def test_parse_duration_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(expected) == expected


@pytest.mark.parametrize(
    "bad", ["", "0m", "0d0h", "1.5d", "3 d", "3x", "d", 3, None, timedelta(0), timedelta(-1)]
)
def test_parse_duration_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(weeks=2), "2w"),
        (timedelta(days=3), "3d"),
        (timedelta(days=1, hours=12), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=90), "1m"),
    ],
)
def test_format_duration_picks_the_largest_whole_unit(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.integers(min_value=1, max_value=10**6))
def test_whole_minutes_survive_a_round_trip(minutes: int) -> None:
    value = timedelta(minutes=minutes)
    assert parse_duration(format_duration(value)) == value


@given(st.lists(st.tuples(st.integers(0, 500), st.sampled_from("mhdw")), min_size=1, max_size=4))
def test_combined_durations_add_up(parts: list[tuple[int, str]]) -> None:
    text = "".join(f"{n}{u}" for n, u in parts)
    size = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
    total = sum(n * size[u] for n, u in parts)
    if total == 0:
        with pytest.raises(ValueError, match="positive"):
            parse_duration(text)
    else:
        assert parse_duration(text) == timedelta(seconds=total)


def test_defaults_are_usable_and_ordered() -> None:
    policy = AccountabilityPolicy()
    assert policy == DEFAULT_POLICY
    slas = [policy.sla.get(p) for p in PRIORITIES]
    assert slas == sorted(slas) and slas[0] == timedelta(days=3)
    assert (
        policy.quiet_hours is not None and policy.quiet_hours.start > policy.quiet_hours.end
    )  # wraps midnight
    for p in PRIORITIES:
        assert all(offset < policy.sla.get(p) for offset in policy.reminders.get(p).before_due)


@pytest.mark.parametrize(
    ("doc", "path", "words"),
    [
        ({"impact": {"per_item": 0, "per_customer": 0}}, "accountability.impact", "cannot both be 0"),
        ({"impact": {"detractor_boost": 11}}, "accountability.impact.detractor_boost", "less than or equal"),
        ({"escalation": {"after": 21}}, "accountability.escalation.after", "less than or equal"),
        (
            {"reminders": {"p1": {"before_due": ["1h"] * 11}}},
            "accountability.reminders.p1.before_due",
            "at most 10",
        ),
        (
            {"verification": {"max_rate_ratio": 0}},
            "accountability.verification.max_rate_ratio",
            "greater than 0",
        ),
        ({"sla": {"p9": "1d"}}, "accountability.sla.p9", "Extra inputs"),
        ({"quiet_hours": {"start": "7:00"}}, "accountability.quiet_hours.start", "HH:MM"),
        ({"quiet_hours": {"start": True}}, "accountability.quiet_hours.start", "HH:MM"),
    ],
)
def test_more_policy_errors_name_the_field(doc: dict[str, object], path: str, words: str) -> None:
    errors = policy_errors(doc)
    assert any(p == path and words in msg for p, msg in errors), errors


def test_policy_errors_report_every_problem_at_once() -> None:
    errors = policy_errors({"sla": {"p1": "x"}, "escalation": {"after": 0}})
    assert {p for p, _ in errors} == {"accountability.sla.p1", "accountability.escalation.after"}


def test_the_policy_is_frozen() -> None:
    with pytest.raises(ValidationError):
        DEFAULT_POLICY.escalation.after = 5  # type: ignore[misc]
