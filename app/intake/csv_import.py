"""CSV import: each row is a feedback item; bad rows are reported by line and never stop the rest."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from app.core.actor import Actor
from app.feedback.schemas import FeedbackIn
from app.intake import ingest as feedback
from app.journey import service as journeys
from app.journey.schemas import Journey

COLUMNS = (
    "source",
    "external_id",
    "text",
    "score",
    "scale",
    "touchpoint",
    "customer_ref",
    "persona",
    "occurred_at",
)
CHUNK = 500
# A JSON metadata cell nested deeper than this is refused (the API's limit, app.core.types_api).
MAX_CELL_DEPTH = 32


class CsvFileError(ValueError):
    """The file as a whole cannot be read (its encoding, its header): nothing was imported."""


class RowError(ValueError):
    """One row cannot be read; the rest of the file goes on."""


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # Rows that landed, with what the journey did not know (an unknown touchpoint: placed by rules and
    # the model, else triage; an unknown persona: the item lands without one, the value kept in its
    # metadata as `unknown_persona`).
    warnings: list[tuple[int, str]] = field(default_factory=list)


def _unknowns(
    journey: Journey | None, line: int, item: FeedbackIn
) -> tuple[FeedbackIn, list[tuple[int, str]]]:
    if journey is None:
        return item, []
    out = []
    if item.touchpoint is not None and journey.touchpoint(item.touchpoint) is None:
        out.append(
            (line, f"unknown touchpoint '{item.touchpoint}': placed by rules or the model, else triage")
        )
    if item.persona is not None and item.persona not in {p.key for p in journey.personas}:
        out.append((line, f"unknown persona '{item.persona}': imported without a persona"))
        item = item.model_copy(
            update={"persona": None, "metadata": {**item.metadata, "unknown_persona": item.persona}}
        )
    return item, out


def _row_to_obj(row: dict[str, str | None], default_source: str | None) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value == "":
            continue
        key = key.strip()
        if key in COLUMNS:
            obj[key] = value
        elif key == "metadata":
            obj["metadata"] = _metadata_cell(value)
        elif key.startswith("meta."):
            meta[key[5:]] = value
    if meta:
        obj.setdefault("metadata", {}).update(meta)
    if default_source and "source" not in obj:
        obj["source"] = default_source
    return obj


def _metadata_cell(value: str) -> dict[str, Any]:
    # Depth is checked on the raw text before parsing: the parser itself recurses per level.
    depth = deepest = 0
    for ch in value:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    if deepest > MAX_CELL_DEPTH:
        raise RowError(f"metadata: nested deeper than {MAX_CELL_DEPTH} levels")
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        raise RowError("metadata: not valid JSON") from None
    if not isinstance(parsed, dict):
        raise RowError(f"metadata: must be a JSON object, not a {type(parsed).__name__}")
    return parsed


def _encoding(path: Path) -> str:
    """UTF-16 with its byte-order mark (spreadsheets' "Unicode text"), else UTF-8 (with or without BOM)."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return "utf-8-sig"


def _lines(path: Path) -> Iterator[str]:
    """The file's lines; a file that is not in its encoding is refused, naming the first bad line."""
    encoding = _encoding(path)
    with path.open("rb") as raw:
        if encoding == "utf-16":
            text = raw.read().decode("utf-16", errors="strict")
            yield from text.splitlines(keepends=True)
            return
        for number, line in enumerate(raw, start=1):
            try:
                yield line.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise CsvFileError(
                    f"line {number} is not UTF-8 (a latin-1 or Windows-1252 export?): "
                    "save the file as UTF-8 (or UTF-16) and import it again"
                ) from None


def _records(path: Path) -> Iterator[tuple[int, dict[str, str | None] | RowError]]:
    try:
        reader = csv.DictReader(_lines(path))
        fieldnames = reader.fieldnames
    except UnicodeDecodeError as exc:
        raise CsvFileError(f"the file is not valid UTF-16: {exc.reason}") from None
    except csv.Error as exc:
        raise CsvFileError(f"the header cannot be read: {exc}") from None
    if not fieldnames or ("text" not in fieldnames and "score" not in fieldnames):
        raise CsvFileError(f"the CSV needs a header with at least text or score; found {fieldnames}")
    last = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A field over the csv module's limit (131,072 characters) or a stray quote: this row only.
            # The reader does not count the line it failed on.
            last = max(reader.line_num, last + 1)
            yield last, RowError(f"row cannot be read: {exc}")
            continue
        # Line of the record's end, as people count lines in an editor (header is line 1).
        last = reader.line_num
        yield last, row


def import_csv(
    engine: Engine,
    path: Path,
    *,
    actor: Actor,
    default_source: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    batch: list[tuple[int, FeedbackIn]] = []

    def flush() -> None:
        if not batch:
            return
        with Session(engine, expire_on_commit=False) as session:
            journey = journeys.current_or_none(session)
            for n, (line, item) in enumerate(batch):
                checked, warnings = _unknowns(journey, line, item)
                batch[n] = (line, checked)
                report.warnings.extend(warnings)
            for result in feedback.ingest(session, journey, batch, actor):
                if result.status == "created":
                    report.created += 1
                else:
                    report.duplicates += 1
            session.commit()
        if progress:
            progress(len(batch))
        batch.clear()

    for line, row in _records(path):
        try:
            if isinstance(row, RowError):
                raise row
            obj = _row_to_obj(row, default_source)
            batch.append((line, FeedbackIn.model_validate(obj)))
        except (ValueError, json.JSONDecodeError) as exc:
            report.rejected.append((line, _reason(exc)))
            if progress:
                progress(1)
        if len(batch) >= CHUNK:
            flush()
    flush()
    return report


def _reason(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        parts = []
        for e in errors():
            loc = ".".join(str(p) for p in e.get("loc", ())) or "row"
            parts.append(f"{loc}: {e.get('msg')}")
        return "; ".join(parts)
    return str(exc)


def count_rows(path: Path) -> int:
    return sum(1 for _ in _records(path))
