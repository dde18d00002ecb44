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
            obj["metadata"] = json.loads(value)
        elif key.startswith("meta."):
            meta[key[5:]] = value
    if meta:
        obj.setdefault("metadata", {}).update(meta)
    if default_source and "source" not in obj:
        obj["source"] = default_source
    return obj


def _records(path: Path) -> Iterator[tuple[int, dict[str, str | None]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or ("text" not in reader.fieldnames and "score" not in reader.fieldnames):
            raise ValueError(f"the CSV needs a header with at least text or score; found {reader.fieldnames}")
        for row in reader:
            # Line of the record's end, as people count lines in an editor (header is line 1).
            yield reader.line_num, row


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
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return sum(1 for _ in csv.DictReader(fh))
