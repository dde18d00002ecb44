"""Each issue's kept facets (items by persona, customers or staff) equal what its items say after every
path that moves items: ingest, merge and unmerge, split, moving items, triage, erasure, recompute. The
board's persona and source filters read them and show the issues an EXISTS over the items showed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Engine, exists, func, select
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import utcnow
from app.feedback.models import FeedbackItem
from app.intake import ingest as feedback
from app.intake import triage
from app.issues import counters, facets, reshape
from app.issues import service as issues
from app.issues.lifecycle import ACTIVE
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.privacy import erase
from app.web import board_query
from tests.support.api import TEST_SECRET, example_journey

ITEMS = FeedbackItem.__table__  # type: ignore[attr-defined]
ACTOR = Actor("test")
COMPLAINT = "The checkout page froze when I pressed pay"


def _journey(engine: Engine) -> None:
    with Session(engine) as session:
        journeys.apply(session, example_journey(), actor="test")
        session.commit()
    journeys._parsed.clear()


def _item(n: int, touchpoint: str, persona: str | None, *, source: str = "web") -> dict[str, Any]:
    return {
        "source": source,
        "external_id": f"f-{n}",
        "text": f"{COMPLAINT} ({n})",
        "occurred_at": "2026-11-20T10:00:00Z",
        "customer_ref": f"cust-{n % 4}",
        "touchpoint": touchpoint,
        "score": 1,
        "scale": "csat",
        **({"persona": persona} if persona else {}),
    }


def _ingest(engine: Engine, raw: list[dict[str, Any]]) -> list[int]:
    with Session(engine, expire_on_commit=False) as session:
        good, bad = feedback.validate_raw(raw)
        assert not bad
        results = feedback.ingest(session, journeys.current(session), good, ACTOR)
        session.commit()
    return [int(r.id) for r in results if r.id is not None]


def _from_items(session: Session) -> dict[int, dict[facets.Key, int]]:
    out: dict[int, dict[facets.Key, int]] = {}
    rows = session.execute(
        select(ITEMS.c.issue_id, ITEMS.c.persona, ITEMS.c.staff, func.count())
        .where(ITEMS.c.issue_id.is_not(None))
        .group_by(ITEMS.c.issue_id, ITEMS.c.persona, ITEMS.c.staff)
    )
    for issue_id, persona, staff, n in rows:
        out.setdefault(int(issue_id), {})[(persona, bool(staff))] = int(n)
    return out


def assert_exact(engine: Engine) -> dict[int, dict[facets.Key, int]]:
    """Every issue's facets are its items counted by (persona, staff); returns them."""
    with Session(engine) as session:
        expected = _from_items(session)
        ids = session.execute(select(ExperienceIssue.id)).scalars().all()  # type: ignore[call-overload]
        kept = {int(i): facets.of(session, int(i)) for i in ids}
    assert {i: f for i, f in kept.items() if f} == expected
    return expected


def _issue_of(engine: Engine, item_id: int) -> int:
    with Session(engine) as session:
        found = session.get(FeedbackItem, item_id)
        assert found is not None and found.issue_id is not None
        return found.issue_id


def _seed(engine: Engine) -> tuple[list[int], list[int]]:
    """Checkout: two personas, one without, and a staff check; promo code: one persona."""
    _journey(engine)
    checkout = _ingest(
        engine,
        [
            _item(1, "checkout-survey", "family"),
            _item(2, "checkout-survey", "family"),
            _item(3, "checkout-survey", "single"),
            _item(4, "checkout-survey", None),
            _item(5, "checkout-survey", "single", source="staff"),
        ],
    )
    promo = _ingest(engine, [_item(10, "promo-banner", "gifting"), _item(11, "promo-banner", "gifting")])
    return checkout, promo


def test_ingest_counts_each_issues_items_by_persona_and_source(engine: Engine) -> None:
    checkout, promo = _seed(engine)
    kept = assert_exact(engine)
    assert kept[_issue_of(engine, checkout[0])] == {
        ("family", False): 2,
        ("single", False): 1,
        (None, False): 1,
        ("single", True): 1,
    }
    assert kept[_issue_of(engine, promo[0])] == {("gifting", False): 2}
    # More items into the same issue add to the rows already there.
    _ingest(engine, [_item(6, "checkout-survey", "family"), _item(7, "checkout-survey", "gifting")])
    kept = assert_exact(engine)
    assert kept[_issue_of(engine, checkout[0])][("family", False)] == 3


def test_merge_unmerge_split_and_move_keep_facets_exact(engine: Engine) -> None:
    checkout, promo = _seed(engine)
    a, b = _issue_of(engine, checkout[0]), _issue_of(engine, promo[0])
    with Session(engine) as session:
        issues.merge(session, b, a, "same problem", ACTOR)
        session.commit()
    kept = assert_exact(engine)
    assert b not in kept and kept[a][("gifting", False)] == 2
    with Session(engine) as session:
        reshape.unmerge(session, b, ACTOR)
        session.commit()
    kept = assert_exact(engine)
    assert kept[b] == {("gifting", False): 2} and ("gifting", False) not in kept[a]
    with Session(engine) as session:
        new = reshape.split(session, a, [checkout[0], checkout[4]], "Split off", ACTOR)
        session.commit()
        assert new.id is not None
        split_id = new.id
    kept = assert_exact(engine)
    assert kept[split_id] == {("family", False): 1, ("single", True): 1}
    assert ("single", True) not in kept[a]
    with Session(engine) as session:
        assert reshape.move_items(session, [checkout[1]], a, split_id, "regroup", ACTOR) == 1
        session.commit()
    kept = assert_exact(engine)
    assert kept[split_id][("family", False)] == 2 and ("family", False) not in kept[a]


def test_triage_into_an_issue_and_moving_between_stages_keep_facets_exact(engine: Engine) -> None:
    checkout, promo = _seed(engine)
    a, b = _issue_of(engine, checkout[0]), _issue_of(engine, promo[0])
    loose = _ingest(engine, [{**_item(30, "checkout-survey", "gifting"), "touchpoint": None,
                              "text": "Something odd happened with my thing"}])  # fmt: skip
    with Session(engine) as session:
        journey = journeys.current(session)
        moved = triage.triage_into(session, journey, loose[0], a, "belongs here", ACTOR)
        assert moved.issue_id == a
        session.commit()
    kept = assert_exact(engine)
    assert kept[a][("gifting", False)] == 1
    with Session(engine) as session:
        journey = journeys.current(session)
        triage.triage_into(session, journey, checkout[2], b, "wrong issue", ACTOR)
        session.commit()
    kept = assert_exact(engine)
    assert kept[b][("single", False)] == 1 and ("single", False) not in kept[a]
    with Session(engine) as session:
        journey = journeys.current(session)
        item = triage.triage(session, journey, checkout[3], "pay", None, "other stage", ACTOR)
        session.commit()
        assert item.issue_id not in (a, b)
    kept = assert_exact(engine)
    assert (None, False) not in kept[a]


def test_erasure_and_recompute_keep_facets_exact(engine: Engine) -> None:
    checkout, _ = _seed(engine)
    a = _issue_of(engine, checkout[0])
    with Session(engine) as session:
        erase.erase(session, "cust-1", TEST_SECRET, "test")
        session.commit()
    assert_exact(engine)
    with Session(engine) as session:
        # Facets gone wrong (as if written by hand) are counted again from the items.
        session.execute(facets.FACETS.delete().where(facets.FACETS.c.issue_id == a))
        facets.add(session, {a: {("robots", False): 9}})
        counters.recompute(session, a)
        session.commit()
    kept = assert_exact(engine)
    assert ("robots", False) not in kept[a] and kept[a][("family", False)] == 2


def _old_filter(f: board_query.Filters) -> Any:
    """The board's filter before facets were kept: an EXISTS over the issue's items."""
    where = [ITEMS.c.issue_id == ExperienceIssue.id]
    if f.persona:
        where.append(ITEMS.c.persona == f.persona)
    if f.source:
        where.append(ITEMS.c.staff.is_(f.source == "staff"))
    return exists().where(*where)


def test_board_filters_show_the_issues_their_items_show(engine: Engine) -> None:
    checkout, promo = _seed(engine)
    _ingest(engine, [_item(40, "first-box-nps", "single", source="staff"), _item(41, "pricing-page", None)])
    now = utcnow()
    cases = [board_query.Filters(persona=p, source=s) for p in (None, "family", "single", "gifting", "nobody")
             for s in (None, "customers", "staff")]  # fmt: skip
    seen = Counter[int]()
    with Session(engine) as session:
        journey = journeys.current(session)
        for f in cases:
            columns = board_query.board(session, journey, f, now, per_column=50)
            cards = {c.id for col in columns for c in col.cards}
            stmt = select(ExperienceIssue.id).where(  # type: ignore[call-overload]
                ExperienceIssue.status.in_(sorted(ACTIVE)),  # type: ignore[attr-defined]
                *([_old_filter(f)] if f.persona or f.source else []),
            )
            assert cards == set(session.execute(stmt).scalars()), f
            seen.update(cards)
    assert len(seen) == 4  # every issue is shown by some filter, and filters differ
    assert {_issue_of(engine, checkout[4]), _issue_of(engine, promo[0])} <= set(seen)
