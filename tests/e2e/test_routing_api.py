"""Routing and grouping through the public API, on SQLite and PostgreSQL, with the example journey."""

from __future__ import annotations

import itertools
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import auth, example_journey
from tests.support.outbox import run_round

_ids = itertools.count(1)


def post(client: TestClient, key: str, text: str | None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"source": "email", "external_id": f"e-{next(_ids)}", **extra}
    if text is not None:
        body["text"] = text
    resp = client.post("/api/v1/feedback", json=body, headers=auth(key))
    assert resp.status_code == 201, resp.text
    item: dict[str, Any] = client.get(f"/api/v1/feedback/{resp.json()['id']}", headers=auth(key)).json()
    return item


def train(client: TestClient, key: str) -> dict[str, Any]:
    resp = client.post("/api/v1/routing/train", headers=auth(key))
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def put_journey(client: TestClient, key: str, **routing: Any) -> None:
    journey = example_journey()
    journey["routing"] = {**journey["routing"], **routing}
    resp = client.put("/api/v1/journey", json=journey, headers=auth(key))
    assert resp.status_code == 200, resp.text


def issue(client: TestClient, key: str, issue_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/issues/{issue_id}", headers=auth(key)).json()
    return body


def events(client: TestClient, key: str, issue_id: int) -> list[dict[str, Any]]:
    """The issue's events, less the priority rises that follow its evidence as items arrive."""
    resp = client.get(f"/api/v1/issues/{issue_id}/events", headers=auth(key))
    items: list[dict[str, Any]] = resp.json()["items"]
    return [e for e in items if e["kind"] != "priority_raised"]


def test_rule_model_and_triage_each_place_and_explain(journey_client: TestClient, admin_key: str) -> None:
    model = train(journey_client, admin_key)
    assert model["examples"] >= 40 and model["confidence_threshold"] == 0.6
    assert journey_client.get("/api/v1/routing/model", headers=auth(admin_key)).json() == model

    by_rule = post(journey_client, admin_key, "I was charged twice for the same box!")
    assert (by_rule["state"], by_rule["stage"], by_rule["moment"]) == ("placed", "pay", "first-bill")
    assert by_rule["placement"]["method"] == "rule" and by_rule["placement"]["rule"] == "double-charge"
    assert by_rule["placement"]["grouping"]["method"] == "fingerprint"

    by_model = post(journey_client, admin_key, "The courier left the parcel in the rain again")
    assert (by_model["state"], by_model["stage"], by_model["moment"]) == ("placed", "use", "delivery-day")
    how = by_model["placement"]
    assert how["method"] == "model" and how["model_version"] == model["version"]
    assert 0.6 <= how["confidence"] <= 1.0

    unsure = post(journey_client, admin_key, "Purple elephants and a quiet Tuesday")
    assert (unsure["state"], unsure["stage"], unsure["issue_id"]) == ("triage", None, None)
    why = unsure["placement"]
    assert why["method"] == "none" and why["model_version"] == model["version"]
    assert why["confidence"] < 0.6 == why["threshold"]
    queue = journey_client.get("/api/v1/triage", headers=auth(admin_key)).json()["items"]
    assert [q["id"] for q in queue] == [unsure["id"]]

    # A rule wins over a touchpoint ("charged twice" is the pay stage's, wherever it was written);
    # the touchpoint wins over the model.
    explicit = post(journey_client, admin_key, "charged twice", touchpoint="support-csat")
    assert explicit["stage"] == "pay" and explicit["placement"]["method"] == "rule"
    given = post(journey_client, admin_key, "the agent was helpful but slow", touchpoint="support-csat")
    assert given["stage"] == "get-help" and given["placement"]["method"] == "touchpoint"


def test_without_a_model_text_waits_until_a_confirmation_trains_one_in_the_background(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    put_journey(journey_client, admin_key, retrain_after=1)
    before = post(journey_client, admin_key, "The courier left the parcel in the rain again")
    assert before["state"] == "triage" and "model_version" not in before["placement"]
    assert journey_client.get("/api/v1/routing/model", headers=auth(admin_key)).status_code == 404
    resp = journey_client.post(
        f"/api/v1/triage/{before['id']}",
        json={"stage": "use", "moment": "delivery-day"},
        headers=auth(admin_key),
    )
    assert resp.status_code == 200, resp.text
    assert run_round(engine) == 1
    after = post(journey_client, admin_key, "The courier left the parcel in the rain again!")
    assert after["state"] == "placed" and after["placement"]["method"] == "model"


def test_correction_is_learned_after_background_retraining(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    put_journey(journey_client, admin_key, retrain_after=3)
    train(journey_client, admin_key)
    h = auth(admin_key)
    text = "I got someone else's box with a stranger's name on the label"
    first = post(journey_client, admin_key, text)
    assert first["state"] == "triage" and first["placement"]["predicted_stage"] != "use"
    wrong = post(journey_client, admin_key, "The courier left the parcel in the rain again")
    corrected = [
        first,
        post(journey_client, admin_key, "Received someone else's box, a stranger's name on it"),
    ]
    for item in corrected:
        resp = journey_client.post(
            f"/api/v1/triage/{item['id']}", json={"stage": "use", "moment": "delivery-day"}, headers=h
        )
        assert resp.status_code == 200, resp.text
    # The third confirmation is a correction of a placed item: it moves, with its issue membership.
    moved = journey_client.post(
        f"/api/v1/feedback/{wrong['id']}/route",
        json={"stage": "get-help", "reason": "they called us about it"},
        headers=h,
    )
    assert moved.status_code == 200, moved.text
    out = moved.json()
    assert out["stage"] == "get-help" and out["placement"]["method"] == "correction"
    assert out["placement"]["previous"]["method"] == "model" and out["issue_id"] != wrong["issue_id"]
    old = issue(journey_client, admin_key, wrong["issue_id"])
    assert old["item_count"] == 0
    assert [e["kind"] for e in events(journey_client, admin_key, wrong["issue_id"])] == [
        "created",
        "item_moved_out",
    ]
    waiting = journey_client.get("/api/v1/routing/model", headers=h).json()["waiting_confirmations"]
    assert waiting == 3
    # Nothing retrains inside a request: the outbox worker does it.
    assert run_round(engine) == 1
    model = journey_client.get("/api/v1/routing/model", headers=h).json()
    assert model["waiting_confirmations"] == 0 and model["created_by"] == "worker"
    again = post(journey_client, admin_key, "Got someone else's box with a stranger's name on it")
    predicted = again["stage"] or again["placement"]["predicted_stage"]
    assert predicted == "use"


def test_similar_texts_group_and_explain_why(journey_client: TestClient, admin_key: str) -> None:
    put_journey(journey_client, admin_key, touchpoint_grouping="similarity")
    h = auth(admin_key)
    tp = {"touchpoint": "box-review"}
    a = post(journey_client, admin_key, "The salmon smelled off when I opened the box", **tp)
    b = post(journey_client, admin_key, "Salmon smelled really off again this week", **tp)
    c = post(journey_client, admin_key, "Avocados were rock hard, could not use them", **tp)
    assert a["issue_id"] == b["issue_id"] != c["issue_id"]
    why = b["placement"]["grouping"]
    assert why["method"] == "similarity" and why["score"] >= 0.1
    assert "salmon" in why["shared_terms"] and why["settings_version"]
    assert a["placement"]["grouping"]["method"] == "new"
    assert issue(journey_client, admin_key, a["issue_id"])["item_count"] == 2
    # Score-only items keep the stage/moment/touchpoint fingerprint.
    s1 = post(journey_client, admin_key, None, score=1, scale="csat", **tp)
    s2 = post(journey_client, admin_key, None, score=2, scale="csat", **tp)
    assert s1["issue_id"] == s2["issue_id"] not in (a["issue_id"], c["issue_id"])
    # A rule fingerprint groups per order, whatever the words.
    zendesk = {"source": "zendesk"}
    o1 = post(
        journey_client, admin_key, "late again", metadata={"tag": "late-delivery", "order_id": 7}, **zendesk
    )
    o2 = post(
        journey_client, admin_key, "where is it", metadata={"tag": "late-delivery", "order_id": 7}, **zendesk
    )
    o3 = post(
        journey_client, admin_key, "late again", metadata={"tag": "late-delivery", "order_id": 8}, **zendesk
    )
    assert o1["issue_id"] == o2["issue_id"] != o3["issue_id"]
    assert o2["placement"]["grouping"] == {
        "method": "fingerprint",
        "fingerprint": "courier-per-order:order-7",
        "settings_version": why["settings_version"],
    }
    listed = journey_client.get("/api/v1/issues", params={"stage": "use"}, headers=h).json()["items"]
    assert len(listed) == 5


def test_merge_and_split_keep_counts_and_history_exact(journey_client: TestClient, admin_key: str) -> None:
    put_journey(journey_client, admin_key, touchpoint_grouping="similarity")
    h = auth(admin_key)
    tp = {"touchpoint": "box-review", "score": 1, "scale": "csat"}
    fish = [
        post(journey_client, admin_key, "The fish smelled bad when I opened it", customer_ref="c1", **tp),
        post(journey_client, admin_key, "Fish smelled bad again", customer_ref="c2", **tp),
    ]
    herbs = [
        post(journey_client, admin_key, "Herbs were wilted and brown", customer_ref="c2", **tp),
        post(journey_client, admin_key, "Wilted herbs every single week", customer_ref="c3", **tp),
    ]
    a, b = fish[0]["issue_id"], herbs[0]["issue_id"]
    assert {f["issue_id"] for f in fish} == {a} and {x["issue_id"] for x in herbs} == {b} and a != b
    merged = journey_client.post(
        f"/api/v1/issues/{b}/merge", json={"into": a, "reason": "same supplier"}, headers=h
    )
    assert merged.status_code == 200, merged.text
    assert (merged.json()["item_count"], merged.json()["customer_count"]) == (4, 3)
    # New herb complaints now join the merged issue: the index followed the merge.
    later = post(journey_client, admin_key, "Herbs wilted again", customer_ref="c4", **tp)
    assert later["issue_id"] == a
    # Split: move one item out to another stage; counts on both sides come from the items themselves.
    moved = journey_client.post(
        f"/api/v1/feedback/{herbs[1]['id']}/route",
        json={"stage": "get-help", "reason": "a support complaint"},
        headers=h,
    )
    assert moved.status_code == 200, moved.text
    target = moved.json()["issue_id"]
    left = issue(journey_client, admin_key, a)
    assert (left["item_count"], left["customer_count"], left["detractor_count"]) == (4, 3, 4)
    got = issue(journey_client, admin_key, target)
    assert (got["item_count"], got["customer_count"], got["stage"]) == (1, 1, "get-help")
    kinds = [e["kind"] for e in events(journey_client, admin_key, a)]
    assert kinds == ["created", "absorbed", "item_moved_out"]
    assert [e["kind"] for e in events(journey_client, admin_key, b)] == ["created", "merged"]
    assert [e["kind"] for e in events(journey_client, admin_key, target)] == ["created", "item_added"]
    # Moving it to where it already is changes nothing.
    again = journey_client.post(
        f"/api/v1/feedback/{herbs[1]['id']}/route", json={"stage": "get-help"}, headers=h
    )
    assert again.status_code == 409


def test_new_grouping_settings_apply_to_new_items_only(journey_client: TestClient, admin_key: str) -> None:
    put_journey(journey_client, admin_key, touchpoint_grouping="similarity")
    tp = {"touchpoint": "box-review"}
    a = post(journey_client, admin_key, "The salmon smelled off when I opened the box", **tp)
    b = post(journey_client, admin_key, "Salmon smelled really off again this week", **tp)
    assert a["issue_id"] == b["issue_id"]
    old_version = b["placement"]["grouping"]["settings_version"]
    tight = {"threshold": 0.95, "vector_threshold": 0.95}
    put_journey(journey_client, admin_key, grouping=tight, touchpoint_grouping="similarity")
    c = post(journey_client, admin_key, "Salmon smelled off again, yuck", **tp)
    assert c["issue_id"] != a["issue_id"], c["placement"]
    assert c["placement"]["grouping"]["settings_version"] != old_version
    kept = issue(journey_client, admin_key, a["issue_id"])
    assert kept["item_count"] == 2 and kept["status"] == "open"
    again = journey_client.get(f"/api/v1/feedback/{b['id']}", headers=auth(admin_key)).json()
    assert again["issue_id"] == a["issue_id"] and again["placement"] == b["placement"]


def test_rules_through_the_api_and_refused_by_path(journey_client: TestClient, admin_key: str) -> None:
    h = auth(admin_key)
    current = journey_client.get("/api/v1/routing/rules", headers=h).json()
    assert [r["id"] for r in current["rules"]][:2] == ["double-charge", "refund"]
    bad = journey_client.put(
        "/api/v1/routing/rules",
        json={
            "rules": [
                {"id": "r1", "regex": "(unclosed", "stage": "pay"},
                {"id": "r2", "contains_any": ["box"], "stage": "nowhere"},
                {"id": "r3", "contains_any": ["box"], "stage": "pay", "moment": "refund"},
                {"id": "r4", "stage": "pay"},
                {"id": "r5", "contains_any": ["x"], "stage": "pay", "colour": "red"},
            ]
        },
        headers=h,
    )
    assert bad.status_code == 422, bad.text
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"rules[0].regex", "rules[3]", "rules[4].colour"} <= fields, bad.json()["errors"]
    # Cross-references are checked once the shapes are right.
    refs = journey_client.put(
        "/api/v1/routing/rules",
        json={
            "rules": [
                {"id": "r2", "contains_any": ["box"], "stage": "nowhere"},
                {"id": "r3", "contains_any": ["box"], "stage": "pay", "moment": "refund"},
                {"id": "r3", "contains_any": ["box"], "stage": "pay"},
            ]
        },
        headers=h,
    )
    assert refs.status_code == 422
    assert {(e["field"], e["message"]) for e in refs.json()["errors"]} == {
        ("rules[0].stage", "unknown stage 'nowhere'"),
        ("rules[1].moment", "unknown moment 'refund' in stage 'pay'"),
        ("rules[2]", "duplicate rule 'r3'"),
    }
    assert journey_client.get("/api/v1/routing/rules", headers=h).json() == current
    ok = journey_client.put(
        "/api/v1/routing/rules",
        json={"rules": [{"id": "boxes", "contains_any": ["cardboard"], "stage": "use"}]},
        headers=h,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["journey_version"] == current["journey_version"] + 1
    placed = post(journey_client, admin_key, "So much cardboard")
    assert (placed["stage"], placed["placement"]["rule"]) == ("use", "boxes")
    assert (
        journey_client.put("/api/v1/routing/rules", json={"rules": []}, headers=auth(admin_key)).status_code
        == 200
    )


def test_invalid_triggers_and_routing_settings_refused_by_path(
    journey_client: TestClient, admin_key: str
) -> None:
    journey = example_journey()
    journey["stages"][5]["moments"][0]["trigger"] = {"count": 0, "within": "30 days", "where": {"stage": "x"}}
    journey["routing"]["confidence_threshold"] = 2
    resp = journey_client.put("/api/v1/journey", json=journey, headers=auth(admin_key))
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json()["errors"]}
    assert {
        "stages[5].moments[0].trigger.count",
        "stages[5].moments[0].trigger.within",
        "routing.confidence_threshold",
    } <= fields, fields
    journey = example_journey()
    journey["stages"][5]["moments"][0]["trigger"]["where"] = {"stage": "nowhere"}
    resp = journey_client.put("/api/v1/journey", json=journey, headers=auth(admin_key))
    assert resp.status_code == 422
    assert resp.json()["errors"] == [
        {"field": "stages[5].moments[0].trigger.where.stage", "message": "unknown stage 'nowhere'"}
    ]


def test_scopes(journey_client: TestClient, admin_key: str, engine: Engine) -> None:
    from tests.support.api import make_key

    reader = make_key(engine, ["read"])
    assert journey_client.post("/api/v1/routing/train", headers=auth(reader)).status_code == 403
    assert (
        journey_client.put("/api/v1/routing/rules", json={"rules": []}, headers=auth(reader)).status_code
        == 403
    )
    assert (
        journey_client.post(
            "/api/v1/feedback/1/route", json={"stage": "use"}, headers=auth(reader)
        ).status_code
        == 403
    )
    assert journey_client.get("/api/v1/routing/rules", headers=auth(reader)).status_code == 200


def test_a_batch_is_routed_like_single_items(journey_client: TestClient, admin_key: str) -> None:
    train(journey_client, admin_key)
    texts = [
        "I was charged twice for the same box!",
        "The courier left the parcel in the rain again",
        "Purple elephants and a quiet Tuesday",
        "The courier left the parcel in the rain again",
    ]
    batch = [{"source": "csv", "external_id": f"b-{n}", "text": t} for n, t in enumerate(texts)]
    resp = journey_client.post("/api/v1/feedback/batch", json={"items": batch}, headers=auth(admin_key))
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["state"] for r in results] == ["placed", "placed", "triage", "placed"]
    placed = [
        journey_client.get(f"/api/v1/feedback/{r['id']}", headers=auth(admin_key)).json() for r in results
    ]
    assert [p["placement"]["method"] for p in placed] == ["rule", "model", "none", "model"]
    # Identical texts in one batch open one issue.
    assert results[1]["issue_id"] == results[3]["issue_id"]
