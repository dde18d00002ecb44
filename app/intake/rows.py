"""A batch's rows on their way through ingest, and what a row's placement decision means for it: the
facts routing reads, the `placement` JSON stored with the item, and the issue it would open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.feedback.models import FeedbackItem
from app.feedback.schemas import FeedbackIn
from app.issues import service as issues
from app.journey.schemas import Journey
from app.routing import placement, sentiment


@dataclass(frozen=True)
class PlacedApart:
    """Where an item goes that is placed on a stage and moment and joins no issue, and why: `grouping`
    becomes its `placement.grouping` (its `method` names the reason, e.g. `answer`)."""

    stage: str
    moment: str | None
    grouping: dict[str, Any]


@dataclass
class Row:
    index: int
    item: FeedbackIn | FeedbackItem
    values: dict[str, Any]
    decision: placement.Decision | None
    why: dict[str, Any]
    # Placed on its stage and moment, counted there, but in no issue.
    compliment: sentiment.Sentiment | None = None
    # The item's sentence vector (when the encoder runs), stored with it for the index to reuse.
    vector: Any = None
    # The `placement.grouping` of an item placed apart (a compliment, an answer): it joins no issue.
    apart: dict[str, Any] | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.values["source"], self.values["external_id"])


def facts(item: FeedbackIn | FeedbackItem) -> placement.ItemFacts:
    meta = item.metadata if isinstance(item, FeedbackIn) else item.extra
    return placement.ItemFacts(
        text=item.text,
        source=item.source,
        touchpoint=item.touchpoint,
        persona=item.persona,
        score=item.score,
        scale=item.scale,
        metadata=dict(meta or {}),
    )


def at_once(journey: Journey, d: placement.Decision) -> bool:
    """Whether this decision opens an owner's issue at once rather than an emerging group: the journey
    asks for no evidence, a moment-of-truth trigger fired, or the moment or rule says so."""
    if journey.routing.evidence.at_once or d.detail.get("grouping", {}).get("method") == "trigger":
        return True
    moment = journey.moment(d.stage, d.moment) if d.moment else None
    if moment is not None and moment.open_at_once:
        return True
    rule_id = d.detail.get("rule")
    return any(rule.id == rule_id and rule.open_at_once for rule in journey.rules) if rule_id else False


def placement_json(d: placement.Decision | None, why: dict[str, Any] | None = None) -> dict[str, Any]:
    if d is None:
        return {
            "method": "none",
            **(why or {"reason": "no touchpoint, rule or model placed it; waiting in triage"}),
        }
    return {"method": d.method, "fingerprint": d.fingerprint, **d.detail}


def opening(journey: Journey, d: placement.Decision, text: str | None = None) -> issues.Opening:
    return issues.Opening(
        stage=d.stage,
        moment=d.moment,
        fingerprint=d.fingerprint,
        touchpoint=d.detail.get("touchpoint"),
        text=text if d.grouped_by_text else None,
        wordless=not (text and text.strip()),
        emerging=not at_once(journey, d),
    )
