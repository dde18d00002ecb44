"""One signed delivery of each kind, through POST /webhooks/{id}, becomes exactly one feedback item."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.feedback.models import FeedbackItem
from tests.support.api import auth
from tests.support.outbox import drain

from .helpers import (
    QUALTRICS_API_TOKEN,
    QUALTRICS_PATH,
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


def _one_item(client: TestClient, key: str, engine: Engine) -> dict[str, Any]:
    assert drain(engine).handled == 1
    (item,) = items(client, key)
    assert [d.state for d in deliveries(engine)] == ["processed"]
    return item


def _fields(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["source"],
        item["score"],
        item["scale"],
        item["text"],
        item["customer_ref"],
        item["touchpoint"],
    )


def test_typeform_official_example(journey_client: TestClient, admin_key: str, engine: Engine) -> None:
    # The example form has no NPS question: the override reads Typeform's calculated score instead.
    source = create_source(
        journey_client,
        admin_key,
        "typeform",
        mapping={"score": "form_response.calculated.score"},
        default_touchpoint="checkout-survey",
    )
    body = example_bytes("typeform_form_response.json")
    resp = deliver(journey_client, source, body)
    assert resp.status_code == 202, resp.text
    assert counts(engine) == (1, 1, 0)  # stored and queued; the item comes after the response
    item = _one_item(journey_client, admin_key, engine)
    comment = load_comment(body)
    assert _fields(item) == ("typeform", 9.0, "nps", comment, "laura@example.com", "checkout-survey")
    assert item["external_id"] == "a3a12ec67a1365927098a606107fac15"
    assert item["state"] == "placed" and item["stage"] == "buy" and item["moment"] == "checkout"
    assert item["metadata"]["source_id"] == source["id"] and item["metadata"]["form_id"] == "lT4Z3j"


def load_comment(body: bytes) -> str:
    answers = json.loads(body)["form_response"]["answers"]
    return next(a["text"] for a in answers if a["type"] == "text" and a["field"]["type"] == "long_text")


def test_delighted_example(journey_client: TestClient, admin_key: str, engine: Engine) -> None:
    source = create_source(journey_client, admin_key, "delighted", default_touchpoint="first-box-nps")
    resp = deliver(journey_client, source, example_bytes("delighted_survey_response.json"))
    assert resp.status_code == 202, resp.text
    item = _one_item(journey_client, admin_key, engine)
    assert _fields(item) == (
        "delighted",
        9.0,
        "nps",
        "Your service is fast and flawless!",
        "5975",
        "first-box-nps",
    )
    assert item["external_id"] == "5435" and item["occurred_at"].startswith("2018-01-16T18:48:48")


def test_zendesk_csat_trigger(journey_client: TestClient, admin_key: str, engine: Engine) -> None:
    source = create_source(journey_client, admin_key, "zendesk")
    resp = deliver(journey_client, source, payload_bytes("zendesk_csat_trigger.json"))
    assert resp.status_code == 202, resp.text
    item = _one_item(journey_client, admin_key, engine)
    assert _fields(item) == (
        "zendesk",
        1.0,
        "csat",
        "Third time I had to explain the same billing problem.",
        "20978392",
        "support-csat",
    )
    assert item["external_id"] == "csat:35436" and item["stage"] == "get-help"
    assert item["metadata"]["zendesk_rating"] == "bad" and item["metadata"]["binary_scale"] is True


def test_zendesk_ticket_event_is_a_contact(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(journey_client, admin_key, "zendesk")
    resp = deliver(journey_client, source, example_bytes("zendesk_ticket_status_changed.json"))
    assert resp.status_code == 202, resp.text
    item = _one_item(journey_client, admin_key, engine)
    assert _fields(item) == (
        "zendesk-contact",
        None,
        None,
        "Checkout: payment page times out on 3rd attempt",
        "20978392",
        None,
    )
    assert item["external_id"] == "ticket:35436"
    assert item["metadata"]["contact"] is True and item["metadata"]["status"] == "solved"


def test_standard_webhooks_generic_receiver(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(journey_client, admin_key, "standard")
    resp = deliver(journey_client, source, payload_bytes("standard_feedback_created.json"), msg_id="msg_2Kx")
    assert resp.status_code == 202, resp.text
    item = _one_item(journey_client, admin_key, engine)
    assert _fields(item) == (
        "standard",
        2.0,
        "csat",
        "The invoice PDF lists the old address.",
        "cus_123",
        "invoice-email",
    )
    assert item["persona"] == "small-business" and item["metadata"]["tool"] == "hotjar"
    assert deliveries(engine)[0].delivery_id == "msg_2Kx"


def test_surveymonkey_thin_event_fetches_answers(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    with LoopbackServer(
        {SM_DETAILS_PATH: (200, {}, payload_bytes("surveymonkey_response_details.json"))}
    ) as api:
        source = create_source(
            journey_client, admin_key, "surveymonkey", api_token=SM_API_TOKEN, api_base_url=api.base_url
        )
        assert journey_client.head(f"/webhooks/{source['id']}").status_code == 200  # SurveyMonkey's probe
        resp = deliver(journey_client, source, example_bytes("surveymonkey_response_completed.json"))
        assert resp.status_code == 202, resp.text
        assert api.requests == []  # nothing fetched inside the webhook request
        item = _one_item(journey_client, admin_key, engine)
    ((path, headers),) = api.requests
    assert path == SM_DETAILS_PATH and headers["authorization"] == f"Bearer {SM_API_TOKEN}"
    assert _fields(item) == (
        "surveymonkey",
        3.0,
        "nps",
        "Checkout kept timing out when I paid by card.",
        "cus_4821",
        "checkout",
    )
    assert item["external_id"] == "123456" and item["persona"] == "small-business"


def test_qualtrics_form_notice_with_url_token_fetches_the_response(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    with LoopbackServer({QUALTRICS_PATH: (200, {}, payload_bytes("qualtrics_response.json"))}) as api:
        source = create_source(
            journey_client, admin_key, "qualtrics", api_token=QUALTRICS_API_TOKEN, api_base_url=api.base_url
        )
        resp = deliver(journey_client, source, payload_bytes("qualtrics_completed_response.txt"))
        assert resp.status_code == 202, resp.text
        item = _one_item(journey_client, admin_key, engine)
    ((path, headers),) = api.requests
    assert path == QUALTRICS_PATH and headers["x-api-token"] == QUALTRICS_API_TOKEN
    assert _fields(item) == (
        "qualtrics",
        4.0,
        "nps",
        "Delivery was two days late and nobody told me.",
        "cus_99127",
        "delivery",
    )
    assert item["external_id"] == "R_1FqBxZvXr4E9sXa"
    assert item["metadata"]["customer_email"] == "jo.doe@example.com"


def test_staff_source_items_are_marked_staff(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    source = create_source(journey_client, admin_key, "standard", staff=True)
    resp = deliver(journey_client, source, payload_bytes("standard_feedback_created.json"))
    assert resp.status_code == 202
    item = _one_item(journey_client, admin_key, engine)
    assert item["source"] == "staff" and item["metadata"]["source_kind"] == "standard"
    # Staff checks posted straight to the feedback API are marked the same way.
    posted = journey_client.post(
        "/api/v1/feedback",
        json={"source": "staff", "external_id": "mystery-shop-1", "text": "Invoice total was wrong"},
        headers=auth(admin_key),
    )
    assert posted.status_code == 201
    customer = {"source": "typeform", "external_id": "r-1", "text": "Invoice total was wrong"}
    assert journey_client.post("/api/v1/feedback", json=customer, headers=auth(admin_key)).status_code == 201
    with Session(engine) as s:
        flags = {i.external_id: i.staff for i in s.execute(select(FeedbackItem)).scalars()}
    assert flags == {"hj-resp-8842": True, "mystery-shop-1": True, "r-1": False}


def test_zendesk_rest_ratings_each_become_one_item(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    # The GET /api/v2/satisfaction_ratings example, relayed (e.g. by a poller) to the receiver.
    source = create_source(journey_client, admin_key, "zendesk", default_touchpoint="support-csat")
    body = example_bytes("zendesk_satisfaction_ratings_response.json")
    assert deliver(journey_client, source, body).status_code == 202
    assert drain(engine).handled == 1
    found = sorted(items(journey_client, admin_key), key=lambda i: i["external_id"])
    assert [(i["external_id"], i["score"], i["scale"], i["customer_ref"]) for i in found] == [
        ("csat:208", 5.0, "csat", "7881"),
        ("csat:209", 5.0, "csat", "7881"),
    ]
    assert {i["touchpoint"] for i in found} == {"support-csat"}
    # Two top-box ratings are compliments on the support stage: placed, counted there, in no issue.
    assert [(i["state"], i["stage"], i["issue_id"]) for i in found] == [("placed", "get-help", None)] * 2
    assert {i["placement"]["grouping"]["method"] for i in found} == {"compliment"}


def test_standard_contact_and_events_that_make_nothing(
    journey_client: TestClient, admin_key: str, engine: Engine
) -> None:
    standard = create_source(journey_client, admin_key, "standard")
    contact = payload_bytes("standard_contact_created.json")
    assert deliver(journey_client, standard, contact, msg_id="msg_contact").status_code == 202
    delighted = create_source(journey_client, admin_key, "delighted")
    unsubscribe = json.loads(example_bytes("delighted_survey_response.json"))
    unsubscribe.update(event_type="unsubscribe.created", event_id="evt-unsub")
    assert deliver(journey_client, delighted, json.dumps(unsubscribe).encode()).status_code == 202
    assert drain(engine).handled == 2
    (item,) = items(journey_client, admin_key)
    assert item["source"] == "standard-contact" and item["score"] is None
    assert item["metadata"]["contact"] is True
    assert sorted((d.state, d.error) for d in deliveries(engine)) == [
        ("ignored", "event 'unsubscribe.created' makes no feedback item"),
        ("processed", None),
    ]
