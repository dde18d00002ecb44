"""Migration 0027 fills the issue facets from the items already stored, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.core.db import make_engine
from app.core.migrate import upgrade
from tests.support import databases

ISSUE = (
    "INSERT INTO experience_issues (id, title, stage, fingerprint, status, owner, item_count, customer_count,"
    " detractor_count, impact, answers_yes, answers_no, created_at, updated_at) VALUES (:id, 't', 'buy',"
    " :fp, 'open', 'tom', 0, 0, 0, 0, 0, 0, '2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00')"
)
ITEM = (
    "INSERT INTO feedback_items (source, external_id, persona, occurred_at, received_at, extra, state,"
    " issue_id, placement, staff) VALUES (:source, :ext, :persona, '2026-11-01 00:00:00+00',"
    " '2026-11-01 00:00:00+00', '{}', :state, :issue, '{}', :staff)"
)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with databases.empty_database(request.param, tmp_path, "seam_facets") as found:
        yield found


def test_upgrade_counts_existing_items_by_issue_persona_and_source(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine, "0026")
        items = [
            ("web", "1", "family", "placed", 1, False),
            ("web", "2", "family", "placed", 1, False),
            ("web", "3", None, "placed", 1, False),
            ("staff", "4", "family", "placed", 1, True),
            ("web", "5", "single", "placed", 2, False),
            ("web", "6", "single", "triage", None, False),  # in no issue: no facet
        ]
        with engine.begin() as conn:
            for i in (1, 2):
                conn.execute(text(ISSUE), {"id": i, "fp": f"fp-{i}"})
            for source, ext, persona, state, issue, staff in items:
                conn.execute(text(ITEM), {"source": source, "ext": ext, "persona": persona, "state": state,
                                          "issue": issue, "staff": staff})  # fmt: skip
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT issue_id, persona, staff, item_count FROM issue_facets ORDER BY 1, 2, 3")
            ).all()
        assert [(r[0], r[1], bool(r[2]), r[3]) for r in rows] == [
            (1, "", False, 1),
            (1, "family", False, 2),
            (1, "family", True, 1),
            (2, "single", False, 1),
        ]
    finally:
        engine.dispose()
