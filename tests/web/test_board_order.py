"""The board's columns page level by level (p1..p4, then issues with no priority), each by impact: every
page of a stage, laid end to end, is the one full order, with nothing repeated or left out."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import Engine, insert
from sqlmodel import Session

from app.core.clock import utcnow
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop.models import IssueAccountability
from app.web import board_query
from tests.web.helpers import apply_journey

RANK = {"p1": 1, "p2": 2, "p3": 3, "p4": 4, None: 5}


def _issues(engine: Engine) -> list[dict[str, object]]:
    """37 open issues on Buy: mixed priorities (some none yet, one level empty), tied impacts, some late."""
    rng = random.Random(7)
    now = utcnow()
    issues, acc = [], []
    for i in range(1, 38):
        priority = rng.choice(["p1", "p2", "p4", None])  # no p3: a level with nothing to show
        impact = float(rng.choice([10, 20, 20, 35, 50]))
        issues.append({"id": 1000 + i, "title": f"Issue {i}", "stage": "buy", "fingerprint": f"t:{i}",
                       "open_fingerprint": f"t:{i}", "status": rng.choice(["open", "fixing", "fix_shipped"]),
                       "owner": "dana", "item_count": 1, "customer_count": 1, "detractor_count": 0,
                       "impact": impact, "created_at": now, "updated_at": now})  # fmt: skip
        if priority is not None:  # an issue not assessed yet has no accountability row
            due = now + timedelta(days=rng.choice([-3, 4]))
            acc.append({"issue_id": 1000 + i, "priority": priority, "impact_score": impact, "due_at": due,
                        "updated_at": now})  # fmt: skip
    with Session(engine) as session:
        session.execute(insert(ExperienceIssue.__table__), issues)  # type: ignore[attr-defined]
        session.execute(insert(IssueAccountability.__table__), acc)  # type: ignore[attr-defined]
        session.commit()
    by_id = {a["issue_id"]: a for a in acc}
    return [{**r, "priority": by_id.get(r["id"], {}).get("priority"),
             "due": by_id.get(r["id"], {}).get("due_at")} for r in issues]  # fmt: skip


def test_pages_of_a_column_follow_priority_then_impact(engine: Engine) -> None:
    apply_journey(engine)
    made = _issues(engine)
    expected = [r["id"] for r in sorted(made, key=lambda r: (RANK[r["priority"]], -r["impact"], -r["id"]))]  # type: ignore[index, operator]
    now = utcnow()
    with Session(engine) as session:
        journey = journeys.current(session)
        seen: list[int] = []
        for page in range(1, 6):
            (col,) = board_query.board(
                session, journey, board_query.Filters(stage="buy"), now, per_column=8, page=page
            )
            assert col.total == 37
            assert col.overdue == sum(
                1 for r in made if r["status"] != "fix_shipped" and r["due"] and r["due"] < now
            )  # type: ignore[operator]
            seen += [c.id for c in col.cards]
            assert len(col.cards) == (8 if page < 5 else 5)
        first = board_query.board(session, journey, board_query.Filters(), now, per_column=12)
    assert seen == expected
    buy = next(c for c in first if c.key == "buy")
    assert [c.id for c in buy.cards] == expected[:12]
