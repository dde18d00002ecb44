"""Merge with a preview and undo, and split: as pages and as API operations."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from app.core.settings import Settings
from app.feedback.models import FeedbackItem
from app.issues.models import ExperienceIssue
from app.main import create_app
from tests.support.api import auth, make_key, settings_for
from tests.web.helpers import csrf_of, issue_ids, sign_in


def _issue(engine: Engine, issue_id: int) -> ExperienceIssue:
    with Session(engine) as session:
        found = session.get(ExperienceIssue, issue_id)
        assert found is not None
        return found


def _items(engine: Engine, issue_id: int) -> list[int]:
    with Session(engine) as session:
        stmt = (
            select(FeedbackItem.id)
            .where(col(FeedbackItem.issue_id) == issue_id)
            .order_by(col(FeedbackItem.id))
        )
        return [int(i) for i in session.execute(stmt).scalars()]


def test_merge_preview_changes_nothing_then_merge_and_undo(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "tom")
    checkout, promo = sorted(issue_ids(web))
    before = (_items(engine, checkout), _items(engine, promo))
    preview = web.get(f"/issues/{promo}/merge", params={"into": checkout})
    assert (
        "Moves" in preview.text
        and "<strong>2</strong> items" in preview.text
        and "5 items from 5 customers" in preview.text
    )
    assert (_items(engine, checkout), _items(engine, promo)) == before
    done = web.post(f"/issues/{promo}/merge", data={"csrf": csrf_of(preview.text), "into": checkout})
    assert done.url.path == f"/issues/{checkout}" and "Undo the merge" in done.text
    assert _issue(engine, promo).status == "merged" and len(_items(engine, checkout)) == 5
    undone = web.post(f"/issues/{promo}/unmerge", data={"csrf": csrf_of(done.text)})
    assert "The merge is undone" in undone.text
    assert (_items(engine, checkout), _items(engine, promo)) == before
    restored = _issue(engine, promo)
    assert restored.status == "open" and restored.merged_into_id is None and restored.item_count == 2
    assert _issue(engine, checkout).item_count == 3
    again = web.post(f"/issues/{promo}/unmerge", data={"csrf": csrf_of(undone.text)})
    assert again.status_code == 409


def test_split_moves_the_chosen_items_and_their_customers(
    web: TestClient, web_settings: Settings, engine: Engine
) -> None:
    sign_in(web, web_settings, "dana")
    checkout = sorted(issue_ids(web))[0]
    page = web.get(f"/issues/{checkout}")
    chosen = _items(engine, checkout)[:2]
    data = {"csrf": csrf_of(page.text), "items": chosen, "title": "Pay button freezes"}
    new = web.post(f"/issues/{checkout}/split", data=data)
    new_id = int(re.search(r"/issues/(\d+)", str(new.url)).group(1))  # type: ignore[union-attr]
    assert new_id != checkout and "Pay button freezes" in new.text
    assert _items(engine, new_id) == chosen and len(_items(engine, checkout)) == 1
    split = _issue(engine, new_id)
    assert (split.stage, split.owner, split.customer_count) == ("buy", "tom", 2)
    assert _issue(engine, checkout).customer_count == 1
    everything = web.post(f"/issues/{new_id}/split", data={**data, "items": chosen})
    assert everything.status_code == 422 and "at least one" in everything.text


def test_reshape_api(engine: Engine, seeded: object) -> None:
    with TestClient(create_app(settings_for(engine), engine)) as api:
        h = auth(make_key(engine, ["manage"]))
        checkout, promo = sorted(i["id"] for i in api.get("/api/v1/issues", headers=h).json()["items"])
        preview = api.get(
            f"/api/v1/issues/{promo}/merge-preview", params={"into": checkout}, headers=h
        ).json()
        assert preview == {
            "source": promo, "into": checkout, "items_moving": 2, "items_after": 5,
            "customers_after": 5, "teams_added": [],
        }  # fmt: skip
        assert api.post(f"/api/v1/issues/{promo}/unmerge", headers=h).status_code == 409
        api.post(f"/api/v1/issues/{promo}/merge", json={"into": checkout}, headers=h)
        back = api.post(f"/api/v1/issues/{promo}/unmerge", headers=h)
        assert back.status_code == 200 and back.json()["status"] == "open" and back.json()["item_count"] == 2
        items = _items(engine, checkout)
        split = api.post(f"/api/v1/issues/{checkout}/split", json={"items": items[:1]}, headers=h)
        assert split.status_code == 201 and split.json()["item_count"] == 1
        wrong = api.post(f"/api/v1/issues/{checkout}/split", json={"items": [items[0]]}, headers=h)
        assert wrong.status_code == 422 and wrong.headers["content-type"] == "application/problem+json"
