"""What happens elsewhere when an issue moves (a shipped fix starts its verification; a reopen or a
confirmation reaches the tickets), and when its evidence changes (items joined or left it: its impact
and priority are assessed again). The reactions are listed in the composition root (`app.wiring`),
which installs them once when a process starts; a process that moved an issue without them would
silently skip that work, so moving one before then is an error."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.core.actor import Actor
from app.issues.models import ExperienceIssue


@dataclass(frozen=True)
class Transition:
    before: str
    to: str
    reason: str | None
    actor: Actor
    at: datetime


Reaction = Callable[[Session, ExperienceIssue, Transition], None]
# (session, ids of the issues whose items changed, the clock of the change), in the change's transaction.
EvidenceReaction = Callable[[Session, Sequence[int], datetime], None]
_installed: tuple[Reaction, ...] | None = None
_evidence: tuple[EvidenceReaction, ...] = ()


def install(reactions: Sequence[Reaction], evidence: Sequence[EvidenceReaction] = ()) -> None:
    global _installed, _evidence
    _installed = tuple(reactions)
    _evidence = tuple(evidence)


def evidence_changed(session: Session, issue_ids: Sequence[int], at: datetime) -> None:
    for react in _evidence:
        react(session, issue_ids, at)


def installed() -> tuple[Reaction, ...]:
    if _installed is None:
        raise RuntimeError("no transition reactions installed: start the process through app.wiring")
    return _installed
