"""CSV downloads: a header row, then rows written as they are read, page by page, so an export of a
million rows never sits in memory.

Cells are safe to open in a spreadsheet: a text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return would be read as a formula (OWASP "CSV injection"), so it gets a leading `'`, which spreadsheets
show as text and hide. Numbers are written as numbers, so a negative NPS stays a number. Lists are
joined with `;`, objects written as JSON, times as ISO 8601."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.db import reader

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "text/csv; charset=utf-8"
PAGE = 500


def cell(value: Any) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return neutralise(";".join(str(v) for v in value))
    if isinstance(value, dict):
        return neutralise(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return neutralise(str(value))


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        out = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return out

    writer.writerow(header)
    yield flush()
    pending = 0
    for row in rows:
        writer.writerow([cell(v) for v in row])
        pending += 1
        if pending >= 100:
            yield flush()
            pending = 0
    yield flush()


def paged(
    engine: Engine, read_page: Callable[[Session, Any, int], tuple[list[list[Any]], Any]]
) -> Iterator[list[Any]]:
    """Rows from `read_page(session, after, limit) -> (rows, next_after)` until a page comes back short.
    Each page is read in a short read-only session of its own, so no connection is held while the
    client takes its time downloading."""
    after: Any = None
    while True:
        with Session(reader(engine)) as session:
            rows, after = read_page(session, after, PAGE)
        yield from rows
        if len(rows) < PAGE or after is None:
            return


def response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> StreamingResponse:
    return StreamingResponse(
        lines(header, rows),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
