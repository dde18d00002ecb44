from __future__ import annotations

from datetime import timedelta

import pytest
import yaml
from pydantic import ValidationError

from app.loop.policy import DEFAULT_POLICY, AccountabilityPolicy, parse_duration, policy_errors


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
