"""Verified deliveries the mapping cannot read are kept in quarantine with the reason, and replay."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.support.api import auth
from tests.support.outbox import drain

from .helpers import (
    SM_API_TOKEN,
    SM_DETAILS_PATH,
    LoopbackServer,
    counts,
    create_source,
    deliver,
    deliveries,
    example_bytes,
    items,
    payload_bytes,
)

TYPEFORM = example_bytes("typeform_form_response.json")


def _quarantine(client: TestClient, key: str, source_id: int) -> list[dict[str, object]]:
    resp = client.get(f"/api/v1/sources/{source_id}/quarantine", headers=auth(key))
    assert resp.status_code == 200, resp.text
    found: list[dict[str, object]] = resp.json()["items"]
    return found


def test_unreadable_payload_is_quarantined_then_replayed_after_the_mapping_is_fixed(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    # The mapping insists on a score, and the example form has no NPS question.
    source = create_source(journey_client, admin_key, "typeform", mapping={"require": ["score"]})
    assert deliver(journey_client, source, TYPEFORM).status_code == 202
    drain(engine)
    assert items(journey_client, admin_key) == []
    (held,) = _quarantine(journey_client, admin_key, source["id"])
    assert held["delivery_id"] == "LtWXD3crgy" and held["body"] == TYPEFORM.decode()
    assert "score: required by the mapping but missing" in str(held["error"])
    got = journey_client.get(f"/api/v1/sources/{source['id']}", headers=auth(admin_key)).json()
    assert got["quarantined"] == 1

    # Try a fix without saving it, then save it.
    tried = journey_client.post(
        f"/api/v1/sources/{source['id']}/test",
        json={
            "payload": json.loads(TYPEFORM),
            "mapping": {"require": ["score"], "score": "form_response.calculated.score"},
        },
        headers=auth(admin_key),
    )
    assert tried.status_code == 200, tried.text
    assert [(i["score"], i["scale"]) for i in tried.json()["items"]] == [(9.0, "nps")]
    assert counts(engine)[2] == 0  # the test stored nothing
    fixed = journey_client.patch(
        f"/api/v1/sources/{source['id']}",
        json={"mapping": {"require": ["score"], "score": "form_response.calculated.score"}},
        headers=auth(admin_key),
    )
    assert fixed.status_code == 200, fixed.text

    replay = journey_client.post(
        f"/api/v1/sources/{source['id']}/quarantine/{held['id']}/replay", headers=auth(admin_key)
    )
    assert replay.status_code == 202 and replay.json() == {"replayed": 1}
    drain(engine)
    (item,) = items(journey_client, admin_key)
    assert (item["score"], item["scale"], item["external_id"]) == (
        9.0,
        "nps",
        "a3a12ec67a1365927098a606107fac15",
    )
    assert _quarantine(journey_client, admin_key, source["id"]) == []
    assert [d.state for d in deliveries(engine)] == ["processed"]
    # Replaying again is refused: the delivery is no longer quarantined.
    again = journey_client.post(
        f"/api/v1/sources/{source['id']}/quarantine/{held['id']}/replay", headers=auth(admin_key)
    )
    assert again.status_code == 409


def test_body_that_is_not_json_is_kept_and_replay_all_reruns_it(
    client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(client, admin_key, "delighted")
    broken = b'{"event_type": "survey_response.created", "event_data": '  # cut short, but signed
    assert deliver(client, source, broken).status_code == 202
    wrong_type = json.loads(payload_bytes("delighted_survey_response_created_ces.json"))
    wrong_type["event_data"]["survey_type"] = "stars10"
    wrong_type["event_id"] = "evt-stars"
    assert deliver(client, source, json.dumps(wrong_type).encode()).status_code == 202
    drain(engine)
    held = _quarantine(client, admin_key, source["id"])
    assert [h["error"] for h in held] == [
        "$: body: not valid JSON at line 1 column 57",
        "event_data.survey_type: scale: value is not one of "
        "ces, csat, enps, fivestar, nps, pmf, smileys, thumbs",
    ]
    assert str(held[0]["delivery_id"]).startswith("sha256:")
    # Teach the mapping the new survey type, then replay everything held.
    scale_values = {"nps": "nps", "ces": "ces", "csat": "csat", "stars10": "nps"}
    resp = client.patch(
        f"/api/v1/sources/{source['id']}",
        json={"mapping": {"scale_values": scale_values}},
        headers=auth(admin_key),
    )
    assert resp.status_code == 200, resp.text
    replay = client.post(f"/api/v1/sources/{source['id']}/quarantine/replay", headers=auth(admin_key))
    assert replay.json() == {"replayed": 2}
    drain(engine)
    (item,) = items(client, admin_key)
    assert (item["score"], item["scale"]) == (wrong_type["event_data"]["score"], "nps")
    (still,) = _quarantine(client, admin_key, source["id"])  # the cut-short body stays held
    assert still["id"] == held[0]["id"] and int(str(still["attempts"])) == 2


def test_fetch_failures_retry_then_quarantine_and_replay(
    client: TestClient, admin_key: str, engine: Engine
) -> None:
    routes = {SM_DETAILS_PATH: (503, {"Retry-After": "0"}, b'{"error": {"message": "busy"}}')}
    with LoopbackServer(routes) as api:
        source = create_source(
            client, admin_key, "surveymonkey", api_token=SM_API_TOKEN, api_base_url=api.base_url
        )
        assert (
            deliver(client, source, example_bytes("surveymonkey_response_completed.json")).status_code == 202
        )
        drain(engine, max_rounds=3)
        # A 503 is worth retrying: the delivery waits, pending, while the outbox retries.
        assert [d.state for d in deliveries(engine)] == ["pending"] and len(api.requests) >= 1
        api.routes[SM_DETAILS_PATH] = (404, {}, b'{"error": {"message": "Resource not found"}}')
        drain(engine, skip_backoff=True)  # backoff puts retries in the future: let that time pass
        (held,) = _quarantine(client, admin_key, source["id"])
        assert str(held["error"]).startswith(
            "fetch: GET /v3/surveys/123456789/responses/123456/details: HTTP 404"
        )
        assert SM_API_TOKEN not in str(held)
        api.routes[SM_DETAILS_PATH] = (200, {}, payload_bytes("surveymonkey_response_details.json"))
        client.post(f"/api/v1/sources/{source['id']}/quarantine/replay", headers=auth(admin_key))
        drain(engine)
    (item,) = items(client, admin_key)
    assert item["external_id"] == "123456" and item["score"] == 3.0


def test_deleting_a_source_drops_its_raw_deliveries_not_its_items(
    client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(client, admin_key, "standard")
    assert deliver(client, source, payload_bytes("standard_feedback_created.json")).status_code == 202
    drain(engine)
    assert client.delete(f"/api/v1/sources/{source['id']}", headers=auth(admin_key)).status_code == 204
    assert counts(engine)[0] == 0 and len(items(client, admin_key)) == 1
    assert client.get(f"/api/v1/sources/{source['id']}", headers=auth(admin_key)).status_code == 404
    body = payload_bytes("standard_feedback_created.json")
    assert deliver(client, source, body).status_code == 401
