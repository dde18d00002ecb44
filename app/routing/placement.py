"""Where a feedback item belongs: a pure function of the item and the journey.

This is the boundary the routing and grouping engine plugs into; it does no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from app.core.text import normalise
from app.journey.rules import RoutableItem, first_match
from app.journey.schemas import Journey
from app.routing.grouping import GroupingIndex
from app.routing.vector_index import VectorIndex


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

    @property
    def grouped_by_text(self) -> bool:
        """Whether similarity or a rule chose the issue, rather than where the item was given."""
        return self.fingerprint != fingerprint(self.stage, self.moment, self.detail.get("touchpoint"))


def fingerprint(stage: str, moment: str | None, touchpoint: str | None) -> str:
    return f"{stage}/{moment or '-'}/{touchpoint or '-'}"


class Predicted(Protocol):
    @property
    def stage(self) -> str: ...
    @property
    def moment(self) -> str | None: ...
    @property
    def confidence(self) -> float: ...
    @property
    def version(self) -> str: ...


class Predictor(Protocol):
    """The learned stage model (`app.routing.classifier.StageModel`), or anything that predicts like it."""

    def predict(self, text: str) -> Predicted: ...


def route(
    item: ItemFacts, journey: Journey, model: Predictor | None = None
) -> tuple[Decision | None, dict[str, Any]]:
    """Which stage: the first matching rule, then the touchpoint, then the learned model above the
    journey's confidence threshold. None (with the reason) sends the item to triage.

    Rules come first because they are what people wrote down on purpose ("charged twice" goes to pay,
    wherever the customer wrote from); a touchpoint only says where the item was given."""
    routable = RoutableItem(
        text=item.text or "",
        source=item.source,
        touchpoint=item.touchpoint,
        persona=item.persona,
        score=item.score,
        metadata=item.metadata,
    )
    rule = first_match(journey.rules, routable) if journey.rules else None
    if rule is not None:
        rule_fp = rule.fingerprint_for(routable)
        rule_fp = bounded(rule_fp) if rule_fp is not None else None
        detail: dict[str, Any] = {"rule": rule.id}
        if rule_fp is not None:
            detail["rule_fingerprint"] = rule_fp
        d = Decision(
            stage=rule.stage,
            moment=rule.moment,
            fingerprint=fingerprint(rule.stage, rule.moment, item.touchpoint),
            method="rule",
            detail=detail,
        )
        return d, {}
    if item.touchpoint is not None:
        tp = journey.touchpoint(item.touchpoint)
        if tp is not None:
            d = Decision(
                stage=tp.stage,
                moment=tp.moment,
                fingerprint=fingerprint(tp.stage, tp.moment, item.touchpoint),
                method="touchpoint",
                detail={"touchpoint": item.touchpoint},
            )
            return d, {}
    if model is None or not (item.text and item.text.strip()):
        return None, {"reason": "no touchpoint, rule or model placed it; waiting in triage"}
    p = model.predict(item.text)
    threshold = journey.routing.confidence_threshold
    why = {"model_version": p.version, "confidence": round(p.confidence, 4), "threshold": threshold}
    if p.confidence < threshold or journey.stage(p.stage) is None:
        reason = "the model's confidence is below the threshold; waiting in triage"
        return None, {"reason": reason, "predicted_stage": p.stage, **why}
    moment = p.moment if p.moment and journey.moment(p.stage, p.moment) else None
    d = Decision(
        stage=p.stage,
        moment=moment,
        fingerprint=fingerprint(p.stage, moment, item.touchpoint),
        method="model",
        detail=why,
    )
    return d, {}


def decide(item: ItemFacts, journey: Journey, model: Predictor | None = None) -> Decision | None:
    """A stage for the item, or None: it waits in triage for a person."""
    return route(item, journey, model)[0]


def decide_manually(
    item: ItemFacts, stage: str, moment: str | None, *, actor: str, method: str = "triage"
) -> Decision:
    return Decision(
        stage=stage,
        moment=moment,
        fingerprint=fingerprint(stage, moment, item.touchpoint),
        method=method,
        detail={"by": actor},
    )


def bounded(fp: str, limit: int = 200) -> str:
    """Fingerprints built from customer data (metadata, customer refs) are hashed past a length."""
    if len(fp) <= limit:
        return fp
    return f"{fp[: limit - 17]}#{hashlib.sha256(fp.encode()).hexdigest()[:16]}"


def scope(stage: str, moment: str | None) -> str:
    """Grouping happens within a stage and moment: an issue has one of each."""
    return f"{stage}/{moment or '-'}"


def index_key(stage: str, issue_fingerprint: str) -> str:
    """How the grouping index names an open issue: unique like (stage, open_fingerprint)."""
    return f"{stage}\t{issue_fingerprint}"


def group(
    d: Decision,
    text: str | None,
    index: GroupingIndex | VectorIndex | None,
    *,
    touchpoints_by_text: bool = False,
    vector: Any = None,
) -> Decision:
    """Which issue in the decided stage: a rule's fingerprint, else the most similar open issue above the
    grouping threshold, else a new one. Items without text keep the stage/moment/touchpoint fingerprint, and
    so do items placed by their touchpoint unless the journey groups those by text too."""
    rule_fp = d.detail.get("rule_fingerprint")
    by_touchpoint = d.method == "touchpoint" and not touchpoints_by_text
    if index is None or by_touchpoint or not (text and text.strip()):
        fp = rule_fp or d.fingerprint
        method = "touchpoint" if d.method == "touchpoint" else "fingerprint"
        return replace(d, fingerprint=fp, detail={**d.detail, "grouping": {"method": method}})
    version = index.settings.version
    where = scope(d.stage, d.moment)
    why: dict[str, Any]
    if rule_fp is not None:
        # A rule's fingerprint decides alone: its issue (wherever a merge took it), or a new one.
        p = index.place(text, where, rule_fp, vector=vector)
        fp = _issue_fp(p.issue_id) if p.reason == "fingerprint" and p.issue_id else rule_fp
        why = {"method": "fingerprint", "fingerprint": rule_fp, "settings_version": version}
    else:
        p = index.place(text, where, vector=vector)
        why = {"method": p.reason, "settings_version": version}
        if isinstance(index, VectorIndex):
            why["threshold"] = round(index.threshold_for(where), 4)
        if p.issue_id is not None:
            fp = _issue_fp(p.issue_id)
            why.update(score=round(p.score, 4), shared_terms=list(p.shared_terms))
        else:
            # Deterministic: the same text arriving twice at once opens one issue, not two.
            digest = hashlib.sha256(normalise(text).encode()).hexdigest()[:16]
            fp = f"sim:{where}:{digest}"
            why["best_score"] = round(p.score, 4)
    return replace(d, fingerprint=fp, detail={**d.detail, "grouping": why})


def _issue_fp(key: str) -> str:
    return key.split("\t", 1)[1]
