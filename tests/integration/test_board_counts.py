"""The board's kept counts (triggers, migrations 0028 and 0029), the whole board's and each team's,
persona's and source's, equal the issues counted by stage, status, priority and due week after every
kind of change, fold to one row per key without changing, and give the board, whole or filtered, the
same totals, overdue and emerging counts as counting its issues does."""

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


def counted_by_filter(session: Session) -> dict[tuple[str, str], dict[board_counts.Key, int]]:
    """(kind, value) -> the matching issues counted by key: a team on the issue, or at least one of its
    items from the persona, or from customers or staff (its facets), as the board's filters read them."""
    keys = {
        issue_id: board_counts.Key(s, st, p or "", _day(d))
        for issue_id, s, st, p, d in session.execute(
            select(ISSUES.c.id, ISSUES.c.stage, ISSUES.c.status, ACC.c.priority, ACC.c.due_at).select_from(
                ISSUES.outerjoin(ACC, ACC.c.issue_id == ISSUES.c.id)
            )
        )
    }
    matches = {("team", t, i) for i, t in session.execute(text("SELECT issue_id, team FROM issue_teams"))}
    for i, persona, staff in session.execute(text("SELECT issue_id, persona, staff FROM issue_facets")):
        matches |= {("persona", persona, i), ("source", "staff" if staff else "customers", i)}
    out: dict[tuple[str, str], Counter[board_counts.Key]] = {}
    for kind, value, i in matches:
        out.setdefault((kind, value), Counter())[keys[i]] += 1
    return {k: dict(v) for k, v in out.items()}


def assert_exact(engine: Engine) -> dict[board_counts.Key, int]:
    """The kept counts, the whole board's and each filter's, equal the issues counted."""
    with Session(engine) as session:
        kept, expected = board_counts.read(session), counted(session)
        by_filter = counted_by_filter(session)
        kept_by_filter = {
            kv: found
            for kv in {*by_filter, *_kept_filters(session)}
            if (found := board_counts.read_filtered(session, *kv))
        }
    assert kept == expected
    assert kept_by_filter == by_filter
    return kept


def _kept_filters(session: Session) -> set[tuple[str, str]]:
    return {(k, v) for k, v in session.execute(text("SELECT DISTINCT kind, value FROM board_filter_counts"))}


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
        by_filter = counted_by_filter(session)
        keys = len(before) + sum(len(v) for v in by_filter.values())
        rows = _rows(session, board_counts.COUNTS) + _rows(session, board_counts.FILTER_COUNTS)
        assert rows > keys  # the -1/+1 rows of each change
        assert board_counts.fold(session) == rows
        session.commit()
        assert _rows(session, board_counts.COUNTS) == len(before)
        assert _rows(session, board_counts.FILTER_COUNTS) == keys - len(before)
        assert board_counts.fold(session) == keys  # folding again changes nothing
        session.commit()
    assert assert_exact(engine) == before


def _rows(session: Session, table: Any) -> int:
    return int(session.execute(select(func.count()).select_from(table)).scalar_one())


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
        # Each filter the issues match, read from its kept counts, shows what counting shows.
        # (Items without a persona have the facet "", which no filter names.)
        matched = {kv for kv in counted_by_filter(session) if kv[1]}
        filters = {("source", "staff"), ("persona", "nobody's")} | matched
        for kind, value in sorted(filters):
            f = board_query.Filters(**{kind: value})
            assert board_query._kept_filter(f) == (kind, value)
            _same_as_counted(session, journey, f, now)
            _same_as_counted(session, journey, board_query.Filters(**{kind: value, "stage": stage}), now)
    assert sum(c.overdue for c in later) == 2 and sum(c.total for c in later) == 2
    assert {k for k, _ in filters} == {"team", "persona", "source"}


def _same_as_counted(session: Session, journey: Any, f: board_query.Filters, now: datetime) -> None:
    kept = board_query.board(session, journey, f, now, per_column=50)
    columns = {c.key: board_query.Column(c.key, c.name, c.owner) for c in kept}
    joined = ISSUES.outerjoin(ACC, ACC.c.issue_id == ISSUES.c.id)
    board_query._count(session, columns, {}, joined, board_query._conditions(f), now)
    assert _totals(kept) == _totals(list(columns.values())), f


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
            conn.execute(text("INSERT INTO issue_teams (issue_id, team) VALUES (1, 'web'), (2, 'web')"))
            conn.execute(
                text(
                    "INSERT INTO issue_facets (issue_id, persona, staff, item_count) VALUES"
                    " (1, 'family', false, 2), (1, 'family', true, 1), (2, '', false, 1)"
                )
            )
        upgrade(engine)
        with Session(engine) as session:
            assert board_counts.read_filtered(session, "team", "web") == {
                board_counts.Key("buy", "open", "p2", "2026-11-02"): 1,
                board_counts.Key("buy", "open", "", ""): 1,
            }
            # Two facets of one persona are one issue with that persona.
            assert board_counts.read_filtered(session, "persona", "family") == {
                board_counts.Key("buy", "open", "p2", "2026-11-02"): 1
            }
            assert board_counts.read_filtered(session, "source", "customers") == {
                board_counts.Key("buy", "open", "p2", "2026-11-02"): 1,
                board_counts.Key("buy", "open", "", ""): 1,
            }
            assert board_counts.read(session) == {
                board_counts.Key("buy", "open", "p2", "2026-11-02"): 1,  # Thu 5 Nov's Monday
                board_counts.Key("buy", "open", "", ""): 1,
                board_counts.Key("pay", "emerging", "", ""): 1,
            }
            # And the triggers run from then on.
            session.execute(update(ISSUES).where(ISSUES.c.id.in_([1, 3])).values(status="fixing"))
            session.commit()
            assert board_counts.read(session) == counted(session)
            assert {
                kv: found
                for kv in counted_by_filter(session)
                if (found := board_counts.read_filtered(session, *kv))
            } == counted_by_filter(session)
    finally:
        engine.dispose()
