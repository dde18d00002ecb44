"""Field types for the API's inputs that are stricter than pydantic's lax defaults."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, model_validator

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _iso_only(value: Any) -> Any:
    # Pydantic would read 0 or "1.5e9" as a Unix time; the documented format is ISO 8601, so say so.
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected an ISO 8601 date-time with a time zone, e.g. 2026-11-01T09:30:00Z")
    return value


IsoDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_only)]

__all__ = ["IsoDatetime", "datetime"]


def nul_path(value: Any, path: str = "") -> str | None:
    """The path of the first string (or key) holding a NUL character, which PostgreSQL cannot store."""
    if isinstance(value, str):
        return (path or "value") if "\x00" in value else None
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and "\x00" in key:
                return where
            found = nul_path(inner, where)
            if found:
                return found
    if isinstance(value, list | tuple):
        for i, inner in enumerate(value):
            found = nul_path(inner, f"{path}[{i}]")
            if found:
                return found
    return None


class ApiModel(BaseModel):
    """Base for request bodies: text with NUL characters is refused up front, naming where it is."""

    @model_validator(mode="after")
    def _no_nul(self) -> ApiModel:
        # Nested models are ApiModels too and check themselves, so only this level is walked.
        found = None
        for name, value in self.__dict__.items():
            if isinstance(value, str):
                if "\x00" in value:
                    found = name
                    break
            elif value and isinstance(value, dict | list):
                found = nul_path(value, name)
                if found:
                    break
        if found:
            raise ValueError(f"{found}: contains a NUL character (\\u0000), which cannot be stored")
        return self
