"""Who runs an experience check next, and when each check is due. Pure.

Cycles of each check run from a fixed epoch (Monday 5 January 2026, UTC) in steps of its cadence, so
every replica agrees on them. The assignee rotates across the eligible teams in the order the journey
lists them (the journey lists first the teams furthest from customers): the team this check visited least
goes next, the earliest listed on a tie. Within the team, the member with the fewest checks of any kind
goes, the earliest listed on a tie; people named directly take turns as a team of their own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)


def cycle_start(now: datetime, cadence: timedelta) -> datetime:
    return EPOCH + ((now - EPOCH) // cadence) * cadence


@dataclass(frozen=True)
class Candidate:
    person: str
    team: str | None  # None: named directly in `eligible.people`


def pools(
    teams: Sequence[tuple[str, Sequence[str]]], people: Sequence[str]
) -> list[tuple[str | None, list[str]]]:
    """The rotation's pools, in order: each eligible team with its members, then the named people."""
    out: list[tuple[str | None, list[str]]] = [(key, list(members)) for key, members in teams if members]
    out += [(None, [p]) for p in people]
    return out


def choose(
    pools_: Sequence[tuple[str | None, Sequence[str]]],
    visits: Mapping[str | None, int],
    load: Mapping[str, int],
    exclude: frozenset[str] = frozenset(),
) -> Candidate | None:
    """`visits`: this check's past tasks per team; `load`: every check's past tasks per person."""
    best: tuple[tuple[int, int], str | None, list[str]] | None = None
    for order, (team, members) in enumerate(pools_):
        usable = [m for m in members if m not in exclude]
        if not usable:
            continue
        # Directly named people rotate among themselves by their own visits.
        key = team if team is not None else usable[0]
        rank = (visits.get(key, 0), order)
        if best is None or rank < best[0]:
            best = (rank, team, usable)
    if best is None:
        return None
    _, team, members = best
    person = min(members, key=lambda m: (load.get(m, 0), members.index(m)))
    return Candidate(person=person, team=team)
