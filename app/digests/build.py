"""The weekly digests from the database: one owner digest per stage, one per team with open
contributions (to each member), one leadership scorecard (to the CX lead and the stage sponsors).

The week is read once (`Snapshot`, app.digests.week); building here only arranges its rows. `queue_all`
renders and queues the non-empty digests as `email` outbox rows keyed
`digest:<kind>:<person>:<key>:<iso week>`, so a second run adds nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.core import heap
from app.digests.model import (
    IssueLine,
    LeadershipDigest,
    OwnerDigest,
    Person,
    StageScore,
    TeamDigest,
    Trend,
)
from app.digests.render import AnyDigest, Renderer, is_empty
from app.digests.week import OPEN, Snapshot, snapshot
from app.journey.schemas import Journey, Stage
from app.notify import messages


@dataclass(frozen=True)
class Addressed:
    person: str
    email: str
    key: str
    digest: AnyDigest


def _by_status(snap: Snapshot, status: str, stage: str) -> list[IssueLine]:
    out = []
    for issue_id in snap.moved.get(status, {}).get(stage, []):
        line = snap.lines[issue_id]
        if status == "reopened" and issue_id in snap.notes:
            line = line.model_copy(update={"note": snap.notes[issue_id]})
        out.append(line)
    return out


def digests(snap: Snapshot) -> Iterator[Addressed]:
    """Each stage's owner digest, then each team member's digest, then the leadership scorecards."""
    people = {p.id: p for p in snap.journey.people}
    common: dict[str, Any] = {"week_start": snap.week_start, "seam_url": snap.seam_url}
    by_stage = _open_by_stage(snap)
    scores = []
    for stage in snap.journey.stages:
        owner = people[stage.owner]
        recipient = Person(name=owner.name, email=str(owner.email))
        d = _owner_digest(snap, stage, recipient, by_stage.get(stage.key, []), common)
        yield Addressed(owner.id, str(owner.email), f"owner:{stage.key}", d)
        scores.append(_stage_score(snap, stage, d))
    yield from _team_digests(snap, common)
    yield from _leadership_digests(snap, scores, common)


def _open_by_stage(snap: Snapshot) -> dict[str, list[IssueLine]]:
    by_stage: dict[str, list[IssueLine]] = defaultdict(list)
    for issue_id, line in snap.lines.items():
        if line.status in OPEN:
            by_stage[snap.stage_of[issue_id]].append(line)
    return by_stage


def _owner_digest(
    snap: Snapshot, stage: Stage, recipient: Person, open_lines: list[IssueLine], common: dict[str, Any]
) -> OwnerDigest:
    open_ = sorted(open_lines, key=lambda x: (-x.impact, x.id))
    overdue = sorted((x for x in open_ if x.overdue_days > 0), key=lambda x: (-x.overdue_days, x.id))
    return OwnerDigest(
        recipient=recipient,
        stage_key=stage.key,
        stage_name=stage.name,
        open_issues=open_,
        overdue=overdue,
        shipped=_by_status(snap, "fix_shipped", stage.key),
        confirmed=_by_status(snap, "confirmed", stage.key),
        reopened=_by_status(snap, "reopened", stage.key),
        trend=snap.trends.get(stage.key),
        verbatims=snap.verbatims.get(stage.key, [])[:3],
        compliments=snap.valued.get(stage.key, (0, []))[0],
        valued=snap.valued.get(stage.key, (0, []))[1],
        insights=snap.insights.stages.get(stage.key),
        **common,
    )


def _stage_score(snap: Snapshot, stage: Stage, d: OwnerDigest) -> StageScore:
    """The stage's row on the leadership scorecard, counted from its owner's digest."""
    return StageScore(
        stage_key=stage.key,
        stage_name=stage.name,
        owner=d.recipient.name,
        open=len(d.open_issues),
        overdue=len(d.overdue),
        shipped=len(d.shipped),
        confirmed=len(d.confirmed),
        reopened=len(d.reopened),
        oldest_open_days=max((x.age_days for x in d.open_issues), default=None),
        trend=snap.trends.get(stage.key) or Trend(label="Score, % of scale"),
    )


def _team_digests(snap: Snapshot, common: dict[str, Any]) -> Iterator[Addressed]:
    """One digest per member of each team (members not among the journey's people are skipped)."""
    people = {p.id: p for p in snap.journey.people}
    for team in snap.journey.teams:
        lines = sorted(snap.contributions.get(team.key, []), key=lambda c: (-c.overdue_days, c.issue.id))
        for member in team.members:
            if member not in people:
                continue
            p = people[member]
            yield Addressed(
                p.id,
                str(p.email),
                f"team:{team.key}",
                TeamDigest(
                    recipient=Person(name=p.name, email=str(p.email)),
                    team_key=team.key,
                    team_name=team.name,
                    contributions=lines,
                    insights=snap.insights.teams.get(team.key),
                    **common,
                ),
            )


def _leadership_digests(
    snap: Snapshot, scores: list[StageScore], common: dict[str, Any]
) -> Iterator[Addressed]:
    """The scorecard to the CX lead and to each stage sponsor, once per person."""
    j = snap.journey
    people = {p.id: p for p in j.people}
    leaders = [j.cx_lead] if j.cx_lead else []
    leaders += [s.sponsor for s in j.stages if s.sponsor and s.sponsor not in leaders]
    for pid in dict.fromkeys(leaders):
        if pid is None or pid not in people:
            continue
        p = people[pid]
        yield Addressed(
            p.id,
            str(p.email),
            "leadership",
            LeadershipDigest(
                recipient=Person(name=p.name, email=str(p.email)),
                journey_name=j.name,
                stages=scores,
                moments=snap.scorecard.moments if snap.scorecard else [],
                insights=snap.insights.leadership,
                **common,
            ),
        )


def iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


# Every digest's email row has a dedupe key starting so (the metrics count sent digests by it).
KEY_PREFIX = "digest:"


def queue_all(session: Session, journey: Journey, now: datetime, zone: ZoneInfo, public_url: str) -> int:
    """Render and queue every non-empty digest of the covered week; returns how many were new."""
    with heap.collection_paused():
        snap = snapshot(session, journey, now, zone, public_url)
        renderer = Renderer()
        queued = 0
        for a in digests(snap):
            if is_empty(a.digest):
                continue
            key = f"{KEY_PREFIX}{a.key}:{a.person}:{iso_week(snap.week_start)}"
            queued += int(
                messages.queue(
                    session,
                    key,
                    to_email=a.email,
                    to_name=a.digest.recipient.name,
                    rendered=renderer.render(a.digest),
                )
            )
        return queued


def preview(
    session: Session, journey: Journey, email: str, now: datetime, zone: ZoneInfo, public_url: str
) -> list[Addressed]:
    """Every digest this address would receive for the covered week (empty ones included)."""
    snap = snapshot(session, journey, now, zone, public_url)
    return [a for a in digests(snap) if a.email.lower() == email.strip().lower()]
