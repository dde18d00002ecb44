"""Opaque cursors, all keyset: the last row's id, or its sort value and id."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, cast

from fastapi import Path
from pydantic import Field
from starlette.convertors import IntegerConvertor, register_url_convertor

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
        raise unknown_cursor() from exc


def unknown_cursor() -> InvalidInput:
    return InvalidInput(
        "The cursor is not one this API gave out for this listing.",
        errors=[field_error("query.cursor", "unknown cursor")],
    )


# Row ids are 32-bit on PostgreSQL; a larger id can name nothing, so it is refused as input.
MAX_ID = 2**31 - 1


class RowIdConvertor(IntegerConvertor):
    """`{name:rowid}` in a path: digits, as `:int`, but a number too long to parse (Python refuses
    int() of more than 4,300 digits, and Starlette's `:int` answered such a path with a 500) becomes
    one past the largest id, so the endpoint refuses it with 422 as it does any id out of range."""

    def convert(self, value: str) -> int:
        return row_id(value)


def row_id(digits: str) -> int:
    """A path's digits as a number, one past the largest id when too long to be one."""
    return int(digits) if len(digits) <= 19 else MAX_ID + 1


# Registered on import: every router naming `:rowid` imports this module for RowId first.
register_url_convertor("rowid", RowIdConvertor())
RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="A row id.")]
# A row id inside a body or a form: the database's integer range, so no id reaches SQL out of range.
BodyRowId = Annotated[int, Field(ge=1, le=MAX_ID)]


# A keyset cursor: the sort's name, the last row's sort value and its id. Only values this API sorts on
# are accepted back, so a forged cursor can neither reach SQL with a wrong type nor page another sort.
KeyValue = float | str | None


def encode_key(kind: str, value: KeyValue, row_id: int) -> str:
    raw = json.dumps([kind, value, row_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_key(cursor: str | None, kind: str, value_type: type) -> tuple[KeyValue, int] | None:
    """(value, id) of a cursor `encode_key(kind, …)` gave out; a value of `value_type` or None."""
    if cursor is None:
        return None
    try:
        found, value, row_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if value_type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if found != kind or not (value is None or isinstance(value, value_type)):
            raise ValueError(found)
        if value_type is str and value is not None:
            datetime.fromisoformat(str(value))
        if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 <= row_id <= MAX_ID:
            raise ValueError(row_id)
        return cast(KeyValue, value), row_id
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise unknown_cursor() from exc
