"""`/grouping`: a stage owner decides the consolidation pass's merge proposals from the page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.settings import Settings
from app.issues.models import ExperienceIssue
from app.routing.models import MergeProposal
from tests.web.helpers import csrf_of, sign_in


def _propose(engine: Engine) -> tuple[int, int, int]:
    """A proposal between the seeded Buy issues (checkout freeze, promo code)."""
    with Session(engine) as session:
        found = list(session.execute(select(ExperienceIssue).order_by(col(ExperienceIssue.id))).scalars())
        keep = next(i for i in found if "checkout" in i.title.lower())
        merge = next(i for i in found if "promo" in i.title.lower())
        row = MergeProposal(
            stage="buy",
            keep_issue_id=keep.id,
            merge_issue_id=merge.id,
            similarity=0.61,
            shared_terms=["code"],
        )
        session.add(row)
        session.commit()
        assert row.id and keep.id and merge.id
        return row.id, keep.id, merge.id


def _proposal(engine: Engine, proposal_id: int) -> MergeProposal:
    with Session(engine) as session:
        row = session.get(MergeProposal, proposal_id)
        assert row is not None
        return row


def _status(engine: Engine, issue_id: int) -> str:
    with Session(engine) as session:
        row = session.get(ExperienceIssue, issue_id)
        assert row is not None
        return row.status


def test_the_owner_merges_from_the_page(web: TestClient, web_settings: Settings, engine: Engine) -> None:
    proposal_id, keep, merge = _propose(engine)
    sign_in(web, web_settings, "tom")
    html = web.get("/grouping").text
    assert f'data-proposal="{proposal_id}"' in html
    assert "The checkout page froze when I pressed pay" in html and "My promo code was rejected" in html
    assert "similarity 0.61" in html and "both mention code" in html
    done = web.post(
        f"/grouping/{proposal_id}", data={"csrf": csrf_of(html), "decision": "merge"}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/grouping?done=merged"
    row = _proposal(engine, proposal_id)
    assert (row.status, row.decided_by) == ("accepted", "person:tom")
    assert _status(engine, merge) == "merged" and _status(engine, keep) != "merged"
    after = web.get(done.headers["location"]).text
    assert "Merged:" in after and 'id="no-proposals"' in after
    again = web.post(f"/grouping/{proposal_id}", data={"csrf": csrf_of(after), "decision": "keep_apart"})
    assert again.status_code == 409 and "already accepted" in again.text


def test_keeping_apart_records_the_rejection(web: TestClient, web_settings: Settings, engine: Engine) -> None:
    proposal_id, _, merge = _propose(engine)
    sign_in(web, web_settings, "dana")
    html = web.get("/grouping").text
    done = web.post(
        f"/grouping/{proposal_id}",
        data={"csrf": csrf_of(html), "decision": "keep_apart"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert _proposal(engine, proposal_id).status == "rejected"
    assert _status(engine, merge) != "merged"


def test_others_neither_see_nor_decide(web: TestClient, web_settings: Settings, engine: Engine) -> None:
    proposal_id, _, merge = _propose(engine)
    sign_in(web, web_settings, "ravi")
    html = web.get("/grouping").text
    assert f'data-proposal="{proposal_id}"' not in html and 'id="no-proposals"' in html
    refused = web.post(f"/grouping/{proposal_id}", data={"csrf": csrf_of(html), "decision": "merge"})
    assert refused.status_code == 403
    assert _proposal(engine, proposal_id).status == "proposed" and _status(engine, merge) != "merged"
    assert (
        web.post(f"/grouping/{proposal_id}", data={"csrf": csrf_of(html), "decision": "maybe"}).status_code
        == 422
    )
