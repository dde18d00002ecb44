"""Field types for the API's inputs that are stricter than pydantic's lax defaults."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    SecretStr,
    ValidationInfo,
    field_validator,
)

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")

# Deeper JSON than this is refused: no honest payload needs it, and deep values cost recursion in every
# layer that walks them (PostgreSQL's JSONB, the response encoder).
MAX_JSON_DEPTH = 32


def _iso_only(value: Any) -> Any:
    # Pydantic would read 0 or "1.5e9" as a Unix time; the documented format is ISO 8601, so say so.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected an ISO 8601 date-time with a time zone, e.g. 2026-11-01T09:30:00Z")
    return value


def _in_utc_range(value: datetime) -> datetime:
    # Stored in UTC: 0001-01-01T00:30+01:00 is a valid input whose UTC time falls before year 1.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("in UTC this falls outside the years 1 to 9999") from None
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_in_utc_range)]

__all__ = ["IsoDatetime", "datetime"]


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _string_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which cannot be stored"
    if _has_lone_surrogate(text):
        return "contains a lone UTF-16 surrogate, which is not valid Unicode"
    return None


def unstorable(value: Any, path: str = "", depth: int = 0) -> tuple[str, str] | None:
    """(where, why) of the first part of a JSON-like value that cannot be stored or sent back as JSON:
    NUL (PostgreSQL cannot store it), lone surrogates, NaN and infinities, or nesting past the limit."""
    if isinstance(value, str):
        problem = _string_problem(value)
        return (path or "value", problem) if problem else None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "value", "is not a finite number")
    if isinstance(value, dict | list | tuple):
        if depth >= MAX_JSON_DEPTH:
            return (path or "value", f"is nested deeper than {MAX_JSON_DEPTH} levels")
        pairs = value.items() if isinstance(value, dict) else ((f"[{i}]", v) for i, v in enumerate(value))
        for key, inner in pairs:
            if isinstance(value, dict):
                where = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and (problem := _string_problem(key)):
                    return (path or "value", f"a key {problem}")
            else:
                where = f"{path}{key}"
            found = unstorable(inner, where, depth + 1)
            if found:
                return found
    return None


def nul_path(value: Any, path: str = "") -> str | None:
    """The path of the first string (or key) holding a NUL character, which PostgreSQL cannot store."""
    found = unstorable(value, path)
    return found[0] if found and "NUL" in found[1] else None


# What integrations.http.check_base_url accepts as a base URL: http(s), a host (and port), a path; no
# credentials, query or fragment. Schemas state it so that a client (and a fuzzer) knows it in advance.
_PORT = r"([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
HTTP_URL_PATTERN = rf"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:{_PORT})?(/[^?#\s\x00]*)?$"


class ApiModel(BaseModel):
    """Base for request bodies: every field is checked for values that cannot be stored or answered with
    (NUL, lone surrogates, NaN and infinities, nesting past the limit); the error names the field."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        # Nested models are ApiModels too and check their own fields. A secret is checked too: the
        # document says no string holds a NUL, and no vendor's secret does.
        inner = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(inner, str | float | dict | list | tuple):
            found = unstorable(inner)
            if found:
                where, why = found
                raise ValueError(why if where == "value" else f"{where}: {why}")
        return value
