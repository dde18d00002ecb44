"""The board's kept counts (triggers, migration 0028) equal the issues counted by stage, status,
priority and due day after every kind of change, fold to one row per key without changing, and give the
whole board the same totals, overdue and emerging counts as counting its issues does."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlmodel import Session

from app.core.db import make_engine
from app.core.migrate import upgrade
from app.issues import board_counts, reshape
from app.issues import service as issues
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop.models import IssueAccountability
from app.privacy import erase
from app.web import board_query
from tests.integration.test_issue_facets import ACTOR, _issue_of, _seed
from tests.support import databases
from tests.support.api import TEST_SECRET

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
ISSUES = ExperienceIssue.__table__  # type: ignore[attr-defined]
ACC = IssueAccountability.__table__  # type: ignore[attr-defined]


def _day(due: datetime | None) -> str:
    """The Monday (UTC) of the due date's week."""
    if due is None:
        return ""
    utc = (due if due.tzinfo else due.replace(tzinfo=UTC)).astimezone(UTC)
    return (utc - timedelta(days=utc.weekday())).strftime("%Y-%m-%d")


def counted(session: Session) -> dict[board_counts.Key, int]:
    rows = session.execute(
        select(ISSUES.c.stage, ISSUES.c.status, ACC.c.priority, ACC.c.due_at).select_from(
            ISSUES.outerjoin(ACC, ACC.c.issue_id == ISSUES.c.id)
        )
    )
    return dict(Counter(board_counts.Key(s, st, p or "", _day(d)) for s, st, p, d in rows))


def assert_exact(engine: Engine) -> dict[board_counts.Key, int]:
    with Session(engine) as session:
        kept, expected = board_counts.read(session), counted(session)
    assert kept == expected
    return kept


def _accountable(engine: Engine, *issue_ids: int, due: datetime | None = None) -> None:
    """Each issue's priority and due date, in place of whatever the loop's assessment wrote (it runs
    when the process's evidence reactions are installed, as an earlier test in the worker may have)."""
    with Session(engine) as session:
        session.execute(ACC.delete().where(ACC.c.issue_id.in_(issue_ids)))
        for n, issue_id in enumerate(issue_ids):
            at = due or datetime(2026, 12, 20, 9, tzinfo=UTC) + timedelta(days=n)
            session.execute(ACC.insert().values(issue_id=issue_id, priority=f"p{n + 2}", due_at=at))
        session.commit()


def _seeded(engine: Engine) -> tuple[list[int], list[int], int, int]:
    checkout, promo = _seed(engine)
    a, b = _issue_of(engine, checkout[0]), _issue_of(engine, promo[0])
    assert sum(assert_exact(engine).values()) == 2
    _accountable(engine, a, b)
    return checkout, promo, a, b


def test_every_kind_of_change_keeps_the_counts_exact(engine: Engine) -> None:
    checkout, _, a, b = _seeded(engine)
    kept = assert_exact(engine)
    assert sorted(k.priority for k in kept) == ["p2", "p3"] and "2026-12-21" in {
        k.due_week for k in kept
    }  # Mon 21 Dec
    with Session(engine) as session:
        # A status written by any path counts (the transition service's reactions need a wired process).
        session.execute(update(ISSUES).where(ISSUES.c.id == a).values(status="acknowledged"))
        session.commit()
    assert any(k.status == "acknowledged" for k in assert_exact(engine))
    with Session(engine) as session:
        issues.merge(session, b, a, "same problem", ACTOR)
        session.commit()
    assert_exact(engine)
    with Session(engine) as session:
        reshape.unmerge(session, b, ACTOR)
        session.commit()
    assert_exact(engine)
    with Session(engine) as session:
        reshape.split(session, a, [checkout[0], checkout[4]], "Split off", ACTOR)
        session.commit()
    assert sum(assert_exact(engine).values()) == 3
    with Session(engine) as session:
        # A priority and a due date changed by hand, and an accountability row removed and written again.
        session.execute(
            update(ACC)
            .where(ACC.c.issue_id == a)
            .values(priority="p1", due_at=datetime(2026, 1, 2, tzinfo=UTC))
        )
        session.commit()
    assert ("acknowledged", "p1", "2025-12-29") in {k[1:] for k in assert_exact(engine)}  # Fri 2 Jan
    with Session(engine) as session:
        row = session.execute(select(ACC).where(ACC.c.issue_id == b)).mappings().one()
        session.execute(ACC.delete().where(ACC.c.issue_id == b))
        session.flush()
        assert board_counts.read(session) == counted(session)
        session.execute(ACC.insert().values(**row))
        session.commit()
    assert_exact(engine)
    with Session(engine) as session:
        erase.erase(session, "cust-1", TEST_SECRET, "test")
        session.commit()
    assert_exact(engine)


def test_folding_leaves_one_row_per_key_and_the_same_counts(engine: Engine) -> None:
    _, _, a, _ = _seeded(engine)
    with Session(engine) as session:
        for to in ("acknowledged", "fixing"):
            session.execute(update(ISSUES).where(ISSUES.c.id == a).values(status=to))
        session.commit()
    before = assert_exact(engine)
    with Session(engine) as session:
        rows = session.execute(select(func.count()).select_from(board_counts.COUNTS)).scalar_one()
        assert rows > len(before)  # the -1/+1 rows of each change
        assert board_counts.fold(session) == rows
        session.commit()
        assert session.execute(select(func.count()).select_from(board_counts.COUNTS)).scalar_one() == len(
            before
        )
        assert board_counts.fold(session) == len(before)  # folding again changes nothing
        session.commit()
    assert assert_exact(engine) == before


def _totals(columns: list[board_query.Column]) -> dict[str, tuple[int, int, int]]:
    return {c.key: (c.total, c.overdue, c.emerging) for c in columns}


def test_the_whole_board_shows_what_counting_its_issues_shows(engine: Engine) -> None:
    _, _, a, b = _seeded(engine)
    now = datetime.now(UTC)
    with Session(engine) as session:
        # Overdue by weeks, and overdue since earlier this week (counted against the clock).
        monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        earlier = max(monday, now - timedelta(minutes=1))
        session.execute(update(ACC).where(ACC.c.issue_id == a).values(due_at=now - timedelta(days=30)))
        session.execute(update(ACC).where(ACC.c.issue_id == b).values(due_at=earlier))
        session.commit()
    with Session(engine) as session:
        journey = journeys.current(session)
        kept = board_query.board(session, journey, board_query.Filters(), now, per_column=50)
        columns = {c.key: board_query.Column(c.key, c.name, c.owner) for c in kept}
        joined = ISSUES.outerjoin(ACC, ACC.c.issue_id == ISSUES.c.id)
        board_query._count(session, columns, {}, joined, board_query._conditions(board_query.Filters()), now)
        assert _totals(kept) == _totals(list(columns.values()))
        assert sum(c.overdue for c in kept) == 2
        stage = next(c.key for c in kept if c.total)
        one = board_query.board(session, journey, board_query.Filters(stage=stage), now, per_column=50)
        assert _totals(one) == {stage: _totals(kept)[stage]}
        later = board_query.board(
            session, journey, board_query.Filters(), now + timedelta(days=5), per_column=50
        )
    assert sum(c.overdue for c in later) == 2 and sum(c.total for c in later) == 2


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with databases.empty_database(request.param, tmp_path, "seam_board_counts") as found:
        yield found


def test_upgrade_counts_the_issues_already_stored(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine, "0027")
        issue = (
            "INSERT INTO experience_issues (id, title, stage, fingerprint, status, owner, item_count,"
            " customer_count, detractor_count, impact, answers_yes, answers_no, created_at, updated_at)"
            " VALUES (:id, 't', :stage, :fp, :status, 'tom', 0, 0, 0, 0, 0, 0, '2026-11-01 00:00:00+00',"
            " '2026-11-01 00:00:00+00')"
        )
        with engine.begin() as conn:
            for i, stage, status in ((1, "buy", "open"), (2, "buy", "open"), (3, "pay", "emerging")):
                conn.execute(text(issue), {"id": i, "stage": stage, "fp": f"fp-{i}", "status": status})
            conn.execute(
                ACC.insert().values(issue_id=1, priority="p2", due_at=datetime(2026, 11, 5, 9, tzinfo=UTC))
            )
        upgrade(engine)
        with Session(engine) as session:
            assert board_counts.read(session) == {
                board_counts.Key("buy", "open", "p2", "2026-11-02"): 1,  # Thu 5 Nov's Monday
                board_counts.Key("buy", "open", "", ""): 1,
                board_counts.Key("pay", "emerging", "", ""): 1,
            }
            # And the triggers run from then on.
            session.execute(update(ISSUES).where(ISSUES.c.id == 3).values(status="open"))
            session.commit()
            assert board_counts.read(session) == counted(session)
    finally:
        engine.dispose()
