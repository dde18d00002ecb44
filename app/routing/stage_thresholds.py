"""Step 1 of the consolidation pass (`app.routing.consolidation`): each stage's grouping threshold,
calibrated from its own recent feedback without labels (`app.routing.thresholds.calibrate`, the
journey's coverage target), then moved by what people did (`thresholds.adjust`): merge proposals they
accepted say "that similarity was enough"; rejected ones and their splits say "it was not"."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from sqlalchemy import Integer, select
from sqlmodel import Session

from app.core.actor import SYSTEM
from app.core.sql import is_in
from app.core.text import normalise
from app.feedback.models import FeedbackItem
from app.issues.models import IssueEvent
from app.journey.schemas import Journey
from app.routing import threshold_store, thresholds, vectors
from app.routing.embedding import Embedder
from app.routing.models import MergeProposal
from app.routing.represent import centre
from app.routing.vector_index import DEFAULT_THRESHOLD

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
EVENTS = IssueEvent.__table__  # type: ignore[attr-defined]
PROPOSALS = MergeProposal.__table__  # type: ignore[attr-defined]
# Recent distinct texts a stage is calibrated on.
CALIBRATION_SAMPLE = 2500


def _recent_by_stage(session: Session) -> dict[str, dict[int, str]]:
    c = ITEMS.c
    rows = session.execute(
        select(c.id, c.stage, c.text, c.placement)
        .where(c.stage.is_not(None), c.text.is_not(None), ~c.staff)
        .order_by(c.id.desc())
        .limit(CALIBRATION_SAMPLE * 8)
    )
    out: dict[str, dict[int, str]] = defaultdict(dict)
    # Repeated texts (a template's answer, a copied complaint) would make any threshold look tight.
    seen: set[tuple[str, str]] = set()
    for r in rows:
        method = ((r.placement or {}).get("grouping") or {}).get("method")
        key = (r.stage, normalise(r.text))
        if method in ("compliment", "answer", "check_passed") or not key[1] or key in seen:
            continue
        if len(out[r.stage]) < CALIBRATION_SAMPLE:
            seen.add(key)
            out[r.stage][int(r.id)] = r.text
    return out


def calibrate(
    session: Session, journey: Journey, encoder: Embedder
) -> tuple[threshold_store.Calibrated, bool]:
    """Each stage's threshold from its own feedback and people's corrections; stored when it moved
    (the second value says whether it did)."""
    settings = journey.routing.grouping
    rule = thresholds.ThresholdSettings(
        target_coverage=settings.coverage_target,
        min_size=settings.min_group,
        max_groups_per_100=settings.max_groups_per_100,
    )
    texts = _recent_by_stage(session)
    found = vectors.ensure(session, encoder, {i: t for by_id in texts.values() for i, t in by_id.items()})
    everything = [found[i] for by_id in texts.values() for i in by_id if i in found]
    mean = np.mean(np.stack(everything), axis=0) if len(everything) >= rule.min_items else None
    corrections = corrections_by_stage(session, encoder, mean)
    stages: dict[str, Any] = {}
    for stage, by_id in sorted(texts.items()):
        if journey.stage(stage) is None:
            continue
        x = np.stack([found[i] for i in by_id if i in found]) if by_id else np.zeros((0, 1))
        made = corrections.get(stage, [])
        if len(x) < rule.min_items:
            base, method, coverage, per_100 = DEFAULT_THRESHOLD, "default", 0.0, 0.0
        else:
            choice = thresholds.calibrate(centre(x, mean), rule)
            base, method, coverage, per_100 = (
                choice.threshold,
                choice.method,
                choice.coverage,
                choice.groups_per_100,
            )
        stages[stage] = {
            "threshold": thresholds.adjust(base, made),
            "calibrated": base,
            "method": method,
            "coverage": round(coverage, 4),
            "groups_per_100": round(per_100, 2),
            "items": len(x),
            "corrections": len(made),
        }
    latest = threshold_store.latest(session, encoder.name)
    if latest is None or _moved(latest.stages, stages) or (latest.mean is None) != (mean is None):
        new_id = threshold_store.save(session, encoder.name, stages, mean)
        return threshold_store.Calibrated(new_id, mean, stages), True
    return latest, False


def _moved(old: dict[str, Any], new: dict[str, Any]) -> bool:
    if set(old) != set(new):
        return True
    return any(
        abs(float(old[s]["threshold"]) - float(new[s]["threshold"])) >= 0.01
        or old[s].get("corrections") != new[s]["corrections"]
        for s in new
    )


def _average_link(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float | None:
    if not a or not b:
        return None
    return float(np.sum(a, axis=0) @ np.sum(b, axis=0)) / (len(a) * len(b))


def corrections_by_stage(
    session: Session, encoder: Embedder, mean: np.ndarray | None
) -> dict[str, list[thresholds.Correction]]:
    """What people's grouping decisions say about each stage's threshold, as similarities the engine
    would see today: merge proposals accepted (enough) or rejected (not enough), and splits people made
    (the items taken out were not the same problem as those left)."""
    out: dict[str, list[thresholds.Correction]] = defaultdict(list)
    p = PROPOSALS.c
    for row in session.execute(
        select(p.stage, p.status, p.similarity).where(p.status.in_(("accepted", "rejected")))
    ):
        kind: Literal["merge", "split"] = "merge" if row.status == "accepted" else "split"
        out[row.stage].append(thresholds.Correction(kind, float(row.similarity)))
    e = EVENTS.c
    splits = list(
        session.execute(
            select(e.issue_id, e.after)
            .where(e.kind == "item_moved_out", e.actor != SYSTEM)
            .order_by(e.id.desc())
            .limit(500)
        )
    )
    wanted = {int(s.issue_id) for s in splits} | {int((s.after or {}).get("to_issue") or 0) for s in splits}
    if not splits:
        return out
    c = ITEMS.c
    members: dict[int, dict[int, str]] = defaultdict(dict)
    stage_of: dict[int, str] = {}
    for r in session.execute(
        select(c.id, c.issue_id, c.text, c.stage).where(
            is_in(session, c.issue_id, sorted(wanted), Integer), c.text.is_not(None)
        )
    ):
        if len(members[int(r.issue_id)]) < 100:
            members[int(r.issue_id)][int(r.id)] = r.text
        stage_of[int(r.issue_id)] = r.stage
    found = vectors.ensure(session, encoder, {i: t for m in members.values() for i, t in m.items()})

    def vecs(issue_id: int) -> list[np.ndarray]:
        return [centre(found[i][None, :], mean)[0] for i in members.get(issue_id, {}) if i in found]

    for s in splits:
        to_issue = int((s.after or {}).get("to_issue") or 0)
        sim = _average_link(vecs(int(s.issue_id)), vecs(to_issue))
        if sim is not None and int(s.issue_id) in stage_of:
            out[stage_of[int(s.issue_id)]].append(thresholds.Correction("split", sim))
    return out
