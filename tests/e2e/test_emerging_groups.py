"""Evidence before an issue, and consolidation that does not depend on arrival order: through the API,
with the default install's sentence encoder, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.actor import Actor
from app.core.clock import as_utc
from app.digests.week import covered_week
from app.intake import ingest as intake
from app.issues.models import ExperienceIssue
from app.journey import service as journeys
from app.loop.models import IssueAccountability
from app.routing import consolidation
from tests.support.api import auth, example_journey

_ids = itertools.count(1)
# The test items arrive at the invoice survey: pay/first-bill.
BILL = {"touchpoint": "invoice-email"}


def put_journey(client: TestClient, key: str, **routing: Any) -> dict[str, Any]:
    journey = example_journey(touchpoint_grouping="similarity", evidence=routing.pop("evidence", None))
    if "vector_threshold" in routing:
        grouping = {
            **journey["routing"].get("grouping", {}),
            "vector_threshold": routing.pop("vector_threshold"),
        }
        journey["routing"]["grouping"] = grouping
    journey["routing"] = {**journey["routing"], **routing}
    resp = client.put("/api/v1/journey", json=journey, headers=auth(key))
    assert resp.status_code == 200, resp.text
    return journey


def post(client: TestClient, key: str, text: str, customer: str | None, **extra: Any) -> dict[str, Any]:
    body = {"source": "email", "external_id": f"g-{next(_ids)}", "text": text, **extra}
    if customer is not None:
        body["customer_ref"] = customer
    resp = client.post("/api/v1/feedback", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    item: dict[str, Any] = client.get(f"/api/v1/feedback/{resp.json()['id']}", headers=auth(key)).json()
    return item


def issue(client: TestClient, key: str, issue_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/issues/{issue_id}", headers=auth(key)).json()
    return body


def listed(client: TestClient, key: str, **query: str) -> list[int]:
    resp = client.get("/api/v1/issues", params=query, headers=auth(key))
    assert resp.status_code == 200, resp.text
    return [i["id"] for i in resp.json()["items"]]


def consolidate(engine: Engine) -> consolidation.PassReport:
    with Session(engine, expire_on_commit=False) as session:
        report = consolidation.run_pass(session, journeys.current(session))
        session.commit()
    return report


EVIDENCE = {"items": 3, "customers": 2, "detractors": 0}


def test_similar_items_gather_in_an_emerging_group_until_the_evidence_rule_promotes_it(
    journey_client: TestClient, admin_key: str
) -> None:
    put_journey(journey_client, admin_key, evidence=EVIDENCE)
    first = post(journey_client, admin_key, "My first invoice shows VAT twice", "c1", **BILL)
    group = first["issue_id"]
    assert issue(journey_client, admin_key, group)["status"] == "emerging"
    # Not yet an owner's issue: not in the default list, listed when asked for.
    assert group not in listed(journey_client, admin_key)
    assert listed(journey_client, admin_key, status="emerging") == [group]
    # The same customer again is more items, not more customers.
    again = post(journey_client, admin_key, "The invoice charges VAT twice on my order", "c1", **BILL)
    assert again["issue_id"] == group, again["placement"]
    assert issue(journey_client, admin_key, group)["status"] == "emerging"
    third = post(journey_client, admin_key, "VAT was added twice to my invoice", "c2", **BILL)
    assert third["issue_id"] == group, third["placement"]
    promoted = issue(journey_client, admin_key, group)
    assert promoted["status"] == "open" and promoted["item_count"] == 3
    history = journey_client.get(f"/api/v1/issues/{group}/events", headers=auth(admin_key)).json()["items"]
    moved = [e for e in history if e["kind"] == "transition"]
    assert [(e["before"]["status"], e["after"]["status"]) for e in moved] == [("emerging", "open")]
    assert moved[0]["reason"] == "evidence: 3 items from 2 customers, 0 detractors"
    assert group in listed(journey_client, admin_key)


def test_a_single_stray_item_does_not_page_anyone_but_a_moment_that_says_so_opens_at_once(
    journey_client: TestClient, admin_key: str
) -> None:
    def refund_at_once(value: bool) -> None:
        journey = example_journey(touchpoint_grouping="similarity", evidence=EVIDENCE)
        for stage in journey["stages"]:
            for moment in stage["moments"]:
                if moment["key"] == "refund":
                    moment["open_at_once"] = value
        assert journey_client.put("/api/v1/journey", json=journey, headers=auth(admin_key)).status_code == 200

    refund_at_once(False)
    stray = post(journey_client, admin_key, "My invoice PDF will not download", "c1", **BILL)
    assert issue(journey_client, admin_key, stray["issue_id"])["status"] == "emerging"
    waiting = post(journey_client, admin_key, "I never got my refund", "c2", touchpoint="refund-form")
    assert waiting["moment"] == "refund", waiting
    assert issue(journey_client, admin_key, waiting["issue_id"])["status"] == "emerging"
    refund_at_once(True)
    urgent = post(
        journey_client, admin_key, "The refund for my broken box is missing", "c3", touchpoint="refund-form"
    )
    assert issue(journey_client, admin_key, urgent["issue_id"])["status"] == "open"


def test_consolidation_merges_emerging_duplicates_and_only_proposes_issue_merges(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    h = auth(admin_key)
    # Two issues about one problem, opened while every item was evidence enough and only identical
    # wording joined: what people would fold together.
    put_journey(journey_client, admin_key, vector_threshold=0.99)
    one = post(
        journey_client, admin_key, "My first bill was much higher than the advertised price", "c1", **BILL
    )
    two = post(journey_client, admin_key, "The first bill cost more than the price I was shown", "c2", **BILL)
    assert one["issue_id"] != two["issue_id"]
    # Then evidence is required: paraphrases of another problem open one emerging group each.
    put_journey(journey_client, admin_key, vector_threshold=0.99, evidence=EVIDENCE)
    texts = [
        "The promo code from the flyer was rejected at checkout",
        "My flyer discount code was refused when I paid",
        "Checkout rejected the promo code printed on the flyer",
    ]
    emerging = [post(journey_client, admin_key, t, f"p{n}", **BILL)["issue_id"] for n, t in enumerate(texts)]
    assert len(set(emerging)) == 3
    assert {issue(journey_client, admin_key, i)["status"] for i in emerging} == {"emerging"}
    # The pass uses the stage's own threshold (no fixed one): the emerging duplicates become one group,
    # which now meets the evidence rule; the two issues are proposed for a merge, not merged.
    put_journey(journey_client, admin_key, evidence=EVIDENCE)
    report = consolidate(engine)
    assert report.merged == 2 and report.promoted, report
    kept = [i for i in emerging if issue(journey_client, admin_key, i)["status"] != "merged"]
    assert len(kept) == 1
    whole = issue(journey_client, admin_key, kept[0])
    assert (whole["status"], whole["item_count"], whole["customer_count"]) == ("open", 3, 3)
    assert "promo code" in whole["title"].lower() or "flyer" in whole["title"].lower(), whole["title"]
    assert {issue(journey_client, admin_key, i)["status"] for i in (one["issue_id"], two["issue_id"])} == {
        "open"
    }
    proposals = journey_client.get("/api/v1/grouping/proposals", headers=h).json()
    pairs = [{p["keep"]["id"], p["merge"]["id"]} for p in proposals]
    assert {one["issue_id"], two["issue_id"]} in pairs, proposals
    proposal = proposals[pairs.index({one["issue_id"], two["issue_id"]})]
    assert proposal["status"] == "proposed" and 0 < proposal["similarity"] <= 1
    # A person accepts: the issues merge, as that person's merge; the pair is decided once.
    accepted = journey_client.post(f"/api/v1/grouping/proposals/{proposal['id']}/accept", headers=h)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted" and accepted.json()["decided_by"] == "key:test-admin"
    assert issue(journey_client, admin_key, proposal["merge"]["id"])["status"] == "merged"
    assert (
        journey_client.post(f"/api/v1/grouping/proposals/{proposal['id']}/reject", headers=h).status_code
        == 409
    )
    # Running the pass again changes nothing: no new proposal for a decided pair, nothing to regroup.
    again = consolidate(engine)
    assert (again.merged, again.moved, again.proposed) == (0, 0, 0), again


def test_a_rejected_proposal_is_not_made_again_and_counts_as_a_correction(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    h = auth(admin_key)
    put_journey(journey_client, admin_key, vector_threshold=0.99)
    a = post(journey_client, admin_key, "The delivery driver was rude to me", "c1", **BILL)
    b = post(journey_client, admin_key, "Your courier was very rude at my door", "c2", **BILL)
    put_journey(journey_client, admin_key)
    consolidate(engine)
    proposals = journey_client.get("/api/v1/grouping/proposals", headers=h).json()
    ours = [p for p in proposals if {p["keep"]["id"], p["merge"]["id"]} == {a["issue_id"], b["issue_id"]}]
    assert len(ours) == 1, proposals
    rejected = journey_client.post(f"/api/v1/grouping/proposals/{ours[0]['id']}/reject", headers=h)
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    report = consolidate(engine)
    assert report.proposed == 0
    grouping = journey_client.get("/api/v1/grouping", headers=h).json()
    assert grouping["index"] == "vectors" and grouping["encoder"]["loaded"] is True
    assert grouping["stages"]["pay"]["corrections"] == 1, grouping["stages"]
    assert grouping["stages"]["pay"]["threshold"] >= grouping["stages"]["pay"]["calibrated"]


def test_a_persons_split_and_merge_change_where_the_next_similar_item_goes(
    journey_client: TestClient, admin_key: str
) -> None:
    h = auth(admin_key)
    # Everything joins one issue while the threshold is 0: two problems mixed, as a person finds them.
    put_journey(journey_client, admin_key, vector_threshold=0.0)
    fish = [
        post(journey_client, admin_key, t, f"f{n}", **BILL)
        for n, t in enumerate(["The salmon smelled off when I opened it", "Fish smelled rotten on arrival"])
    ]
    herbs = [
        post(journey_client, admin_key, t, f"h{n}", **BILL)
        for n, t in enumerate(["The herbs were wilted and brown", "Wilted herbs in every box"])
    ]
    mixed = fish[0]["issue_id"]
    assert {i["issue_id"] for i in fish + herbs} == {mixed}
    put_journey(journey_client, admin_key, vector_threshold=0.3)
    split = journey_client.post(
        f"/api/v1/issues/{mixed}/split",
        json={"items": [x["id"] for x in herbs], "title": "Wilted herbs"},
        headers=h,
    )
    assert split.status_code in (200, 201), split.text
    herb_issue = split.json()["id"]
    later = post(journey_client, admin_key, "My herbs arrived wilted again", "h9", **BILL)
    assert later["issue_id"] == herb_issue, later["placement"]
    # The person merges them back: the next herb item goes to the merged issue.
    merged = journey_client.post(f"/api/v1/issues/{herb_issue}/merge", json={"into": mixed}, headers=h)
    assert merged.status_code == 200, merged.text
    again = post(journey_client, admin_key, "Herbs were wilted once more", "h10", **BILL)
    assert again["issue_id"] == mixed, again["placement"]


def test_a_promoted_group_is_an_issue_from_its_promotion_not_from_its_first_item(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    put_journey(journey_client, admin_key, evidence=EVIDENCE)
    t0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
    promoted_at = t0 + timedelta(days=20)

    def ingest(n: int, text: str, at: datetime) -> int:
        body = {"source": "email", "external_id": f"late-{n}", "text": text, "customer_ref": f"l{n}", **BILL}
        with Session(engine, expire_on_commit=False) as session:
            good, _ = intake.validate_raw([body])
            [result] = intake.ingest(session, journeys.current(session), good, Actor("test"), now=at)
            session.commit()
        assert result.issue_id is not None
        return result.issue_id

    group = ingest(1, "My invoice arrived with the wrong address on it", t0)
    with Session(engine) as session:
        assert session.get(IssueAccountability, group) is None  # nobody's issue: no due date yet
    assert ingest(2, "The invoice shows the wrong postal address", promoted_at) == group
    assert ingest(3, "Wrong address printed on my invoice", promoted_at) == group
    with Session(engine) as session:
        issue = session.get(ExperienceIssue, group)
        state = session.get(IssueAccountability, group)
        assert issue is not None and state is not None and issue.status == "open"
        assert as_utc(issue.created_at) == promoted_at
        # The owner's clock starts at the promotion: the due date is not already 20 days gone.
        assert as_utc(state.due_at) > promoted_at


def test_praise_is_counted_in_the_owners_digest_as_what_customers_value(
    journey_client: TestClient, admin_key: str
) -> None:
    put_journey(journey_client, admin_key, evidence=EVIDENCE)
    _, start, _ = covered_week(datetime.now(UTC), ZoneInfo("Europe/London"))
    when = (start + timedelta(days=2)).isoformat()
    praise = ["Loved the first box, everything was fresh", "Brilliant first box, the recipes were easy"]
    for n, text in enumerate(praise):
        item = post(
            journey_client,
            admin_key,
            text,
            f"v{n}",
            touchpoint="first-box-nps",
            score=10,
            scale="nps",
            occurred_at=when,
        )
        assert item["issue_id"] is None and item["placement"]["grouping"]["method"] == "compliment"
    owner = next(s["owner"] for s in example_journey()["stages"] if s["key"] == "onboard")
    email = next(p["email"] for p in example_journey()["people"] if p["id"] == owner)
    page = journey_client.get("/api/v1/digests/preview", params={"to": email}, headers=auth(admin_key))
    assert page.status_code == 200, page.text
    assert "What customers value here" in page.text
    assert "2 compliments from customers on this stage this week" in page.text
    assert "Loved the first box" in page.text
