"""Where a feedback item belongs: a pure function of the item and the journey.

This is the boundary the routing and grouping engine plugs into; it does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.journey.schemas import Journey


@dataclass(frozen=True)
class ItemFacts:
    text: str | None
    source: str
    touchpoint: str | None
    persona: str | None
    score: float | None
    scale: str | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    stage: str
    moment: str | None
    fingerprint: str
    method: str
    detail: dict[str, Any]


def fingerprint(stage: str, moment: str | None, touchpoint: str | None) -> str:
    return f"{stage}/{moment or '-'}/{touchpoint or '-'}"


def decide(item: ItemFacts, journey: Journey) -> Decision | None:
    """A stage for the item, or None: it waits in triage for a person."""
    if item.touchpoint is None:
        return None
    tp = journey.touchpoint(item.touchpoint)
    if tp is None:
        return None
    return Decision(
        stage=tp.stage,
        moment=tp.moment,
        fingerprint=fingerprint(tp.stage, tp.moment, item.touchpoint),
        method="touchpoint",
        detail={"touchpoint": item.touchpoint},
    )


def decide_manually(item: ItemFacts, stage: str, moment: str | None, *, actor: str) -> Decision:
    return Decision(
        stage=stage,
        moment=moment,
        fingerprint=fingerprint(stage, moment, item.touchpoint),
        method="triage",
        detail={"by": actor},
    )
