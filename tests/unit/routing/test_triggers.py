from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from app.journey.triggers import CustomerEvent, TriggerSpec, evaluate, parse_duration

T0 = datetime(2026, 1, 1, 12, 0)


def ev(day: float, item: str, stage: str = "get_help", source: str = "email") -> CustomerEvent:
    return CustomerEvent(time=T0 + timedelta(days=day), stage=stage, source=source, item_id=item)


def test_parse_duration() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("2w") == timedelta(weeks=2)
    with pytest.raises(ValueError, match="30d"):
        parse_duration("soon")


def test_spec_validation() -> None:
    spec = TriggerSpec(count=3, within="30d", where={"stage": "get_help"})  # type: ignore[arg-type]
    assert spec.within == timedelta(days=30)
    with pytest.raises(ValidationError, match="within"):
        TriggerSpec(count=3, within="0d")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="persona"):
        TriggerSpec(count=3, within="1d", where={"persona": "x"})  # type: ignore[arg-type]


def test_fires_exactly_when_the_count_is_crossed() -> None:
    spec = TriggerSpec(count=3, within="30d", where={"stage": "get_help"})  # type: ignore[arg-type]
    history: list[CustomerEvent] = []
    fired = []
    for n, day in enumerate([0, 5, 10, 12]):
        new = ev(day, f"i{n}")
        fired.append(evaluate(spec, history, new, now=new.time).fired)
        history.append(new)
    assert fired == [False, False, True, False]


def test_events_outside_window_or_filter_do_not_count() -> None:
    spec = TriggerSpec(count=3, within="30d", where={"stage": "get_help"})  # type: ignore[arg-type]
    history = [ev(0, "old"), ev(40, "other", stage="delivery"), ev(41, "a")]
    new = ev(42, "b")
    result = evaluate(spec, history, new, now=new.time)
    assert not result.fired
    assert result.evidence == ("a", "b")
    third = ev(43, "c")
    assert evaluate(spec, [*history, new], third, now=third.time).fired


def test_redelivered_event_does_not_fire_twice() -> None:
    spec = TriggerSpec(count=2, within="1d")  # type: ignore[arg-type]
    first, second = ev(0, "a"), ev(0.5, "b")
    assert evaluate(spec, [first], second, now=second.time).fired
    assert not evaluate(spec, [first, second], second, now=second.time).fired


def test_where_accepts_a_list_of_sources() -> None:
    spec = TriggerSpec(count=2, within="7d", where={"source": ["chat", "phone"]})  # type: ignore[arg-type]
    history = [ev(0, "a", source="chat"), ev(1, "b", source="email")]
    new = ev(2, "c", source="phone")
    assert evaluate(spec, history, new, now=new.time).fired
