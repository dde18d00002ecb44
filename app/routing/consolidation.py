"""The consolidation pass, run by the scheduler (`routing.consolidate`): what makes grouping independent
of the order feedback arrived in, and lets it learn from people.

One pass, in one transaction:
1. **Calibrate** each stage's threshold (`app.routing.stage_thresholds`). A new calibration is
   stored only when a threshold moved, and every process's index rebuilds from it.
2. **Regroup emerging items** of each stage and moment by average linkage (`app.routing.consolidate`):
   emerging groups that belong together merge, stray items move to the group they resemble, and a
   cluster that resembles an open issue folds into it. Each change is a merge or a move with its
   events. Issues' own members are never moved.
3. **Promote** emerging groups that now meet the journey's evidence rule.
4. **Propose** merges between issues that look alike, with the evidence, for a person to accept or
   reject (`merge_proposals`); never applied here, and a rejected pair is not proposed again.
5. **Retitle** groups from their members (`app.routing.titles`) until a person edits the title.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Integer, or_, select, update
from sqlmodel import Session

from app.core.actor import SYSTEM, SYSTEM_ACTOR
from app.core.clock import utcnow
from app.core.sql import insert_ignore, is_in
from app.feedback.models import FeedbackItem
from app.issues import evidence, lifecycle, reshape
from app.issues import service as issues
from app.issues.models import ExperienceIssue, IssueEvent
from app.journey import service as journeys
from app.journey.schemas import Journey
from app.routing import consolidate, stage_thresholds, threshold_store, titles, vectors
from app.routing.embedding import Embedder
from app.routing.models import MergeProposal
from app.routing.represent import centre
from app.routing.trigger_count import TRIGGER_PREFIX
from app.routing.vector_index import DEFAULT_THRESHOLD
from app.scheduler.registry import JobRun

log = logging.getLogger("seam.routing")

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
EVENTS = IssueEvent.__table__  # type: ignore[attr-defined]
PROPOSALS = MergeProposal.__table__  # type: ignore[attr-defined]
# The items of one issue that stand for it, and the texts a title is made from.
MEMBERS_PER_ISSUE = 500
TITLE_TEXTS = 50
REASON = "consolidation: similar feedback regrouped"


@dataclass
class PassReport:
    encoder: str | None
    thresholds: dict[str, float] = field(default_factory=dict)
    recalibrated: bool = False
    merged: int = 0
    moved: int = 0
    promoted: list[int] = field(default_factory=list)
    proposed: int = 0
    retitled: int = 0


def run_pass(session: Session, journey: Journey, encoder: Embedder | None = None) -> PassReport:
    encoder = encoder or vectors.process_encoder()
    if encoder is None:
        log.warning("consolidation skipped: no sentence encoder, grouping runs on TF-IDF only")
        return PassReport(encoder=None)
    report = PassReport(encoder=encoder.name)
    calibrated, report.recalibrated = stage_thresholds.calibrate(session, journey, encoder)
    report.thresholds = calibrated.thresholds
    _regroup(session, journey, encoder, calibrated, report)
    _retitle(session, report)
    return report


# -- 2-4. regrouping, promotion, proposals ----------------------------------------------------------
@dataclass
class _Member:
    item_id: int
    issue_id: int
    scope: str
    text: str


def _open_members(session: Session) -> tuple[dict[int, dict[str, Any]], list[_Member]]:
    i = ISSUES.c
    groups = {
        int(r.id): {"stage": r.stage, "moment": r.moment, "status": r.status, "fingerprint": r.fingerprint}
        for r in session.execute(
            select(i.id, i.stage, i.moment, i.status, i.fingerprint).where(
                i.status.in_(sorted(lifecycle.TAKES_ITEMS))
            )
        )
        if not str(r.fingerprint).startswith(TRIGGER_PREFIX)
    }
    if not groups:
        return {}, []
    c = ITEMS.c
    counts: dict[int, int] = defaultdict(int)
    members: list[_Member] = []
    rows = session.execute(
        select(c.id, c.issue_id, c.text)
        .where(is_in(session, c.issue_id, sorted(groups), Integer), c.text.is_not(None))
        .order_by(c.id)
    )
    for r in rows:
        g = groups[int(r.issue_id)]
        if not r.text.strip():
            continue
        if g["status"] != "emerging" and counts[int(r.issue_id)] >= MEMBERS_PER_ISSUE:
            continue
        counts[int(r.issue_id)] += 1
        scope = f"{g['stage']}/{g['moment'] or '-'}"
        members.append(_Member(int(r.id), int(r.issue_id), scope, r.text))
    return groups, members


def _regroup(
    session: Session,
    journey: Journey,
    encoder: Embedder,
    calibrated: threshold_store.Calibrated,
    report: PassReport,
) -> None:
    groups, members = _open_members(session)
    if not members:
        return
    found = vectors.ensure(session, encoder, {m.item_id: m.text for m in members})
    ids = [m.item_id for m in members if m.item_id in found]
    matrix = centre(np.stack([found[i] for i in ids]), calibrated.mean)
    centred = dict(zip(ids, matrix, strict=True))
    book: dict[int, consolidate.Group] = {}
    for m in members:
        if m.item_id not in centred:
            continue
        kind: consolidate.GroupKind = "emerging" if groups[m.issue_id]["status"] == "emerging" else "issue"
        group = book.setdefault(m.issue_id, consolidate.Group(str(m.issue_id), m.scope, kind))
        group.add(str(m.item_id), centred[m.item_id])
    fixed = journey.routing.grouping.vector_threshold
    by_scope = {
        g.stage: fixed
        if fixed is not None
        else calibrated.thresholds.get(g.stage.split("/", 1)[0], DEFAULT_THRESHOLD)
        for g in book.values()
    }
    emerging_vectors = {m: centred[int(m)] for g in book.values() if g.kind == "emerging" for m in g.members}
    settings = consolidate.ConsolidationSettings(min_issue_size=journey.routing.evidence.items)
    plan = consolidate.consolidate(list(book.values()), emerging_vectors, by_scope, settings)
    where = {int(m): int(g.id) for g in book.values() for m in g.members}
    touched: set[int] = set()
    for cluster in plan.clusters:
        touched.add(_apply(session, cluster, where, report))
    report.promoted = evidence.promote_ready(session, journey, sorted(touched), SYSTEM_ACTOR)
    report.proposed = _propose(session, plan.proposals)


def _apply(
    session: Session, cluster: consolidate.EmergingCluster, where: dict[int, int], report: PassReport
) -> int:
    """Gathers the cluster's items in one group: the issue it resembles, else the emerging group that
    already holds most of them (ties: the oldest). Whole groups merge; parts of groups move."""
    items = [int(m) for m in cluster.members]
    by_group: dict[int, list[int]] = defaultdict(list)
    for item in items:
        by_group[where[item]].append(item)
    if cluster.into_issue is not None:
        target = int(cluster.into_issue)
    else:
        target = min(by_group, key=lambda g: (-len(by_group[g]), g))
    for source, moving in sorted(by_group.items()):
        if source == target:
            continue
        still_there = sum(1 for g in where.values() if g == source)
        if len(moving) == still_there:
            issues.merge(session, source, target, REASON, SYSTEM_ACTOR)
            report.merged += 1
        else:
            report.moved += reshape.move_items(session, moving, source, target, REASON, SYSTEM_ACTOR)
        for item in moving:
            where[item] = target
    return target


def _propose(session: Session, proposals: Sequence[consolidate.MergeProposal]) -> int:
    p = PROPOSALS.c
    # A proposal whose issues closed or merged meanwhile has nothing left to decide.
    active = select(ISSUES.c.id).where(ISSUES.c.status.in_(sorted(lifecycle.ACTIVE)))
    session.execute(
        update(PROPOSALS)
        .where(p.status == "proposed", or_(p.keep_issue_id.not_in(active), p.merge_issue_id.not_in(active)))
        .values(status="stale", decided_at=utcnow(), decided_by=SYSTEM)
    )
    made = 0
    for proposal in proposals:
        keep, other = int(proposal.keep), int(proposal.merge)
        known = session.execute(
            select(p.id).where(
                or_(
                    (p.keep_issue_id == keep) & (p.merge_issue_id == other),
                    (p.keep_issue_id == other) & (p.merge_issue_id == keep),
                )
            )
        ).first()
        if known is not None:
            continue
        row = {
            "stage": proposal.stage.split("/", 1)[0],
            "keep_issue_id": keep,
            "merge_issue_id": other,
            "similarity": round(proposal.similarity, 4),
            "shared_terms": list(proposal.shared_terms),
            "status": "proposed",
            "created_at": utcnow(),
        }
        session.execute(insert_ignore(session, PROPOSALS, ["keep_issue_id", "merge_issue_id"]).values(**row))
        made += 1
    return made


# -- 5. titles --------------------------------------------------------------------------------------
def _retitle(session: Session, report: PassReport) -> None:
    """Titles from each group's own words against its neighbours', for groups nobody renamed."""
    i = ISSUES.c
    open_groups = {
        int(r.id): r
        for r in session.execute(
            select(i.id, i.stage, i.moment, i.title).where(i.status.in_(sorted(lifecycle.TAKES_ITEMS)))
        )
    }
    if not open_groups:
        return
    e = EVENTS.c
    renamed = set(
        session.execute(
            select(e.issue_id).where(
                e.kind == "title_changed", is_in(session, e.issue_id, sorted(open_groups), Integer)
            )
        ).scalars()
    )
    c = ITEMS.c
    texts: dict[int, list[str]] = defaultdict(list)
    for r in session.execute(
        select(c.issue_id, c.text)
        .where(is_in(session, c.issue_id, sorted(open_groups), Integer), c.text.is_not(None))
        .order_by(c.id)
    ):
        if len(texts[int(r.issue_id)]) < TITLE_TEXTS and r.text.strip():
            texts[int(r.issue_id)].append(r.text)
    scopes: dict[tuple[str, str | None], dict[str, list[str]]] = defaultdict(dict)
    for issue_id, row in open_groups.items():
        if texts.get(issue_id):
            scopes[(row.stage, row.moment)][str(issue_id)] = texts[issue_id]
    for groups in scopes.values():
        for key, title in titles.titles(groups).items():
            issue_id = int(key)
            new = title.text.strip()[:300]
            old = open_groups[issue_id].title
            if issue_id in renamed or not new or new == old:
                continue
            session.execute(update(ISSUES).where(i.id == issue_id).values(title=new, updated_at=utcnow()))
            issues.record_event(
                session,
                issue_id,
                "retitled",
                SYSTEM_ACTOR,
                before={"title": old},
                after={"title": new, "keyphrases": list(title.keyphrases)},
            )
            report.retitled += 1


def consolidate_job(run: JobRun) -> None:
    """The scheduled pass (`routing.consolidate`), once per cluster per tick."""
    with Session(run.engine, expire_on_commit=False) as session:
        journey = journeys.current_or_none(session)
        if journey is None:
            return
        report = run_pass(session, journey)
        session.commit()
    log.info(
        "consolidation: %d groups merged, %d items moved, %d promoted, %d merge proposals, %d retitled",
        report.merged,
        report.moved,
        len(report.promoted),
        report.proposed,
        report.retitled,
    )
