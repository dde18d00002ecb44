"""Roles follow the journey; pure, no I/O.

- the journey's CX lead may do everything;
- a stage's owner or sponsor acts on the issues of that stage (acknowledge, snooze, move, confirm,
  decline, retitle, merge, split, place items on it), and so does an issue's own owner on that issue;
- a member of a contributing team reads and comments on the issues their team contributes to;
- everyone else named in the journey reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.journey.schemas import Journey

# What each kind of action needs: "act" on an issue's stage, or "comment" on it, or "lead" (CX lead only).
ACT, COMMENT, LEAD = "act", "comment", "lead"


@dataclass(frozen=True)
class Viewer:
    id: str
    name: str
    email: str
    cx_lead: bool
    stages: frozenset[str]
    teams: frozenset[str]

    @property
    def actor(self) -> str:
        return f"person:{self.id}"

    @property
    def role(self) -> str:
        if self.cx_lead:
            return "CX lead"
        if self.stages:
            return "Stage owner"
        return "Team member" if self.teams else "Viewer"

    def may(
        self, need: str, stage: str | None = None, teams: Iterable[str] = (), owner: str | None = None
    ) -> bool:
        if self.cx_lead:
            return True
        if need == LEAD:
            return False
        # The issue's own owner (perhaps handed it by the CX lead) acts on it like the stage's owner.
        if (stage is not None and stage in self.stages) or owner == self.id:
            return True
        return need == COMMENT and bool(self.teams & set(teams))


def viewer_of(journey: Journey, person_id: str) -> Viewer | None:
    person = next((p for p in journey.people if p.id == person_id), None)
    if person is None:
        return None
    stages = {s.key for s in journey.stages if person_id in (s.owner, s.sponsor)}
    teams = {t.key for t in journey.teams if person_id in t.members}
    return Viewer(
        id=person.id,
        name=person.name,
        email=str(person.email),
        cx_lead=journey.cx_lead == person_id,
        stages=frozenset(stages),
        teams=frozenset(teams),
    )


def person_by_email(journey: Journey, email: str) -> str | None:
    wanted = email.strip().lower()
    return next((p.id for p in journey.people if str(p.email).lower() == wanted), None)
