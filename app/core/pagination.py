"""Opaque cursors. Keyset ("id") where the order allows it, offsets for computed orders."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import Path
from pydantic import Field

from app.core.errors import InvalidInput, field_error


def encode(value: int, kind: str = "id") -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode(cursor: str | None, kind: str = "id") -> int | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        found, _, value = raw.partition(":")
        if found != kind:
            raise ValueError(found)
        number = int(value)
        if number < 0:
            raise ValueError(value)
        return number
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "The cursor is not one this API gave out for this listing.",
            errors=[field_error("query.cursor", "unknown cursor")],
        ) from exc


# Row ids are 32-bit on PostgreSQL; a larger id can name nothing, so it is refused as input.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A row id.")]
# A row id inside a body or a form: the database's integer range, so no id reaches SQL out of range.
BodyRowId = Annotated[int, Field(ge=1, le=MAX_ID)]
