"""Applying a :class:`FieldMapping` to a payload, plus small helpers the vendor modules share.

``resolve_draft`` is the resolver: it reads each draft field through the mapping's paths, coerces
types (ids may be numbers, times may be ISO text or unix seconds, worded scores go through
``score_values``), checks the score against its scale, and raises :class:`MappingError` naming the
payload path and the draft field when the payload does not fit.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .base import SCALE_RANGES, FeedbackDraft, FieldMapping, MappingError, PathList, Scale, parsed_path
from .paths import PathTypeError, resolve

# --- resolving a mapping against a payload --------------------------------------------------


def _read(view: Any, field: str, paths: PathList | None) -> tuple[Any, str]:
    if not paths:
        return None, field
    for text in paths:
        try:
            value = resolve(view, parsed_path(text))
        except PathTypeError as exc:
            raise MappingError(exc.at, f"{field}: {exc.reason}") from None
        if value is not None and value != "":
            return value, text
    return None, " | ".join(paths)


def _type_name(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _as_str(value: Any, field: str, at: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int) and not isinstance(value, bool):  # numeric ids (Zendesk, Delighted)
        return str(value)
    raise MappingError(at, f"{field}: expected text, got {_type_name(value)}")


def _as_score(value: Any, at: str, words: Mapping[str, float]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MappingError(at, f"score: expected a number, got {_type_name(value)}")
    if isinstance(value, str):
        folded = value.strip().casefold()
        lowered = {k.casefold(): v for k, v in words.items()}
        if folded in lowered:
            return lowered[folded]
        try:
            value = float(folded)
        except ValueError:
            known = f" (known words: {', '.join(sorted(words))})" if words else ""
            raise MappingError(at, f"score: expected a number, got a word{known}") from None
    number = float(value)
    if not math.isfinite(number):
        raise MappingError(at, "score: not a finite number")
    return number


def parse_time(value: Any, field: str, at: str) -> datetime:
    """ISO-8601 text (naive = UTC) or unix time; values above 1e11 are milliseconds (Jira style)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise MappingError(at, f"{field}: unix time out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise MappingError(at, f"{field}: not an ISO-8601 time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise MappingError(at, f"{field}: expected a time, got {_type_name(value)}")


def _scale(view: Any, mapping: FieldMapping) -> tuple[Scale | None, bool]:
    """The scale of the score, and whether one is tracked at all (False = keep score as metadata)."""
    if mapping.scale is not None:
        return mapping.scale, True
    raw, at = _read(view, "scale", mapping.scale_path)
    text = _as_str(raw, "scale", at)
    if text is None:
        raise MappingError(at, "scale: missing, so the score cannot be placed on a scale")
    folded = text.casefold()
    if mapping.scale_values:
        table = {k.casefold(): v for k, v in mapping.scale_values.items()}
        if folded not in table:
            raise MappingError(at, f"scale: value is not one of {', '.join(sorted(mapping.scale_values))}")
        return table[folded], table[folded] is not None
    if folded not in SCALE_RANGES:
        raise MappingError(at, "scale: expected nps, csat or ces")
    return folded, True  # type: ignore[return-value]


def resolve_draft(
    view: Any, mapping: FieldMapping, *, source: str, metadata: Mapping[str, Any] | None = None
) -> FeedbackDraft:
    """Apply ``mapping`` to ``view`` (a parsed payload, possibly normalised by the vendor module)."""
    found = _read_texts(view, mapping)
    external_id, occurred_at = _read_identity(view, mapping)
    meta = _read_metadata(view, mapping, metadata)
    score, scale = _read_score(view, mapping, meta)
    _check_present(mapping, found, score, meta)
    return FeedbackDraft(
        source=source,
        external_id=external_id,
        score=score,
        scale=scale if score is not None else None,
        occurred_at=occurred_at,
        metadata=meta,
        kind=mapping.kind,
        **found,
    )


def _read_texts(view: Any, mapping: FieldMapping) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name in ("customer_ref", "customer_email", "persona", "touchpoint", "text"):
        raw, at = _read(view, name, getattr(mapping, name))
        value = _as_str(raw, name, at)
        if value is None:
            value = mapping.defaults.get(name)
        if name == "customer_email" and value is not None and "@" not in value:
            raise MappingError(at, "customer_email: not an email address")
        found[name] = value
    return found


def _read_identity(view: Any, mapping: FieldMapping) -> tuple[str, datetime]:
    """The vendor's id and the time of the feedback; both are required whatever the mapping says."""
    raw_id, id_at = _read(view, "external_id", mapping.external_id)
    external_id = _as_str(raw_id, "external_id", id_at)
    if external_id is None:
        raise MappingError(id_at, "external_id: missing")
    raw_time, time_at = _read(view, "occurred_at", mapping.occurred_at)
    if raw_time is None:
        raise MappingError(time_at, "occurred_at: missing")
    return external_id, parse_time(raw_time, "occurred_at", time_at)


def _read_metadata(view: Any, mapping: FieldMapping, metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    meta: dict[str, Any] = dict(metadata or {})
    for name, paths in mapping.metadata.items():
        value, _ = _read(view, f"metadata.{name}", paths)
        if value is not None:
            meta[name] = value
    return meta


def _read_score(view: Any, mapping: FieldMapping, meta: dict[str, Any]) -> tuple[float | None, Scale | None]:
    """The score on its scale; a score with no tracked scale goes to ``meta`` as ``unscaled_score``."""
    score: float | None = None
    scale: Scale | None = None
    raw_score, score_at = _read(view, "score", mapping.score)
    if raw_score is not None:
        number = _as_score(raw_score, score_at, mapping.score_values)
        scale, tracked = _scale(view, mapping)
        if tracked and scale is not None:
            lo, hi = SCALE_RANGES[scale]
            if not lo <= number <= hi:
                raise MappingError(score_at, f"score: {number:g} is outside the {scale} range {lo:g}-{hi:g}")
            score = number
        else:
            meta["unscaled_score"] = number
    return score, scale


def _check_present(
    mapping: FieldMapping, found: dict[str, Any], score: float | None, meta: dict[str, Any]
) -> None:
    """The fields the mapping requires are there, and a feedback item says something (text or score)."""
    for name in mapping.require:
        present = score if name in ("score", "scale") else found.get(name, True)
        if present is None:
            paths = getattr(mapping, name) or (name,)
            raise MappingError(" | ".join(paths), f"{name}: required by the mapping but missing")
    if (
        mapping.kind == "feedback"
        and found["text"] is None
        and score is None
        and "unscaled_score" not in meta
    ):
        where = " | ".join((*(mapping.text or ()), *(mapping.score or ()))) or "text | score"
        raise MappingError(where, "text, score: neither found; the mapping does not fit this payload")


# --- helpers shared by the vendor modules ----------------------------------------------------


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        pos = f" at line {exc.lineno} column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise MappingError("$", f"body: not valid JSON{pos}") from None
    if not isinstance(payload, dict):
        raise MappingError("$", f"body: expected a JSON object, got {_type_name(payload)}")
    return payload


def body_digest_id(body: bytes) -> str:
    """Fallback dedupe key when a vendor's id is absent: identical retries still collapse."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def first_str(payload: Any, *paths: str) -> str | None:
    """The first present path as text (ids may be numbers); unreadable shapes count as absent."""
    for text in paths:
        try:
            value = resolve(payload, parsed_path(text))
        except PathTypeError:
            continue
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None
