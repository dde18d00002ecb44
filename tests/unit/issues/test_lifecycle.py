"""The issue state table."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.issues.lifecycle import (
    ACTIVE,
    GATHERING,
    REASON_REQUIRED,
    STATUSES,
    TAKES_ITEMS,
    TRANSITIONS,
    allowed,
    can_move,
)

KNOWN = set(STATUSES)


def reachable(start: str) -> set[str]:
    seen, todo = {start}, deque([start])
    while todo:
        for nxt in TRANSITIONS[todo.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_every_allowed_move_leads_to_a_known_state_and_none_stays_put() -> None:
    for current, targets in TRANSITIONS.items():
        assert targets <= KNOWN, (current, targets - KNOWN)
        assert current not in targets


def test_the_named_sets_are_made_of_known_states() -> None:
    assert ACTIVE <= KNOWN and REASON_REQUIRED <= KNOWN
    assert set(STATUSES) - ACTIVE == {"emerging", "confirmed", "declined", "merged"}
    assert TAKES_ITEMS == ACTIVE | GATHERING and not ACTIVE & GATHERING


def test_an_emerging_group_becomes_an_issue_or_is_declined_and_never_comes_back() -> None:
    assert allowed("emerging") == ["declined", "open"]
    assert not [s for s in STATUSES if can_move(s, "emerging")]


def test_only_a_shipped_fix_can_be_confirmed() -> None:
    assert [s for s in STATUSES if can_move(s, "confirmed")] == ["fix_shipped"]
    assert allowed("fix_shipped") == ["confirmed", "reopened"]


def test_closed_issues_only_reopen_and_merged_is_final() -> None:
    assert allowed("confirmed") == ["reopened"]
    assert allowed("declined") == ["reopened"]
    assert allowed("merged") == []
    # merging is its own operation, never a transition
    assert not any(can_move(s, "merged") for s in STATUSES)


def test_every_state_but_merged_is_reached_from_emerging_and_can_still_end_confirmed() -> None:
    assert reachable("emerging") == KNOWN - {"merged"}
    assert reachable("open") == KNOWN - {"merged", "emerging"}
    for status in KNOWN - {"merged"}:
        assert "confirmed" in reachable(status), status
    assert reachable("confirmed") >= {"reopened", "fix_shipped", "confirmed"}


def test_a_fix_being_worked_on_can_fall_back_but_not_skip_to_closed() -> None:
    assert allowed("fixing") == ["acknowledged", "declined", "fix_shipped"]
    assert not can_move("open", "fix_shipped")
    assert not can_move("acknowledged", "fix_shipped")


def test_reopened_issues_return_to_work_not_to_open() -> None:
    assert allowed("reopened") == ["acknowledged", "declined", "fixing"]
    assert [s for s in STATUSES if can_move(s, "open")] == ["emerging"]


@pytest.mark.parametrize("status", ["", "closed", "OPEN", "fix-shipped"])
def test_unknown_states_allow_nothing(status: str) -> None:
    assert allowed(status) == []
    assert not can_move(status, "open")
    assert not can_move("open", status)


@given(st.sampled_from(STATUSES) | st.text(max_size=12), st.sampled_from(STATUSES) | st.text(max_size=12))
def test_can_move_agrees_with_allowed(current: str, to: str) -> None:
    assert can_move(current, to) == (to in allowed(current))
    assert allowed(current) == sorted(allowed(current))
