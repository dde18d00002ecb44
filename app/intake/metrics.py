"""What ingest did with the items it was given, counted when their transaction commits.

`seam_ingest_items_total{result}`: `received` (every item handed to ingest, valid or not), `stored`,
`duplicate`, `rejected`. `seam_ingest_placements_total{outcome}`, for the items stored: `opened` (the
first item of an issue or emerging group opened now), `joined` (an existing one, or one this batch
opened), `triage` (placed nowhere yet), `compliment` (praise, set apart) and `apart` (placed outside
every issue for another reason: a customer's answer, a passed staff check).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlmodel import Session

from app.core import metrics
from app.feedback.schemas import IngestResult

RESULTS = ("received", "stored", "duplicate", "rejected")
OUTCOMES = ("opened", "joined", "triage", "compliment", "apart")
ITEMS = metrics.counter(
    "ingest_items",
    "Feedback items given to ingest, by what became of them",
    ("result",),
    known=[(r,) for r in RESULTS],
)
PLACEMENTS = metrics.counter(
    "ingest_placements",
    "Stored feedback items, by where they were placed",
    ("outcome",),
    known=[(o,) for o in OUTCOMES],
)


def count(session: Session, results: Iterable[IngestResult], outcomes: Iterable[str]) -> None:
    results = list(results)
    metrics.on_commit(session, ITEMS, ("received",), len(results))
    for status, n in Counter(r.status for r in results).items():
        metrics.on_commit(session, ITEMS, ("stored" if status == "created" else status,), n)
    for outcome, n in Counter(outcomes).items():
        metrics.on_commit(session, PLACEMENTS, (outcome,), n)


def outcomes(stored: Sequence[tuple[dict[str, Any] | None, int | None]], opened: set[int]) -> list[str]:
    """The outcome of each stored item, given as (its `apart` grouping, its issue id); an issue opened by
    this batch counts its first item as `opened` and the rest as `joined`."""
    firsts = set(opened)
    found: list[str] = []
    for apart, issue_id in stored:
        if apart is not None:
            found.append("compliment" if apart.get("method") == "compliment" else "apart")
        elif issue_id is None:
            found.append("triage")
        elif issue_id in firsts:
            firsts.discard(issue_id)
            found.append("opened")
        else:
            found.append("joined")
    return found
