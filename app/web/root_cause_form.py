"""The root-cause choice on the issue page's confirm form: the journey's vocabulary as options
(`cause` or `cause/sub-cause`), and the chosen option read back into a root cause."""

from __future__ import annotations

import re
from typing import Any

from sqlmodel import Session

from app.core.errors import InvalidInput, field_error
from app.insights import root_causes
from app.insights.root_causes import RootCauseIn
from app.journey.insights import UNKNOWN
from app.journey.schemas import Journey

_OPTION = re.compile(r"^([a-z0-9][a-z0-9_-]{0,99})(?:/([a-z0-9][a-z0-9_-]{0,99}))?$")


def cause_options(session: Session, journey: Journey, issue_id: int) -> dict[str, Any]:
    vocab = journey.root_causes
    options: list[tuple[str, str]] = []
    for c in vocab.causes if vocab else []:
        options.append((c.key, c.name))
        options += [(f"{c.key}/{s.key}", f"{c.name}: {s.name}") for s in c.sub_causes]
    if vocab is not None:
        options.append((UNKNOWN, "Unknown (say why)"))
    recorded = root_causes.of_issues(session, [issue_id]).get(issue_id)
    return {"cause_options": options, "recorded_cause": recorded}


def cause_choice(option: str | None, reason: str | None) -> RootCauseIn | None:
    value = (option or "").strip()
    if not value:
        return None
    match = _OPTION.match(value)
    if match is None:
        raise InvalidInput(
            "Pick a root cause from the list.", errors=[field_error("root_cause", "unknown option")]
        )
    return RootCauseIn(cause=match.group(1), sub_cause=match.group(2), reason=(reason or "").strip() or None)
