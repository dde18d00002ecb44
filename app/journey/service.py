"""Validates and stores journey versions; hands out the one in force."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlmodel import Session

from app.core.errors import InvalidInput, NotFound, field_error
from app.core.problems import validation_errors
from app.journey.models import JourneyVersion
from app.journey.schemas import Journey, reference_errors


def parse_text(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "file"
        raise InvalidInput(
            "The journey file is not valid YAML.",
            errors=[field_error(where, str(getattr(exc, "problem", exc)))],
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInput(
            "The journey file must be a mapping.", errors=[field_error("(root)", "expected a mapping")]
        )
    return data


def validate(data: dict[str, Any]) -> Journey:
    """Every problem at once, by path: a file is refused whole, never half-applied."""
    try:
        journey = Journey.model_validate(data)
    except ValidationError as exc:
        errors = validation_errors(exc.errors())
        raise InvalidInput(f"The journey has {len(errors)} problem(s).", errors=errors) from exc
    refs = reference_errors(journey)
    if refs:
        errors = [field_error(path, msg) for path, msg in refs]
        raise InvalidInput(f"The journey has {len(errors)} problem(s).", errors=errors)
    return journey


# The outbox kind that retrains the learned router (handled by `app.routing`).
RETRAIN_KIND = "routing.retrain"

# What else happens, in the same transaction, when a journey version is stored: (session, the journey
# before or None, the journey now). Installed by the composition root (`app.wiring`).
Applied = Callable[[Session, Journey | None, Journey], None]
_on_applied: tuple[Applied, ...] = ()


def install_reactions(reactions: Sequence[Applied]) -> None:
    global _on_applied
    _on_applied = tuple(reactions)


def teaching(journey: Journey) -> str:
    """A digest of what the router learns from the journey itself: its examples and descriptions."""
    parts: list[Any] = []
    for stage in journey.stages:
        parts.append([stage.key, stage.description, stage.examples])
        parts += [[stage.key, m.key, m.description, m.examples] for m in stage.moments]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# Checks a new journey against what lives under the old one (open issues and their owners), inside the
# apply's transaction: refuses (InvalidInput) or moves things as `reassign` says. The composition root
# installs them (app.issues' owner check), as it does the transition reactions.
ApplyGuard = Callable[[Session, Journey, dict[str, str], str], None]
_guards: tuple[ApplyGuard, ...] = ()


def install_guards(guards: Sequence[ApplyGuard]) -> None:
    global _guards
    _guards = tuple(guards)


def _reassign(data: dict[str, Any]) -> dict[str, str]:
    """`reassign: {old: new}` (stage to stage, or person to person) instructs this apply only; it is
    not part of the journey, so it is taken out before the journey is validated and stored."""
    raw = data.pop("reassign", None)
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in raw.items()
    ):
        raise InvalidInput(
            "reassign must map old stage (or person) keys to new ones.",
            errors=[field_error("reassign", "expected a mapping of names to names, e.g. {pay: billing}")],
        )
    return dict(raw)


def apply(
    session: Session, data: dict[str, Any], *, actor: str, source_text: str | None = None
) -> JourneyVersion:
    """Stores a valid journey as the next version: the installed guards check it against what lives
    under the old one (refusing, or moving issues as `reassign` says), then the reactions run (a changed
    journey's examples retrain the router)."""
    data = dict(data)
    moves = _reassign(data)
    journey = validate(data)
    previous = current_or_none(session)
    for guard in _guards:
        guard(session, journey, moves, actor)
    current = session.execute(select(func.max(JourneyVersion.version))).scalar_one_or_none() or 0
    row = JourneyVersion(
        version=current + 1,
        name=journey.name,
        document=journey.model_dump(mode="json", exclude_none=True),
        source_text=source_text,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    for react in _on_applied:
        react(session, previous, journey)
    return row


def current_row(session: Session) -> JourneyVersion | None:
    stmt = select(JourneyVersion).order_by(JourneyVersion.version.desc()).limit(1)  # type: ignore[attr-defined]
    return session.execute(stmt).scalars().first()


_parsed: dict[tuple[str, int, str], Journey] = {}


def current(session: Session) -> Journey:
    """The journey in force. Versions never change once written, so parsing is cached by version."""
    row = current_row(session)
    if row is None:
        raise NotFound("No journey has been applied yet: PUT /api/v1/journey or `seam journey apply FILE`.")
    # The write time is part of the key: a database emptied and refilled (tests, a restore) starts
    # its versions from 1 again, and must not be served another journey's cached parse.
    key = (str(session.get_bind().engine.url), row.version, row.created_at.isoformat())
    cached = _parsed.get(key)
    if cached is None:
        cached = Journey.model_validate(row.document)
        _parsed[key] = cached
    return cached


def current_or_none(session: Session) -> Journey | None:
    try:
        return current(session)
    except NotFound:
        return None
