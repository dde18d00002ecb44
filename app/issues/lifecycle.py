"""The issue state table: which moves are allowed. Pure data, no I/O."""

from __future__ import annotations

TRANSITIONS: dict[str, frozenset[str]] = {
    # Similar items gathering on a stage: no owner is asked yet. Promoted by evidence (or a person).
    "emerging": frozenset({"open", "declined"}),
    "open": frozenset({"acknowledged", "fixing", "declined"}),
    "acknowledged": frozenset({"fixing", "declined"}),
    "fixing": frozenset({"fix_shipped", "acknowledged", "declined"}),
    "fix_shipped": frozenset({"confirmed", "reopened"}),
    "reopened": frozenset({"acknowledged", "fixing", "declined"}),
    "confirmed": frozenset({"reopened"}),
    "declined": frozenset({"reopened"}),
    "merged": frozenset(),
}
STATUSES = tuple(TRANSITIONS)
# Issues that still take new feedback of their kind. A shipped fix keeps collecting: that is the evidence.
ACTIVE = frozenset({"open", "acknowledged", "fixing", "fix_shipped", "reopened"})
# Groups still gathering evidence: they take new items, but nobody owns, syncs or is reminded of them.
GATHERING = frozenset({"emerging"})
TAKES_ITEMS = ACTIVE | GATHERING
REASON_REQUIRED = frozenset({"declined", "reopened"})


def allowed(current: str) -> list[str]:
    return sorted(TRANSITIONS.get(current, frozenset()))


def can_move(current: str, to: str) -> bool:
    return to in TRANSITIONS.get(current, frozenset())
